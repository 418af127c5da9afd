import Foundation
import Testing

@testable import MoECheckpoint

/// Cluster mode (`convert --part I/N`, `--finalize`, `docs/cluster.md`): parts run as separate
/// processes give the bytes of one whole conversion, and every way a part can be missing,
/// wrong or retried is caught.
@Suite("convert --part / --finalize", .serialized)
struct ClusterConvertTests {
    static let fixture = Fixtures.repo.appendingPathComponent("Tests/Fixtures/multilayer_softmax_top2")

    /// A target and a source of another framework, so each run renders through the canonical model.
    struct Target: CustomStringConvertible, Sendable {
        let layout: String
        let format: String
        let source: String
        var description: String { "\(layout) \(format)" }
    }

    static let targets = [
        Target(layout: "hf", format: "safetensors", source: "megatron/torch_dist"),
        Target(layout: "megatron", format: "torch_dist", source: "olmo_core/dcp_ep2/step1"),
        Target(layout: "olmo", format: "dcp", source: "nemo_automodel/hf/epoch_0_step_1/model/consolidated"),
        Target(layout: "megatron", format: "legacy", source: "olmo_core/dcp/step1"),
    ]

    /// Small data files, so the fixture's ~200 kB spread over several shards / `.distcp` files;
    /// the case's routing given, as the OLMo sources do not record it.
    static func arguments(_ target: Target, _ destination: URL) -> [String] {
        ["convert", fixture.appendingPathComponent(target.source).path, destination.path,
         "--to", target.layout, "--format", target.format, "--ep", "2", "--shard-size", "20000",
         "--top-k", "2", "--score", "softmax", "--normalize"]
    }

