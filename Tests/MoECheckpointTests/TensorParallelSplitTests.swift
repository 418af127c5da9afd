import Foundation
import Testing
@testable import MoECheckpoint

/// The byte rule of `TensorParallelSplit` on small tensors whose values name their position.
@Suite struct TensorParallelSplitTests {
    /// `[rows, cols]` float32 with value `row·100 + col`.
    static func matrix(_ rows: Int, _ cols: Int) -> InMemoryTensor {
        InMemoryTensor(floats: (0..<rows * cols).map { Float($0 / cols * 100 + $0 % cols) }, shape: [rows, cols])
    }

    @Test func aGLUShardIsItsGateRowsThenItsUpRows() throws {
        // [G; U] with F = 4 gate rows (0-3) and 4 up rows (4-7): rank 1 of 2 holds G rows 2-3, U rows 6-7.
        let full = Self.matrix(8, 3)
        let shard = try TensorParallelSplit.rowsPerHalf.shard(full, rank: 1, tp: 2)
        #expect(shard.shape == [4, 3])
        #expect(try shard.floats().map { Int($0) / 100 } == [2, 2, 2, 3, 3, 3, 6, 6, 6, 7, 7, 7])
        // A plain row split would give rows 4-7 (all up): the two rules must differ.
        #expect(try TensorParallelSplit.rows.shard(full, rank: 1, tp: 2).floats() != shard.floats())
    }

    @Test func aColumnShardTakesEachRowsSlice() throws {
        let shard = try TensorParallelSplit.columns.shard(Self.matrix(2, 6), rank: 2, tp: 3)
        #expect(shard.shape == [2, 2])
        #expect(try shard.floats() == [4, 5, 104, 105])
    }

    @Test(arguments: [TensorParallelSplit.rows, .rowsPerHalf, .columns, .replicated], [1, 2, 4])
    func mergingTheShardsGivesTheFullTensorBack(split: TensorParallelSplit, tp: Int) throws {
        let full = Self.matrix(8, 4)
        let shards = try (0..<tp).map { try split.shard(full, rank: $0, tp: tp) }
        let merged = try split.merge(split == .replicated ? [full] : shards)
        #expect(merged.shape == full.shape)
        #expect(try merged.bytes() == full.bytes())
        // Partial reads of a gathered tensor cross piece boundaries correctly.
        #expect(try merged.withBytes(in: 12..<100) { Array($0) } == Array(try full.bytes()[12..<100]))
    }

    /// Counts whole-tensor reads of its base, as a computed source (an assembled tensor) would cost.
    final class CountingTensor: TensorSource, @unchecked Sendable {
        let base: InMemoryTensor
        var reads = 0
        init(_ base: InMemoryTensor) { self.base = base }
        var dtype: DType { base.dtype }
        var shape: [Int] { base.shape }
        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
            reads += 1
            return try base.withBytes(body)
        }
    }

    @Test func aColumnShardOfAComputedTensorBuildsItOnce() throws {
        // 64 rows: 64 pieces per shard; reading or writing the shard must not rebuild the source per piece.
        let full = CountingTensor(Self.matrix(64, 8))
        let shard = try TensorParallelSplit.columns.shard(full, rank: 1, tp: 2)
        _ = try shard.bytes()
        #expect(full.reads == 1)
        let folder = try TemporaryFolder()
        let output = try OutputFile(creating: folder.path("shard.bin"))
        try shard.write(to: output)
        try output.close()
        #expect(full.reads == 2)
        #expect(Array(try Data(contentsOf: folder.url.appendingPathComponent("shard.bin"))) == (try shard.bytes()))
    }

    @Test func aSizeTheSplitCannotDivideIsNamed() {
        #expect(caught { try TensorParallelSplit.rowsPerHalf.shard(Self.matrix(6, 2), rank: 0, tp: 2) } as? TensorParallelSplit.Indivisible
            == TensorParallelSplit.Indivisible(what: "each half of dim 0", size: 3))
        #expect(caught { try TensorParallelSplit.columns.shard(Self.matrix(2, 5), rank: 0, tp: 2) } as? TensorParallelSplit.Indivisible
            == TensorParallelSplit.Indivisible(what: "dim 1", size: 5))
    }

    @Test func megatronParametersGetMegatronsSplits() {
        let glu = { MegatronTensorParallel.split(of: $0, glu: true) }
        #expect(glu("decoder.layers.3.mlp.experts.local_experts.5.linear_fc1.weight") == .rowsPerHalf)
        #expect(MegatronTensorParallel.split(of: "decoder.layers.0.mlp.linear_fc1.weight", glu: false) == .rows)
        #expect(glu("decoder.layers.0.mlp.shared_experts.linear_fc2.weight") == .columns)
        #expect(glu("decoder.layers.0.self_attention.linear_qkv.weight") == .rows)
        #expect(glu("decoder.layers.0.self_attention.linear_proj.weight") == .columns)
        #expect(glu("embedding.word_embeddings.weight") == .rows)
        #expect(glu("output_layer.weight") == .rows)
        #expect(glu("decoder.layers.0.mlp.router.weight") == .replicated)
        #expect(glu("decoder.layers.0.mlp.router.expert_bias") == .replicated)
        #expect(glu("decoder.layers.0.mlp.shared_experts.gate_weight") == .replicated)
        #expect(glu("decoder.layers.0.self_attention.linear_qkv.layer_norm_weight") == .replicated)
        #expect(glu("decoder.final_layernorm.weight") == .replicated)
        // Legacy GroupedMLP's flat weights are not split like a linear: refused, not guessed.
        #expect(glu("decoder.layers.0.mlp.experts.weight1") == nil)
    }
}
