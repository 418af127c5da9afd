import Foundation
import Testing
@testable import MoECheckpoint

/// `moe-ckpt verify` on good and broken conversions, through the built binary.
@Suite("Verify")
struct VerifyTests {
    /// A NeMo HF export with an expert bias and a full `config.json` (sigmoid, bias, k = 2).
    static var biasCheckpoint: String? {
        FixtureCatalog.cases.first { $0.name == "sigmoid_bias_top2_scale1" }
            .map { $0.folder.appendingPathComponent("nemo_automodel/hf/epoch_0_step_1/model/consolidated").path }
    }

    static let prefix = "model.layers.0.mlp."

    @Test("a checkpoint verifies against itself")
    func againstItself() throws {
        guard let path = Self.biasCheckpoint else { return }
        let result = try CLI.run(["verify", path, path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("agree"))
    }

    @Test("a checkpoint verifies against its same-layout safetensors copy, and against its native NeMo layout")
    func againstCopies() throws {
        guard let path = Self.biasCheckpoint else { return }
        try withTemporaryDirectory { directory in
            let copy = try CheckpointVariants(path).write("copy", in: directory)
            let result = try CLI.run(["verify", path, copy, "--json"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let json = try JSONParser().parse(string: result.stdout).objectValue
            #expect(json?["passed"]?.boolValue == true)
            #expect(json?["layers"]?.arrayValue?.first?.objectValue?["diagnostics"]?.objectValue?["a"] != nil)
        }
        let native = path.replacingOccurrences(of: "hf/epoch_0_step_1/model/consolidated", with: "native/model.safetensors")
        let result = try CLI.run(["verify", path, native, "--top-k", "2", "--score", "sigmoid", "--normalize", "--scale", "1"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test("every checkpoint a library wrote for a case verifies against that library's first one", arguments: FixtureCatalog.expectations)
    func formatsOfOneLibrary(_ expectation: FixtureExpectation) throws {
        let readable = expectation.formatPaths.filter { (try? CheckpointReaders.open($0)) != nil }
        guard let first = readable.first else { return }
        for other in readable.dropFirst() {
            let report = try Verifier.run(VerifyRequest(a: first, b: other, overrides: expectation.fixture.routing(for: expectation.library)))
            #expect(report.passed, "\(report.text)")
        }
    }

    @Test("a bf16 copy of a float32 checkpoint verifies at the bf16 tolerance, near-ties allowed")
    func bf16Copy() throws {
        guard let path = Self.biasCheckpoint else { return }
        try withTemporaryDirectory { directory in
            let variants = try CheckpointVariants(path)
            var replace: [String: (any TensorSource)?] = [:]
            for entry in variants.entries where !entry.key.hasSuffix("e_score_correction_bias") {
                replace[entry.key] = CastTensor(entry.source, to: .bfloat16)
            }
            let copy = try variants.write("bf16", in: directory, replace: replace)
            let report = try Verifier.run(VerifyRequest(a: path, b: copy, tokens: 256))
            #expect(report.passed, "\(report.text)")
            #expect(report.rows.first?.tolerance == 3e-2)
        }
    }

    /// Runs verify of the fixture against a broken copy and returns stdout; exit must be 1.
    static func verifyBroken(
        _ name: String, replace: (CheckpointVariants) throws -> [String: (any TensorSource)?], editConfig: @escaping (String) -> String = { $0 }
    ) throws -> String? {
        guard let path = biasCheckpoint else { return nil }
        return try withTemporaryDirectory { directory in
            let variants = try CheckpointVariants(path)
            let broken = try variants.write(name, in: directory, replace: try replace(variants), editConfig: editConfig)
            let result = try CLI.run(["verify", path, broken])
            #expect(result.status == 1, "\(name): \(result.stdout)\(result.stderr)")
            return result.stdout
        }
    }

    @Test("two exchanged experts fail, naming both experts")
    func swappedExperts() throws {
        guard let out = try Self.verifyBroken("swapped-experts", replace: { v in
            var replace: [String: (any TensorSource)?] = [:]
            for name in ["gate_proj", "up_proj", "down_proj"] {
                replace[Self.prefix + "experts.2.\(name).weight"] = v.tensor(Self.prefix + "experts.5.\(name).weight")
                replace[Self.prefix + "experts.5.\(name).weight"] = v.tensor(Self.prefix + "experts.2.\(name).weight")
            }
            return replace
        }) else { return }
        #expect(out.contains("layer 0 expert 2:") && out.contains("layer 0 expert 5:"))
        #expect(out.contains("experts exchanged"))
    }

    @Test("exchanged gate and up projections fail, naming the expert")
    func swappedGateAndUp() throws {
        guard let out = try Self.verifyBroken("swapped-gate-up", replace: { v in
            [Self.prefix + "experts.3.gate_proj.weight": v.tensor(Self.prefix + "experts.3.up_proj.weight"),
             Self.prefix + "experts.3.up_proj.weight": v.tensor(Self.prefix + "experts.3.gate_proj.weight")]
        }) else { return }
        #expect(out.contains("layer 0 expert 3:") && out.contains("gate and up"))
    }

    /// D = 32 and F = 20 (64 in the shared fixtures), so `W_dᵀ` has another shape: the test stores
    /// the transposed matrix's bytes under the original `[D, F]` shape, which is what a converter
    /// that skips the transpose of OLMo's `w2` or NeMo's `down_projs` writes. Shapes still match,
    /// so only the numbers can catch it.
    @Test("a down projection stored transposed fails, naming the expert")
    func transposedDown() throws {
        guard let out = try Self.verifyBroken("transposed-down", replace: { v in
            [Self.prefix + "experts.1.down_proj.weight": try CheckpointVariants.transposedBytes(v.tensor(Self.prefix + "experts.1.down_proj.weight"))]
        }) else { return }
        #expect(out.contains("layer 0 expert 1:") && out.contains("transposed"))
    }

    @Test("a dropped expert bias fails")
    func droppedBias() throws {
        guard let out = try Self.verifyBroken("no-bias", replace: { _ in [Self.prefix + "gate.e_score_correction_bias": nil] }) else { return }
        #expect(out.contains("expert_bias: present in A, missing in B"))
    }

    @Test("an expert bias stored as bf16 fails")
    func bf16Bias() throws {
        guard let out = try Self.verifyBroken("bf16-bias", replace: { v in
            [Self.prefix + "gate.e_score_correction_bias": CastTensor(v.tensor(Self.prefix + "gate.e_score_correction_bias"), to: .bfloat16)]
        }) else { return }
        #expect(out.contains("expected float32 in B, found bfloat16"))
    }

    @Test("an expert bias rounded to bf16 but stored as float32 fails on its values")
    func roundedBias() throws {
        guard let out = try Self.verifyBroken("rounded-bias", replace: { v in
            let bias = v.tensor(Self.prefix + "gate.e_score_correction_bias")
            let rounded = try WeightFloats.array(CastTensor(bias, to: .bfloat16))
            return [Self.prefix + "gate.e_score_correction_bias": InMemoryTensor(floats: rounded, shape: bias.shape)]
        }) else { return }
        #expect(out.contains("expert_bias:") && out.contains("values differ"))
    }

    @Test("a changed routing config fails, naming the setting")
    func changedRouting() throws {
        guard let out = try Self.verifyBroken("top3", replace: { _ in [:] }, editConfig: {
            $0.replacingOccurrences(of: "\"num_experts_per_tok\": 2", with: "\"num_experts_per_tok\": 3")
        }) else { return }
        #expect(out.contains("top_k: A has 2, B has 3"))
    }

    @Test("exchanged router rows fail, naming the rows")
    func swappedRouterRows() throws {
        guard let out = try Self.verifyBroken("router-rows", replace: { v in
            let router = v.tensor(Self.prefix + "gate.weight")
            var values = try WeightFloats.array(router)
            let d = router.shape[1]
            for c in 0..<d { values.swapAt(0 * d + c, 4 * d + c) }
            return [Self.prefix + "gate.weight": InMemoryTensor(floats: values, shape: router.shape)]
        }) else { return }
        #expect(out.contains("layer 0 router:") && out.contains("experts 0, 4"))
    }

    @Test("an unknown routing setting or a missing layer is exit 2 with one line")
    func unreadableInput() throws {
        guard let path = Self.biasCheckpoint else { return }
        let native = path.replacingOccurrences(of: "hf/epoch_0_step_1/model/consolidated", with: "native/model.safetensors")
        let missing = try CLI.run(["verify", path, native])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("top_k") && missing.stderr.contains("--top-k"))
        let layer = try CLI.run(["verify", path, path, "--layer", "7"])
        #expect(layer.status == 2 && layer.stderr.contains("layer 7"))
        let nothing = try CLI.run(["verify", path, "/nonexistent/checkpoint"])
        #expect(nothing.status == 2 && nothing.stderr.split(separator: "\n").count == 1)
    }
}