    /// Every regular file under `root`, relative path → bytes.
    static func tree(_ root: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let walker = FileManager.default.enumerator(atPath: root.path)
        while let name = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let url = root.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[name] = try Data(contentsOf: url)
            }
        }
        return files
    }

    /// Runs the parts as concurrent processes; returns their results in part order.
    static func runParts(_ parts: [Int], of count: Int, _ arguments: [String]) -> [CLI.Result?] {
        let results = Results(count: parts.count)
        DispatchQueue.concurrentPerform(iterations: parts.count) { slot in
            results.set(slot, try? CLI.run(arguments + ["--part", "\(parts[slot])/\(count)"]))
        }
        return results.values
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [CLI.Result?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ slot: Int, _ value: CLI.Result?) {
            lock.lock()
            values[slot] = value
            lock.unlock()
        }
    }

    @Test("N parts as separate processes, then finalize, give the bytes of one whole conversion", arguments: targets)
    func partedEqualsWhole(_ target: Target) throws {
        try withTemporaryDirectory { dir in
            let whole = dir.appendingPathComponent("whole")
            let single = try CLI.run(Self.arguments(target, whole))
            #expect(single.status == 0, "\(single.stderr)")
            let expected = try Self.tree(whole)
            #expect(expected.keys.filter { $0.hasSuffix(".distcp") || $0.hasSuffix(".safetensors") || $0.hasSuffix(".pt") }.count >= 2)
            for count in 1...3 {
                let parted = dir.appendingPathComponent("parted\(count)")
                for (index, result) in Self.runParts(Array(1...count), of: count, Self.arguments(target, parted)).enumerated() {
                    #expect(result?.status == 0, "part \(index + 1)/\(count): \(result?.stderr ?? "did not run")")
                }
                #expect(!FileManager.default.fileExists(atPath: parted.path), "no DST before finalize")
                let finalize = try CLI.run(Self.arguments(target, parted) + ["--finalize"])
                #expect(finalize.status == 0, "\(finalize.stderr)")
                let found = try Self.tree(parted)
                #expect(found.keys.sorted() == expected.keys.sorted(), "N=\(count)")
                for (name, bytes) in expected { #expect(found[name] == bytes, "N=\(count): \(name) differs") }
                let staging = dir.appendingPathComponent(".parted\(count).moe-ckpt-parts")
                #expect(!FileManager.default.fileExists(atPath: staging.path), "staging removed")
            }
        }
    }

    @Test("a bad --part exits 2 with one line and writes nothing", arguments: ["0/3", "4/3", "3", "a/2", "1/0", "-1/2", "1/2/3", "2/3x"])
    func badPart(_ value: String) throws {
        try withTemporaryDirectory { dir in
            let out = dir.appendingPathComponent("out")
            let result = try CLI.run(Self.arguments(Self.targets[1], out) + ["--part=\(value)"])
            #expect(result.status == 2)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("--part"), "\(result.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        }
    }

    @Test("--part with --finalize, or with a single-file target, exits 2")
    func partMisuse() throws {
        try withTemporaryDirectory { dir in
            let both = try CLI.run(Self.arguments(Self.targets[1], dir.appendingPathComponent("a")) + ["--part", "1/2", "--finalize"])
            #expect(both.status == 2)
            let source = Self.fixture.appendingPathComponent("megatron/torch_dist").path
            for (format, name) in [("pt", "b.pt"), ("hdf5", "c.h5"), ("safetensors", "d.safetensors")] {
                let result = try CLI.run(["convert", source, dir.appendingPathComponent(name).path, "--to", "hf", "--format", format, "--part", "1/2"])
                #expect(result.status == 2, "\(format)")
                #expect(result.stderr.contains("single-file"), "\(format): \(result.stderr)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        }
    }

    @Test("finalize names the parts that have not finished, leaves no DST, and works once they have")
    func finalizeWithMissingPart() throws {
        try withTemporaryDirectory { dir in
            let target = Self.targets[1]
            let out = dir.appendingPathComponent("out")
            let none = try CLI.run(Self.arguments(target, out) + ["--finalize"])
            #expect(none.status == 2)
            #expect(none.stderr.contains("no finished part"), "\(none.stderr)")
            for result in Self.runParts([1, 3], of: 3, Self.arguments(target, out)) { #expect(result?.status == 0) }
            let early = try CLI.run(Self.arguments(target, out) + ["--finalize"])
            #expect(early.status == 2)
            #expect(early.stderr.contains("part 2/3 not finished"), "\(early.stderr)")
            #expect(early.stderr.split(separator: "\n").count == 1)
            #expect(!FileManager.default.fileExists(atPath: out.path))
            #expect(Self.runParts([2], of: 3, Self.arguments(target, out)).first??.status == 0)
            let finalize = try CLI.run(Self.arguments(target, out) + ["--finalize"])
            #expect(finalize.status == 0, "\(finalize.stderr)")
            let whole = dir.appendingPathComponent("whole")
            #expect(try CLI.run(Self.arguments(target, whole)).status == 0)
            #expect(try Self.tree(out) == Self.tree(whole))
        }
    }

    @Test("a retried part replaces its own files; a damaged file, a part of another plan or a stray file stops finalize", arguments: [Self.targets[0], Self.targets[3]])
    func retry(_ target: Target) throws {
        try withTemporaryDirectory { dir in
            let whole = dir.appendingPathComponent("whole")
            #expect(try CLI.run(Self.arguments(target, whole)).status == 0)
            let expected = try Self.tree(whole)
            let out = dir.appendingPathComponent("out")
            let staging = dir.appendingPathComponent(".out.moe-ckpt-parts/checkpoint")
            for result in Self.runParts([1, 2], of: 2, Self.arguments(target, out)) { #expect(result?.status == 0) }
            // Damage one data file of part 2 (file k of the plan belongs to part k mod N), as a
            // part killed while writing it in place would.
            let files = try Self.tree(staging).keys.filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".pt") }.sorted()
            #expect(files.count >= 2)
            #expect(truncate(staging.appendingPathComponent(files[1]).path, 100) == 0)
            let caught = try CLI.run(Self.arguments(target, out) + ["--finalize"])
            #expect(caught.status == 2)
            #expect(caught.stderr.contains("part 2/2") && caught.stderr.contains("rerun"), "\(caught.stderr)")
            // A part run with other options plans other files.
            var other = Self.arguments(target, out)
            other[other.firstIndex(of: "--ep")! + 1] = "1"
            other[other.firstIndex(of: "--shard-size")! + 1] = "30000"
            #expect(try CLI.run(other + ["--part", "1/2"]).status == 0)
            let mismatch = try CLI.run(Self.arguments(target, out) + ["--finalize"])
            #expect(mismatch.status == 2)
            #expect(mismatch.stderr.contains("planned other files"), "\(mismatch.stderr)")
            // Reruns with the right options replace their own files; the other plan's files stay and are refused.
            for result in Self.runParts([1, 2], of: 2, Self.arguments(target, out)) { #expect(result?.status == 0) }
            let stray = try Self.tree(staging).keys.filter { expected[$0] == nil && !$0.hasSuffix(".json") }
            #expect(!stray.isEmpty)
            let refused = try CLI.run(Self.arguments(target, out) + ["--finalize"])
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("not part of this conversion"), "\(refused.stderr)")
            for name in stray { try FileManager.default.removeItem(at: staging.appendingPathComponent(name)) }
            let finalize = try CLI.run(Self.arguments(target, out) + ["--finalize"])
            #expect(finalize.status == 0, "\(finalize.stderr)")
            #expect(try Self.tree(out) == expected)
        }
    }
}

/// How the DCP writer steps through a layer of experts: steps end only where an expert starts,
/// and a part reads only the chunks of its own files.
@Suite("DCP write steps")
struct DCPWriteStepTests {
    /// 4 experts, each chunked into gate and up halves of 40 MB (no bytes behind them).
    static let info = DCPTensorInfo(
        dtype: .bfloat16, size: [4, 2, 10],
        chunks: (0..<4).flatMap { e in [DCPChunk(offsets: [e, 0, 0], sizes: [1, 1, 10]), DCPChunk(offsets: [e, 1, 0], sizes: [1, 1, 10])] })
    static let chunks = (0..<8).map { (chunk: $0, bytes: $0 * 40_000_000..<($0 + 1) * 40_000_000, rank: $0 / 4) }

    @Test("steps of at least 64 MiB end between experts, never inside one")
    func stepsEndBetweenExperts() {
        let groups = DCPWriter.groups(Self.chunks, owned: Set(0..<8), info: Self.info)
        #expect(groups.map { $0.chunks.map(\.chunk) } == [[0, 1], [2, 3], [4, 5], [6, 7]])
        #expect(groups.map(\.covering) == [0..<80_000_000, 80_000_000..<160_000_000, 160_000_000..<240_000_000, 240_000_000..<320_000_000])
    }

    @Test("a part that writes rank 1's file reads only rank 1's experts")
    func ownedChunksOnly() {
        let groups = DCPWriter.groups(Self.chunks, owned: Set(4..<8), info: Self.info)
        #expect(groups.flatMap { $0.chunks.map(\.chunk) } == Array(0..<8))
        #expect(groups.map(\.covering).filter { !$0.isEmpty } == [160_000_000..<240_000_000, 240_000_000..<320_000_000])
    }
}
