/// A tensor whose rows are blocks of rows of other tensors, in order: a dense `[G; U]` fc1 joined
/// from gate and up (or one half cut back out), Megatron's fused `linear_qkv` from separate q/k/v
/// (or one of them cut out). Nothing is read until a writer asks, and a read that falls inside one
/// block reads only that block.
public struct RowBlocksTensor: TensorSource {
    /// Rows `rows` of `source`.
    public struct Block: Sendable {
        public let source: any TensorSource
        public let rows: Range<Int>

        public init(_ source: any TensorSource, rows: Range<Int>) {
            self.source = source
            self.rows = rows
        }
    }

    public let blocks: [Block]
    public let dtype: DType
    public let shape: [Int]
    /// Bytes of one row (every source has the same trailing shape).
    private let rowBytes: Int

    /// `nil` when the blocks do not share a dtype and a trailing shape, or lie outside their sources.
    public init?(_ blocks: [Block]) {
        guard let first = blocks.first?.source, !first.shape.isEmpty else { return nil }
        let trailing = Array(first.shape.dropFirst())
        for block in blocks {
            guard block.source.dtype == first.dtype, Array(block.source.shape.dropFirst()) == trailing,
                block.rows.lowerBound >= 0, block.rows.upperBound <= (block.source.shape.first ?? 0)
            else { return nil }
        }
        self.blocks = blocks
        dtype = first.dtype
        shape = [blocks.reduce(0) { $0 + $1.rows.count }] + trailing
        rowBytes = (TensorShape.elementCount(trailing) ?? 0) * first.dtype.byteSize
    }

    /// Rows `[start, start + count)` of `source` repeated over `groups` groups of `stride` rows.
    public static func strided(_ source: any TensorSource, groups: Int, stride: Int, start: Int, count: Int) -> [Block] {
        (0..<groups).map { Block(source, rows: $0 * stride + start..<$0 * stride + start + count) }
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withBytes(in: 0..<byteCount, body)
    }

    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var offset = 0
        var pieces: [(block: Block, bytes: Range<Int>)] = []
        for block in blocks {
            let size = block.rows.count * rowBytes
            let (low, high) = (max(range.lowerBound, offset), min(range.upperBound, offset + size))
            if low < high {
                let base = block.rows.lowerBound * rowBytes - offset
                pieces.append((block, base + low..<base + high))
            }
            offset += size
        }
        if pieces.count == 1 { return try pieces[0].block.source.withBytes(in: pieces[0].bytes, body) }
        var out = [UInt8](repeating: 0, count: range.count)
        var at = 0
        for piece in pieces {
            try piece.block.source.withBytes(in: piece.bytes) { bytes in
                out.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: at).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            at += piece.bytes.count
        }
        return try out.withUnsafeBytes(body)
    }

    public func write(to output: OutputFile) throws {
        for block in blocks {
            try TensorSlice(base: block.source, byteOffset: block.rows.lowerBound * rowBytes, shape: [block.rows.count] + shape.dropFirst())
                .write(to: output)
        }
    }
}
