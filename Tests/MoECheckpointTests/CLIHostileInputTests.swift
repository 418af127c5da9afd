import Foundation
import Testing
@testable import MoECheckpoint

@Suite(.enabled(if: CLI.binary != nil, "moe-ckpt binary not built next to the tests"))
struct CLIHostileInputTests {
    /// A `.pt` whose pickle is `body`.
    func ptFile(_ pickle: [UInt8], in folder: TemporaryFolder, name: String = "evil.pt") throws -> String {
        try writeFile(RawZip(entries: [.init(name: "evil/data.pkl", data: pickle), .init(name: "evil/version", data: Array("3\n".utf8))]).bytes(), name, in: folder)
    }

    func expectOneLineExit2(_ arguments: [String], mentioning words: [String]) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        for word in words { #expect(result.stderr.contains(word), "'\(word)' not in: \(result.stderr)") }
    }

    @Test func aPickleCallingOsSystemExitsWith2NamingTheGlobalAndItsOffset() throws {
        let folder = try TemporaryFolder()
        let path = try ptFile(PickleBytes.make { p in
            p.global("os", "system")
            p.string("touch /tmp/pwned")
            p.op(0x85)
            p.op(0x52)
        }, in: folder)
        try expectOneLineExit2(["inspect", path], mentioning: [path, "data.pkl", "GLOBAL at byte 2", "os.system"])
    }

    @Test func aZipEntryEscapingWithDotDotExitsWith2() throws {
        let folder = try TemporaryFolder()
        let path = try writeFile(RawZip(entries: [.init(name: "evil/../../x", data: [1])]).bytes(), "dotdot.pt", in: folder)
        try expectOneLineExit2(["inspect", path], mentioning: [path, "'..'"])
    }

    @Test func aTruncatedArchiveExitsWith2() throws {
        let folder = try TemporaryFolder()
        let good = try ptFile(PickleBytes.make { $0.op(0x7D) }, in: folder, name: "good.pt")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: good)))
        let path = try writeFile(Array(bytes.prefix(bytes.count / 2)), "cut.pt", in: folder)
        try expectOneLineExit2(["inspect", path], mentioning: [path, "truncated"])
    }

    @Test func aMemoBombExitsWith2() throws {
        let folder = try TemporaryFolder()
        let path = try ptFile(PickleBytes.make { p in
            p.op(0x4E)
            p.op(0x72, [0xFF, 0xFF, 0xFF, 0x7F])
        }, in: folder)
        try expectOneLineExit2(["inspect", path], mentioning: [path, "memo index"])
    }

    @Test func aRecursionBombExitsWith2() throws {
        let folder = try TemporaryFolder()
        var p = PickleBytes()
        p.op(0x29)
        for _ in 0..<100_000 { p.op(0x85) }
        p.stop()
        let path = try ptFile(p.bytes, in: folder)
        try expectOneLineExit2(["inspect", path], mentioning: [path, "nest deeper"])
    }

    @Test(.enabled(if: Fixtures.legacyRoots.contains { $0.root.lastPathComponent == "legacy_ep2" }, "no EP=2 legacy fixture found"))
    func aMissingRankFileExitsWith2NamingIt() throws {
        let (_, root) = try #require(Fixtures.legacyRoots.first { $0.root.lastPathComponent == "legacy_ep2" })
        let folder = try TemporaryFolder()
        let copy = folder.url.appendingPathComponent("ckpt")
        try FileManager.default.copyItem(at: root, to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("iter_0000001/mp_rank_00_000"))
        try expectOneLineExit2(["inspect", copy.path], mentioning: ["mp_rank_00_000", "missing rank file"])
        try expectOneLineExit2(["convert", copy.path, folder.path("out"), "--to", "megatron", "--format", "legacy"], mentioning: ["mp_rank_00_000"])
        #expect(!FileManager.default.fileExists(atPath: folder.path("out")))
    }

    @Test(.enabled(if: Fixtures.legacyRoots.contains { $0.root.lastPathComponent == "legacy_ep2" }, "no EP=2 legacy fixture found"))
    func convertingALegacyCheckpointSaysTheOptimizerIsNotCarriedWhenThereIsOne() throws {
        let (_, root) = try #require(Fixtures.legacyRoots.first { $0.root.lastPathComponent == "legacy_ep2" })
        let folder = try TemporaryFolder()
        let result = try CLI.run(["convert", root.path, folder.path("out"), "--to", "megatron", "--format", "legacy", "--ep", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("megatron legacy"))
        let inspect = try CLI.run(["inspect", folder.path("out"), "--json"])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("\"format\": \"legacy\""))
    }
}
