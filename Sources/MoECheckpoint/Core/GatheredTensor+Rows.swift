extension GatheredTensor {
    /// Rows `rows` of `sources[source]`.
    public struct RowBlock: Sendable {
        public let source: Int
        public let rows: Range<Int>

        public init(_ source: Int, rows: Range<Int>) {
            self.source = source
            self.rows = rows
        }
    }

    /// A tensor whose rows are blocks of rows of `sources`, in order: a dense `[G; U]` fc1 joined
    /// from gate and up (or one half cut back out), Megatron's fused `linear_qkv` from q/k/v (or one
    /// of them cut out). `nil` when the sources differ in dtype or trailing shape, or a block lies
    /// outside its source.
    public init?(sources: [any TensorSource], rowBlocks: [RowBlock]) {
        guard let first = sources.first, !first.shape.isEmpty else { return nil }
        let trailing = Array(first.shape.dropFirst())
        guard sources.allSatisfy({ $0.dtype == first.dtype && Array($0.shape.dropFirst()) == trailing }) else { return nil }
        let rowBytes = (TensorShape.elementCount(trailing) ?? 0) * first.dtype.byteSize
        var pieces: [Piece] = []
        for block in rowBlocks {
            guard block.source < sources.count, block.rows.lowerBound >= 0, block.rows.upperBound <= sources[block.source].shape[0] else { return nil }
            pieces.append(Piece(block.source, block.rows.lowerBound * rowBytes..<block.rows.upperBound * rowBytes))
        }
        self.init(sources: sources, pieces: pieces, shape: [rowBlocks.reduce(0) { $0 + $1.rows.count }] + trailing, dtype: first.dtype)
    }

    /// Rows `[start, start + count)` of every one of `groups` groups of `stride` rows of `source`.
    public static func strided(_ source: any TensorSource, groups: Int, stride: Int, start: Int, count: Int) -> GatheredTensor? {
        GatheredTensor(sources: [source], rowBlocks: (0..<groups).map { RowBlock(0, rows: $0 * stride + start..<$0 * stride + start + count) })
    }
}
