/// How one tensor is partitioned over tensor-parallel ranks, as a byte rule usable both ways.
///
/// Every partition is "`outer` blocks, each cut into `tp` equal pieces, rank r taking piece r of
/// every block": rows (`outer` = 1), the two halves of a GLU `[G; U]` (`outer` = 2, so rank r holds
/// `[G_r; U_r]` and merging concatenates all gates, then all ups), and columns (`outer` = rows).
/// Splitting and merging are therefore the same gather read in opposite directions
/// (`GatheredTensor`, which opens each source once per read).
public enum TensorParallelSplit: String, Sendable, Equatable {
    /// Every rank holds the whole tensor (norms, router, expert bias).
    case replicated
    /// Dim 0 (column-parallel linears, vocab-parallel embedding and output layer).
    case rows
    /// Dim 0 within each half of a GLU `[G; U]`: Megatron's `linear_fc1` with a gated unit.
    case rowsPerHalf = "rows_per_half"
    /// Dim 1 (row-parallel linears).
    case columns

    /// A shape that the partition cannot divide evenly.
    public struct Indivisible: Error, Equatable, Sendable {
        /// What must divide by the TP size (`dim 0`, `each half of dim 0`, `dim 1`).
        public let what: String
        public let size: Int
    }

    /// `(outer blocks, bytes of one rank's piece of a block)` for a full tensor of `shape`.
    func blocks(fullShape shape: [Int], dtype: DType, tp: Int) throws -> (outer: Int, pieceBytes: Int) {
        let total = (TensorShape.elementCount(shape) ?? 0) * dtype.byteSize
        switch self {
        case .replicated:
            return (1, total)
        case .rows:
            guard let rows = shape.first, rows % tp == 0 else { throw Indivisible(what: "dim 0", size: shape.first ?? 0) }
            return (1, total / tp)
        case .rowsPerHalf:
            guard let rows = shape.first, rows % (2 * tp) == 0 else { throw Indivisible(what: "each half of dim 0", size: (shape.first ?? 0) / 2) }
            return (2, total / (2 * tp))
        case .columns:
            guard shape.count == 2, shape[1] % tp == 0 else { throw Indivisible(what: "dim 1", size: shape.count > 1 ? shape[1] : 0) }
            return (shape[0], shape[1] / tp * dtype.byteSize)
        }
    }

    /// One rank's shape for a full `shape`.
    func shardShape(_ shape: [Int], tp: Int) -> [Int] {
        var out = shape
        switch self {
        case .replicated: break
        case .rows, .rowsPerHalf: out[0] /= tp
        case .columns: out[1] /= tp
        }
        return out
    }

    /// The full shape for one rank's `shape`.
    func fullShape(_ shape: [Int], tp: Int) -> [Int] {
        var out = shape
        switch self {
        case .replicated: break
        case .rows, .rowsPerHalf: out[0] *= tp
        case .columns: out[1] *= tp
        }
        return out
    }

    /// Rank `rank`'s shard of `full`, read lazily from `full`'s bytes.
    public func shard(_ full: any TensorSource, rank: Int, tp: Int) throws -> any TensorSource {
        guard self != .replicated, tp > 1 else { return full }
        let (outer, piece) = try blocks(fullShape: full.shape, dtype: full.dtype, tp: tp)
        if outer == 1 { return TensorSlice(base: full, byteOffset: rank * piece, shape: shardShape(full.shape, tp: tp)) }
        let pieces = (0..<outer).map { block in GatheredTensor.Piece(0, (block * tp + rank) * piece..<(block * tp + rank + 1) * piece) }
        return GatheredTensor(sources: [full], pieces: pieces, shape: shardShape(full.shape, tp: tp), dtype: full.dtype)
    }

    /// The full tensor from every rank's shard (`shards[r]` of rank r, equal shapes and dtypes).
    public func merge(_ shards: [any TensorSource]) throws -> any TensorSource {
        let tp = shards.count
        guard self != .replicated, tp > 1 else { return shards[0] }
        let shape = fullShape(shards[0].shape, tp: tp)
        let (outer, piece) = try blocks(fullShape: shape, dtype: shards[0].dtype, tp: tp)
        var pieces: [GatheredTensor.Piece] = []
        for block in 0..<outer {
            for rank in shards.indices { pieces.append(GatheredTensor.Piece(rank, block * piece..<(block + 1) * piece)) }
        }
        return GatheredTensor(sources: shards, pieces: pieces, shape: shape, dtype: shards[0].dtype)
    }
}
