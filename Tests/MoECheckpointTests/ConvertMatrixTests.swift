import Foundation
import Testing

@testable import MoECheckpoint

/// Cross-layout conversions checked against what the real libraries wrote, tensor for tensor.
@Suite("conversion between layouts")
struct ConvertMatrixTests {
    struct Pair: CustomStringConvertible, Sendable {
        let caseName: String
        let hf: String
        let native: String
        var description: String { caseName }
    }

    /// Every case that has both NeMo exports (HF per-expert and native grouped).
    static let pairs: [Pair] = [TestSupport.projectFixtures, TestSupport.sharedFixtures].flatMap { root in
        FixtureInspectTests.cases(root).compactMap { name -> Pair? in
            let base = root.appendingPathComponent(name).appendingPathComponent("nemo_automodel")
            let hf = base.appendingPathComponent("hf/epoch_0_step_1/model/consolidated").path
            let native = base.appendingPathComponent("native/model.safetensors").path
            guard FileManager.default.fileExists(atPath: hf), FileManager.default.fileExists(atPath: native) else { return nil }
            return Pair(caseName: "\(root.lastPathComponent)/\(name)", hf: hf, native: native)
        }
    }

    func convert(
        _ source: String, to layout: Layout, format: ContainerFormat = .safetensors, file: Bool = true, routing: MoEConfig = MoEConfig()
    ) throws -> String {
        try convertReporting(source, to: layout, format: format, file: file, routing: routing).path
    }

    /// The output path and what the conversion reported.
    func convertReporting(
        _ source: String, to layout: Layout, format: ContainerFormat = .safetensors, file: Bool = true, routing: MoEConfig = MoEConfig()
    ) throws -> (path: String, summary: ConvertSummary) {
        let dir = try TemporaryFolder().url
        let destination = dir.appendingPathComponent(file ? "out.safetensors" : "out").path
        let summary = try Converter.run(
            ConvertOptions(source: source, destination: destination, targetLayout: layout, targetFormat: format, overrides: routing))
        return (destination, summary)
    }

    /// Every tensor of `expected` is in `found` with the same dtype, shape and bytes.
    func expectSameTensors(_ found: StateDict, _ expected: StateDict, _ context: String) throws {
        #expect(Set(found.keys) == Set(expected.keys), "\(context): keys differ: \(Set(found.keys).symmetricDifference(expected.keys).sorted().prefix(6))")
        for entry in expected.entries {
            guard let other = found[entry.key] else { continue }
            #expect(other.dtype == entry.dtype && other.shape == entry.shape, "\(context): \(entry.key)")
            #expect(try other.source.bytes() == entry.source.bytes(), "\(context): bytes of \(entry.key)")
        }
    }

    @Test("NeMo native converted to HF equals NeMo's own HF export", arguments: pairs)
    func nativeToHF(pair: Pair) throws {
        // The native state dict records no routing; as a user would, pass the export's config.json.
        let routing = try MoEConfigFile.load(path: (pair.hf as NSString).appendingPathComponent("config.json"))
        let out = try convert(pair.native, to: .hf, file: false, routing: routing)
        try expectSameTensors(try CheckpointReaders.open(out).stateDict, try CheckpointReaders.open(pair.hf).stateDict, pair.caseName)
    }

    @Test("NeMo's HF export converted to the native layout equals NeMo's own native state dict", arguments: pairs)
    func hfToNative(pair: Pair) throws {
        let out = try convert(pair.hf, to: .nemo)
        try expectSameTensors(try CheckpointReaders.open(out).stateDict, try CheckpointReaders.open(pair.native).stateDict, pair.caseName)
    }

    @Test("A → B → A is bit-identical through every other layout", arguments: pairs)
    func roundTrips(pair: Pair) throws {
        let original = try CheckpointReaders.open(pair.hf)
        let gatedShared = try LayoutCatalog.detect(original).layers.contains { $0.tensor(for: .sharedExpertGate) != nil }
        for middle in [Layout.megatron, .olmo, .nemo] {
            if middle == .olmo && gatedShared {
                // OLMo-core has no shared-expert gate: the conversion must refuse, not drop it.
                #expect(throws: ConvertError.self) { try convert(pair.hf, to: .olmo) }
                continue
            }
            let (there, reported) = try convertReporting(pair.hf, to: middle)
            let back = try convert(there, to: .hf, file: false)
            let result = try CheckpointReaders.open(back).stateDict
            // Non-MoE tensors without a name in the middle layout are reported and dropped; every
            // MoE tensor and every carried tensor must come back bit for bit.
            let resolved = try LayoutCatalog.detect(original)
            let moeKeys = Set(resolved.layers.flatMap { $0.tensors.map(\.key) })
            for key in moeKeys {
                let expected = try #require(original.stateDict[key])
                let found = try #require(result[key], "\(pair.caseName) via \(middle): \(key) missing")
                #expect(try found.source.bytes() == expected.source.bytes(), "\(pair.caseName) via \(middle): \(key)")
            }
            for entry in result.entries {
                #expect(try entry.source.bytes() == original.stateDict[entry.key]?.source.bytes(), "\(pair.caseName) via \(middle): \(entry.key)")
            }
            // Whatever was not reported on the way there comes back: Megatron holds every tensor
            // of a Qwen3-MoE model (fused linear_qkv, [G; U] fc1, per-head q/k norms).
            let expectedKeys = Set(original.stateDict.keys).subtracting(reported.unmapped)
            #expect(Set(result.keys) == expectedKeys, "\(pair.caseName) via \(middle): \(expectedKeys.symmetricDifference(result.keys).sorted().prefix(5))")
            let plainAttention = !original.stateDict.keys.contains { $0.contains("kv_a_proj_with_mqa") }
                && original.stateDict["model.layers.0.self_attn.q_proj.weight"]?.shape == [32, 32]
            if middle == .megatron, plainAttention {
                #expect(reported.unmapped.isEmpty, "\(pair.caseName): \(reported.unmapped)")
            }
        }
    }

