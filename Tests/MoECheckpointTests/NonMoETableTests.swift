import Foundation
import Testing

@testable import MoECheckpoint

/// The tensors around the MoE layers: fused attention, dense MLPs, per-head norms.
@Suite("non-MoE tensors across frameworks")
struct NonMoETableTests {
    /// `[rows, 2]` float32 whose row `r` holds `(tag, r)`.
    static func tagged(_ tag: Float, rows: Int) -> InMemoryTensor {
        InMemoryTensor(floats: (0..<rows).flatMap { [tag, Float($0)] }, shape: [rows, 2])
    }

    @Test("linear_qkv is fused per query group: the group's query heads, its key head, its value head (GQA 4 heads / 2 groups)")
    func fusedQKVOrder() throws {
        let heads = try #require(AttentionHeads(heads: 4, groups: 2, headDim: 3))
        let q = Self.tagged(1, rows: 12), k = Self.tagged(2, rows: 6), v = Self.tagged(3, rows: 6)
        let l = "model.layers.0.self_attn."
        let entries = [TensorEntry(key: l + "q_proj.weight", source: q, file: "f"), TensorEntry(key: l + "k_proj.weight", source: k, file: "f"),
                       TensorEntry(key: l + "v_proj.weight", source: v, file: "f")]
        let context = NonMoETable.Context(heads: heads, gated: true)
        let (mapped, unmapped) = NonMoETable.translate(entries, from: .hf, to: .megatron, context: context)
        #expect(unmapped.isEmpty)
        let fused = try #require(mapped.first { $0.key == "decoder.layers.0.self_attention.linear_qkv.weight" })
        #expect(fused.shape == [24, 2])
        // Megatron views the output as [groups, (heads/groups + 2) · head_dim] and splits each group
        // into [heads/groups · head_dim, head_dim, head_dim].
        var expected: [(tag: Float, row: Int)] = []
        for group in 0..<2 {
            for row in 0..<6 { expected.append((1, group * 6 + row)) }
            for row in 0..<3 { expected.append((2, group * 3 + row)) }
            for row in 0..<3 { expected.append((3, group * 3 + row)) }
        }
        let rows = try fused.source.floats()
        for (r, (tag, index)) in expected.enumerated() {
            #expect(rows[2 * r] == tag && rows[2 * r + 1] == Float(index), "row \(r)")
        }
        // And back: the split returns the three projections bit for bit.
        let (back, lost) = NonMoETable.translate(mapped, from: .megatron, to: .hf, context: context)
        #expect(lost.isEmpty)
        for entry in entries {
            #expect(try back.first { $0.key == entry.key }?.source.bytes() == entry.source.bytes(), "\(entry.key)")
        }
    }

    @Test("without the head layout, linear_qkv is reported, never cut at a guessed place")
    func unknownHeadsAreReported() {
        let entry = TensorEntry(key: "decoder.layers.0.self_attention.linear_qkv.weight", source: Self.tagged(0, rows: 24), file: "f")
        let (mapped, unmapped) = NonMoETable.translate([entry], from: .megatron, to: .hf, context: .init(heads: nil, gated: true))
        #expect(mapped.isEmpty && unmapped == [entry.key])
    }

    @Test("a dense layer from NeMo's HF export becomes Megatron's own [G; U] linear_fc1, byte for byte")
    func denseFC1MatchesMegatron() throws {
        let caseDir = Fixtures.repo.appendingPathComponent("Tests/Fixtures/multilayer_softmax_top2")
        let hf = caseDir.appendingPathComponent("nemo_automodel/hf/epoch_0_step_1/model/consolidated").path
        let megatron = try CheckpointReaders.open(caseDir.appendingPathComponent("megatron/legacy").path).stateDict
        let out = try TemporaryFolder().url.appendingPathComponent("out").path
        _ = try Converter.run(ConvertOptions(source: hf, destination: out, targetLayout: .megatron, targetFormat: .legacy))
        let written = try CheckpointReaders.open(out).stateDict
        for key in ["decoder.layers.0.mlp.linear_fc1.weight", "decoder.layers.0.mlp.linear_fc2.weight"] {
            let expected = try #require(megatron[key])
            let found = try #require(written[key], "\(key) not written")
            #expect(found.shape == expected.shape)
            #expect(try found.source.bytes() == expected.source.bytes(), "\(key)")
        }
        // The head layout went into args, so the fused attention splits again on the way back.
        let args = try #require(try CheckpointReaders.open(out).configSources.first { if case .megatronArgs = $0 { true } else { false } })
        #expect(AttentionHeads([args], hiddenSize: 32) == AttentionHeads(heads: 2, groups: 2, headDim: 16))
    }

