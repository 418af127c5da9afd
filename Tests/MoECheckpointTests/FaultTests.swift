import Foundation
import Testing

@testable import MoECheckpoint

#if canImport(Glibc)
import Glibc
#endif

/// A conversion killed, starved of disk or pointed at a read-only place never leaves a partial
/// output and never changes its source (`cli.md`, issue 11).
@Suite("faults during convert", .serialized)
struct FaultTests {
    /// A synthetic HF MoE checkpoint big enough that a conversion takes a noticeable time.
    static func makeSource(in dir: URL, experts: Int = 16, hidden: Int = 256, ffn: Int = 512) throws -> String {
        let folder = dir.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: 3)
        func tensor(_ shape: [Int]) -> InMemoryTensor {
            InMemoryTensor(floats: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) }, shape: shape, dtype: .bfloat16)
        }
        var items: [SafetensorsWriter.Item] = [("model.layers.0.mlp.gate.weight", tensor([experts, hidden]))]
        items.append(("model.layers.0.mlp.gate.e_score_correction_bias", InMemoryTensor(floats: (0..<experts).map { Float($0) * 0.01 }, shape: [experts])))
        for e in 0..<experts {
            items.append(("model.layers.0.mlp.experts.\(e).gate_proj.weight", tensor([ffn, hidden])))
            items.append(("model.layers.0.mlp.experts.\(e).up_proj.weight", tensor([ffn, hidden])))
            items.append(("model.layers.0.mlp.experts.\(e).down_proj.weight", tensor([hidden, ffn])))
        }
        let path = folder.appendingPathComponent("model.safetensors").path
        try SafetensorsWriter.write(items, to: path)
        return path
    }

    /// SHA-256-free but collision-safe enough for a test: the bytes themselves, hashed.
    static func digest(_ path: String) throws -> Int {
        var hasher = Hasher()
        hasher.combine(try Data(contentsOf: URL(fileURLWithPath: path)))
        return hasher.finalize()
    }

    static func leftovers(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("moe-ckpt") && $0.hasSuffix(".tmp") }
    }

    @Test("SIGKILL at random points leaves no destination or a complete, valid one, and the source is unchanged")
    func killedConversions() throws {
        let dir = try TemporaryFolder().url
        let source = try Self.makeSource(in: dir)
        let before = try Self.digest(source)
        var generator = SeededGenerator(seed: 11)
        var complete = 0
        for attempt in 0..<8 {
            let destination = dir.appendingPathComponent("out\(attempt).safetensors").path
            guard let binary = TestSupport.binary else { throw TestSupport.CLIMissing() }
            let process = Process()
            process.executableURL = binary
            process.arguments = ["convert", source, destination, "--to", "nemo"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 0...400_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if FileManager.default.fileExists(atPath: destination) {
                // Whatever exists must be whole: it opens, validates, and holds every expert.
                let checkpoint = try CheckpointReaders.open(destination)
                #expect(ExpertAudit.problems(in: try LayoutCatalog.detect(checkpoint)).isEmpty)
                complete += 1
            }
            // A killed run may leave its own temporary sibling (never the destination).
            for name in try Self.leftovers(dir) { try FileManager.default.removeItem(at: dir.appendingPathComponent(name)) }
        }
        #expect(try Self.digest(source) == before)
        _ = complete
    }

    @Test("a write past `ulimit -f` exits 2 with one line and leaves nothing behind")
    func fileSizeLimit() throws {
        let dir = try TemporaryFolder().url
        let source = try Self.makeSource(in: dir, experts: 8, hidden: 128, ffn: 256)
        let before = try Self.digest(source)
        guard let binary = TestSupport.binary else { throw TestSupport.CLIMissing() }
        let destination = dir.appendingPathComponent("out.safetensors").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f 64; exec \"$0\" convert \"$1\" \"$2\" --to nemo", binary.path, source, destination]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2, "\(message)")
        #expect(message.split(separator: "\n").count == 1)
        #expect(message.contains("write failed") || message.contains("File too large"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: destination))
        #expect(try Self.leftovers(dir).isEmpty)
        #expect(try Self.digest(source) == before)
    }

    @Test("a read-only target exits 2 with one line")
    func readOnlyTarget() throws {
        let dir = try TemporaryFolder().url
        let source = try Self.makeSource(in: dir, experts: 8, hidden: 64, ffn: 64)
        // /proc is read-only even for root.
        let run = try TestSupport.run(["convert", source, "/proc/moe-ckpt-out.safetensors", "--to", "nemo"])
        #expect(run.status == 2)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test("a destination inside the source is refused before anything is written")
    func destinationInsideSource() throws {
        let dir = try TemporaryFolder().url
        let source = try Self.makeSource(in: dir, experts: 8, hidden: 64, ffn: 64)
        let folder = URL(fileURLWithPath: source).deletingLastPathComponent()
        let run = try TestSupport.run(["convert", folder.path, folder.appendingPathComponent("inner").path, "--to", "nemo"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("refusing"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
    }
}
