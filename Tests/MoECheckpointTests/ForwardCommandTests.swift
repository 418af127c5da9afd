import Foundation
import Testing
@testable import MoECheckpoint

/// `moe-ckpt forward` through the built binary: outputs, atomic writes and exit codes.
@Suite("Forward command")
struct ForwardCommandTests {
    static var fixture: FixtureCase? { FixtureCatalog.cases.first { $0.name == "sigmoid_bias_top2_scale1" } }
    static var checkpoint: String? {
        fixture.map { $0.folder.appendingPathComponent("nemo_automodel/hf/epoch_0_step_1/model/consolidated").path }
    }

    @Test("forward writes y, topk_idx and topk_w as the contract says, and leaves no temporary file")
    func writesOutput() throws {
        guard let fixture = Self.fixture, let checkpoint = Self.checkpoint else { return }
        try withTemporaryDirectory { directory in
            let output = directory.appendingPathComponent("y.safetensors").path
            let result = try CLI.run(["forward", checkpoint, "--input", fixture.input, "--output", output, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let file = try SafetensorsFile(path: output)
            let tokens = try SafetensorsFile(path: fixture.input).tensor(named: "x")!.shape[0]
            #expect(file.tensor(named: "y")?.dtype == .float32 && file.tensor(named: "y")?.shape == [tokens, 32])
            #expect(file.tensor(named: "topk_idx")?.dtype == .int64 && file.tensor(named: "topk_idx")?.shape == [tokens, 2])
            #expect(file.tensor(named: "topk_w")?.dtype == .float32)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["y.safetensors"])
            let json = try JSONParser().parse(string: result.stdout).objectValue
            #expect(json?["diagnostics"]?.objectValue?["tokens_per_expert"]?.arrayValue?.count == 8)
        }
    }

    /// Runs forward on `input` and expects exit 2, one stderr line containing `needle`, no output.
    static func expectFailure(input: String, extra: [String] = [], oneLine: Bool = true, _ needles: [String]) throws {
        guard let checkpoint = Self.checkpoint else { return }
        try withTemporaryDirectory { directory in
            let output = directory.appendingPathComponent("y.safetensors").path
            let result = try CLI.run(["forward", checkpoint, "--input", input, "--output", output] + extra)
            #expect(result.status == 2)
            if oneLine { #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)") }
            for needle in needles { #expect(result.stderr.contains(needle), "\(result.stderr)") }
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    @Test("an input without 'x' is exit 2 naming the file and the key")
    func missingInput() throws {
        try withTemporaryDirectory { directory in
            let input = directory.appendingPathComponent("in.safetensors").path
            try SafetensorsWriter.write([("hidden", InMemoryTensor(floats: [1, 2], shape: [1, 2]))], to: input)
            try Self.expectFailure(input: input, [input, "'x'", "'hidden'"])
        }
    }

    @Test("an input of the wrong width is exit 2 naming expected and found shapes")
    func wrongWidth() throws {
        try withTemporaryDirectory { directory in
            let input = directory.appendingPathComponent("in.safetensors").path
            try SafetensorsWriter.write([("x", InMemoryTensor(floats: [Float](repeating: 0, count: 12), shape: [3, 4]))], to: input)
            try Self.expectFailure(input: input, ["[T, 32]", "[3, 4]"])
        }
    }

    @Test("a routing setting missing from metadata and options is exit 2 naming the option")
    func missingSetting() throws {
        guard let fixture = Self.fixture, let checkpoint = Self.checkpoint else { return }
        let native = checkpoint.replacingOccurrences(of: "hf/epoch_0_step_1/model/consolidated", with: "native/model.safetensors")
        try withTemporaryDirectory { directory in
            let result = try CLI.run(["forward", native, "--input", fixture.input, "--output", directory.appendingPathComponent("y").path])
            #expect(result.status == 2 && result.stderr.contains("--top-k"))
        }
    }

    /// ArgumentParser rejects it while parsing; the root command adds the usage lines after the error.
    @Test("an unknown routing value is a usage error, exit 2")
    func unknownValue() throws {
        guard let fixture = Self.fixture else { return }
        try Self.expectFailure(input: fixture.input, extra: ["--score", "tanh"], oneLine: false, ["tanh"])
    }

    @Test("a layer that is not an MoE layer is exit 2 listing the MoE layers")
    func noSuchLayer() throws {
        guard let fixture = Self.fixture else { return }
        try Self.expectFailure(input: fixture.input, extra: ["--layer", "3"], ["layer 3", "MoE layers are 0"])
    }
}