    @Test("a target with an attention of its own (DeepSeek-V3's latent, Qwen3-Next's gated query) takes no Megatron attention")
    func ownAttentionTargets() throws {
        for (name, family) in [("group_limited", "deepseek_v3"), ("shared_experts_gated", "qwen3_next")] {
            let source = Fixtures.repo.appendingPathComponent("Tests/Fixtures/\(name)/megatron/legacy").path
            let out = try TemporaryFolder().url.appendingPathComponent("hf").path
            let summary = try Converter.run(ConvertOptions(source: source, destination: out, targetLayout: .hf))
            let written = try CheckpointReaders.open(out)
            #expect(try LayoutCatalog.detect(written).table.variant == family)
            #expect(summary.unmapped.contains("decoder.layers.0.self_attention.linear_qkv.weight"), "\(name): \(summary.unmapped)")
            #expect(summary.unmapped.contains("decoder.layers.0.self_attention.linear_proj.weight"), "\(name)")
            #expect(!written.stateDict.keys.contains { $0.contains("self_attn.") }, "\(name)")
            #expect(written.stateDict["model.embed_tokens.weight"] != nil, "\(name): the rest is carried")
        }
    }

    @Test("Megatron → HF → Megatron returns every Megatron tensor bit for bit")
    func megatronRoundTrip() throws {
        let source = Fixtures.repo.appendingPathComponent("Tests/Fixtures/multilayer_softmax_top2/megatron/legacy").path
        let dir = try TemporaryFolder().url
        let hf = dir.appendingPathComponent("hf").path, back = dir.appendingPathComponent("back").path
        let there = try Converter.run(ConvertOptions(source: source, destination: hf, targetLayout: .hf))
        #expect(there.unmapped.isEmpty, "\(there.unmapped)")
        _ = try Converter.run(ConvertOptions(source: hf, destination: back, targetLayout: .megatron, targetFormat: .legacy))
        let original = try CheckpointReaders.open(source).stateDict, result = try CheckpointReaders.open(back).stateDict
        #expect(Set(result.keys) == Set(original.keys))
        for entry in original.entries {
            #expect(try result[entry.key]?.source.bytes() == entry.source.bytes(), "\(entry.key)")
        }
    }
}

@Suite("row blocks")
struct GatheredRowBlocksTests {
    @Test("any byte range reads the right rows, inside one block or across several")
    func partialReads() throws {
        let a = NonMoETableTests.tagged(1, rows: 4), b = NonMoETableTests.tagged(2, rows: 3)
        let joined = try #require(GatheredTensor(sources: [a, b], rowBlocks: [.init(0, rows: 1..<3), .init(1, rows: 0..<3), .init(0, rows: 0..<1)]))
        let all = try joined.bytes()
        let expected = try Array(a.bytes()[8..<24]) + b.bytes() + Array(a.bytes()[0..<8])
        #expect(all == expected)
        for range in [0..<4, 4..<12, 10..<30, 16..<40, 0..<48, 40..<48, 47..<48] {
            #expect(try joined.withBytes(in: range) { Array($0) } == Array(expected[range]), "\(range)")
        }
        #expect(GatheredTensor(sources: [a], rowBlocks: [.init(0, rows: 2..<5)]) == nil, "rows outside the source")
    }
}