    @Test("DeepSeek's latent attention is reported, never renamed onto another framework's attention")
    func latentAttentionIsNotCarried() throws {
        let pair = try #require(Self.pairs.first { $0.caseName.hasSuffix("group_limited") })
        let dir = try TemporaryFolder().url
        let summary = try Converter.run(ConvertOptions(
            source: pair.hf, destination: dir.appendingPathComponent("out.safetensors").path, targetLayout: .megatron, targetFormat: .safetensors))
        #expect(summary.unmapped.contains("model.layers.0.self_attn.o_proj.weight"), "\(summary.unmapped)")
        #expect(summary.unmapped.contains("model.layers.0.self_attn.kv_b_proj.weight"))
        let written = try CheckpointReaders.open(dir.appendingPathComponent("out.safetensors").path).stateDict
        #expect(written["decoder.layers.0.self_attention.linear_proj.weight"] == nil)
        #expect(written["embedding.word_embeddings.weight"] != nil)
    }

    @Test("a source without routing metadata converts to Megatron or HF only with the routing given")
    func unknownRoutingIsRefused() throws {
        guard let pair = Self.pairs.first else { return }
        let dir = try TemporaryFolder().url
        for to in ["megatron", "hf"] {
            let run = try TestSupport.run(["convert", pair.native, dir.appendingPathComponent(to).path, "--to", to])
            #expect(run.status == 2 && run.stderr.contains("needs top_k, score_function, normalize_topk"), "\(run.stderr)")
            #expect(run.stderr.contains("--top-k K") && run.stderr.contains("--moe-config FILE"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(to).path))
        }
        let given = try TestSupport.run(["convert", pair.native, dir.appendingPathComponent("ok").path, "--to", "megatron",
                                 "--top-k", "2", "--score", "softmax", "--normalize"])
        #expect(given.status == 0, "\(given.stderr)")
    }

    @Test("an incomplete source fails with the list of missing experts")
    func incompleteSource() throws {
        let pair = try #require(Self.pairs.first { $0.caseName.hasSuffix("softmax_top2_renorm") })
        let source = try CheckpointReaders.open(pair.hf)
        let dir = try TemporaryFolder().url
        let broken = dir.appendingPathComponent("broken.safetensors").path
        let kept = source.stateDict.entries.filter { !$0.key.contains("experts.3.up_proj") && !$0.key.contains("experts.5.") }
        try SafetensorsWriter.write(kept.map { ($0.key, $0.source) }, to: broken)
        let run = try TestSupport.run(["convert", broken, dir.appendingPathComponent("out").path, "--to", "nemo"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("up missing for experts 3, 5"), "\(run.stderr)")
        #expect(run.stderr.contains("gate missing for experts 5"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }

    @Test("routing settings survive a conversion into a layout whose files carry none")
    func routingSurvives() throws {
        let pair = try #require(Self.pairs.first { $0.caseName.hasSuffix("sigmoid_bias_top2_scale1") })
        let before = try InspectReport(checkpoint: try CheckpointReaders.open(pair.hf)).moe
        let native = try convert(pair.hf, to: .nemo)
        let after = try InspectReport(checkpoint: try CheckpointReaders.open(native)).moe
        #expect(after == before)
        let hfAgain = try convert(native, to: .hf, file: false)
        #expect(try InspectReport(checkpoint: try CheckpointReaders.open(hfAgain)).moe == before)
    }

    @Test("OLMo-core output records the routing in its step config.json, as OLMo's ConfigSaverCallback does")
    func olmoTargetRecordsRouting() throws {
        for name in ["softmax_top2_raw", "sigmoid_bias_top2_scale1"] {
            let pair = try #require(Self.pairs.first { $0.caseName.hasSuffix("/" + name) })
            let before = try InspectReport(checkpoint: try CheckpointReaders.open(pair.hf)).moe
            let olmo = try convert(pair.hf, to: .olmo, format: .dcp, file: false)
            let after = try InspectReport(checkpoint: try CheckpointReaders.open(olmo)).moe
            #expect(FileManager.default.fileExists(atPath: (olmo as NSString).appendingPathComponent("config.json")))
            #expect(after == before, "\(name)")
        }
    }

    @Test("--variant picks OLMo-core's capacity-based MoE; an unknown variant lists the choices; --verify checks the output")
    func variantAndVerify() throws {
        let source = Fixtures.repo.appendingPathComponent("Tests/Fixtures/olmo_default_moe/megatron/legacy").path
        let dir = try TemporaryFolder().url
        let out = dir.appendingPathComponent("olmo").path
        let run = try TestSupport.run(["convert", source, out, "--to", "olmo", "--variant", "default", "--verify"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("rel_err"), "verify's table follows the summary: \(run.stdout)")
        let w1 = try #require(try CheckpointReaders.open(out).stateDict["model.blocks.0.feed_forward_moe.experts.mlp.w1"])
        #expect(w1.shape == [8 * 32, 20], "MoEType.default stores w1 input-major [E·D, F]")
        let bad = try TestSupport.run(["convert", source, dir.appendingPathComponent("bad").path, "--to", "olmo", "--variant", "capacity"])
        #expect(bad.status == 2 && bad.stderr.contains("choices: default, dropless"), "\(bad.stderr)")
    }
}
