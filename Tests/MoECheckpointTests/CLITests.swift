import Foundation
import Testing

@testable import MoECheckpoint

/// The command-line contract of `cli.md`, tested on the built executable.
@Suite("moe-ckpt command line")
struct CLITests {
    static let hostile: [(name: String, bytes: [UInt8])] = [
        ("truncated.safetensors", [1, 0, 0]),
        ("huge-header.safetensors", TestSupport.safetensorsBytes(header: "{}", declaredLength: 1 << 63)),
        ("past-end.safetensors", TestSupport.safetensorsBytes(header: "{}", declaredLength: 4096)),
        ("overlap.safetensors", TestSupport.safetensorsBytes(
            header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            data: [UInt8](repeating: 0, count: 12))),
        ("out-of-range.safetensors", TestSupport.safetensorsBytes(
            header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0])),
        ("dtype-shape.safetensors", TestSupport.safetensorsBytes(
            header: #"{"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))),
        ("bad-json.safetensors", TestSupport.safetensorsBytes(header: #"{"a": [1, }"#)),
        ("hundred-mb-header.safetensors", TestSupport.safetensorsBytes(header: "{}", declaredLength: 100_000_001)),
    ]

    @Test("every hostile safetensors file exits 2 with one line naming the file", arguments: hostile.map(\.name))
    func hostileFiles(name: String) throws {
        let bytes = Self.hostile.first { $0.name == name }!.bytes
        let path = try TestSupport.write(bytes, named: name)
        let run = try TestSupport.run(["inspect", path])
        #expect(run.status == 2)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(run.stderr)")
        #expect(run.stderr.contains(name))
        #expect(!run.stderr.contains("Fatal error"))
    }

    @Test("a missing path exits 2")
    func missingPath() throws {
        let run = try TestSupport.run(["inspect", "/nonexistent/checkpoint"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("/nonexistent/checkpoint"))
    }

    @Test("a usage error exits 2, not ArgumentParser's 64")
    func usageError() throws {
        #expect(try TestSupport.run(["inspect"]).status == 2)
        #expect(try TestSupport.run(["convert", "a"]).status == 2)
        #expect(try TestSupport.run(["frobnicate"]).status == 2)
    }

    @Test("--help prints usage on stdout and exits 0, for the root and for subcommands")
    func help() throws {
        for arguments in [["--help"], ["convert", "--help"], ["inspect", "--help"]] {
            let run = try TestSupport.run(arguments)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            #expect(run.stdout.contains("USAGE"), "\(arguments): \(run.stdout)")
            #expect(run.stderr.isEmpty, "\(arguments): \(run.stderr)")
        }
    }

    @Test("inspect --json on a NeMo HF export gives the cli.md fields")
    func inspectJSON() throws {
        guard let fixture = FixtureInspectTests.available.first(where: { $0.layout == .hf && $0.name == "sigmoid_bias_top2_scale1" }) else { return }
        let run = try TestSupport.run(["inspect", "--json", fixture.path])
        #expect(run.status == 0)
        let json = try JSONParser().parse(string: run.stdout).objectValue!
        #expect(json["framework"] == "hf")
        #expect(json["format"] == "safetensors")
        #expect(json["ep_size"]?.intValue == 1)
        let moe = json["moe"]!.objectValue!
        #expect(moe["top_k"]?.intValue == 2)
        #expect(moe["score_function"] == "sigmoid")
        let layer = json["moe_layers"]!.arrayValue![0].objectValue!
        #expect(layer["num_experts"]?.intValue == 8)
        #expect(layer["router"]?.objectValue?["shape"] == [8, 32])
        #expect(layer["expert_bias"]?.objectValue?["dtype"] == "float32")
    }

    @Test("convert refuses to overwrite without --force and leaves no partial output on failure")
    func convertSafety() throws {
        guard let fixture = FixtureInspectTests.available.first(where: { $0.layout == .nemo }) else { return }
        let dir = try TemporaryFolder().url
        let dst = dir.appendingPathComponent("out.safetensors").path
        #expect(try TestSupport.run(["convert", fixture.path, dst, "--to", "nemo"]).status == 0)
        let again = try TestSupport.run(["convert", fixture.path, dst, "--to", "nemo"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("--force"))
        #expect(try TestSupport.run(["convert", fixture.path, dst, "--to", "nemo", "--force"]).status == 0)
        let contents = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(contents == ["out.safetensors"], "no temporary siblings left: \(contents)")
    }

    @Test("convert keeps the float32 expert bias bit-exact under --dtype bf16")
    func dtypeKeepsBias() throws {
        guard let fixture = FixtureInspectTests.available.first(where: { $0.layout == .hf && $0.name == "sigmoid_bias_top2_scale1" }) else { return }
        let dst = try TemporaryFolder().url.appendingPathComponent("bf16").path
        let run = try TestSupport.run(["convert", fixture.path, dst, "--to", "hf", "--dtype", "bf16"])
        #expect(run.status == 0, "\(run.stderr)")
        let source = try CheckpointReaders.open(fixture.path).stateDict
        let converted = try CheckpointReaders.open(dst).stateDict
        let biasKey = "model.layers.0.mlp.gate.e_score_correction_bias"
        #expect(converted[biasKey]?.dtype == .float32)
        #expect(try converted[biasKey]!.source.bytes() == source[biasKey]!.source.bytes())
        #expect(converted["model.layers.0.mlp.gate.weight"]?.dtype == .bfloat16)
    }
}
