/// A tensor whose bytes are byte ranges of other tensors, one after another: one tensor-parallel
/// shard of a full Megatron tensor (write direction), or the full tensor merged from its shards
/// (read direction). Like `TensorSlice`, it reads only the ranges it names, so a mapped base
/// touches only those pages, and a writer streams it piece by piece.
public struct GatheredTensor: TensorSource {
    /// One contiguous byte range of a source.
    public struct Piece: Sendable {
        public let source: any TensorSource
        public let range: Range<Int>

        public init(_ source: any TensorSource, _ range: Range<Int>) {
            self.source = source
            self.range = range
        }
    }

    public let pieces: [Piece]
    public let shape: [Int]
    public let dtype: DType
    /// Where each piece starts in this tensor's bytes (one more entry: the total).
    private let starts: [Int]

    /// The caller guarantees that the pieces lie inside their sources, share `dtype` and add up
    /// to `shape` × `dtype` bytes.
    public init(pieces: [Piece], shape: [Int], dtype: DType) {
        var starts = [0]
        for piece in pieces { starts.append(starts[starts.count - 1] + piece.range.count) }
        precondition(starts.last == TensorShape.byteCount(shape, dtype: dtype), "pieces add up to the shape")
        precondition(pieces.allSatisfy { $0.source.dtype == dtype && $0.range.upperBound <= $0.source.byteCount }, "pieces inside their sources")
        self.pieces = pieces
        self.shape = shape
        self.dtype = dtype
        self.starts = starts
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withBytes(in: 0..<byteCount, body)
    }

    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        // One piece covering the range needs no copy.
        let first = index(of: range.lowerBound)
        if first < pieces.count, range.upperBound <= starts[first + 1] {
            let offset = pieces[first].range.lowerBound - starts[first]
            return try pieces[first].source.withBytes(in: range.lowerBound + offset..<range.upperBound + offset, body)
        }
        var out = [UInt8](repeating: 0, count: range.count)
        try out.withUnsafeMutableBytes { target in
            try visit(range) { bytes, at in target.baseAddress!.advanced(by: at - range.lowerBound).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        }
        return try out.withUnsafeBytes(body)
    }

    /// Writes piece by piece: no copy of the whole tensor is made.
    public func write(to output: OutputFile) throws {
        try visit(0..<byteCount) { bytes, _ in try output.write(bytes) }
    }

    public func evict(_ range: Range<Int>) {
        for i in pieces.indices where starts[i] < range.upperBound && starts[i + 1] > range.lowerBound { pieces[i].source.evict(pieces[i].range) }
    }

    public func prefetch(_ range: Range<Int>) {
        for i in pieces.indices where starts[i] < range.upperBound && starts[i + 1] > range.lowerBound { pieces[i].source.prefetch(pieces[i].range) }
    }

    /// The piece holding byte `offset` (binary search over `starts`).
    private func index(of offset: Int) -> Int {
        var low = 0, high = pieces.count
        while low < high {
            let mid = (low + high) / 2
            if starts[mid + 1] <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Calls `body` with each non-empty part of `range`, in order, and where it starts in this tensor.
    private func visit(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        var i = index(of: range.lowerBound)
        while i < pieces.count, starts[i] < range.upperBound {
            let lower = max(range.lowerBound, starts[i]), upper = min(range.upperBound, starts[i + 1])
            if lower < upper {
                let offset = pieces[i].range.lowerBound - starts[i]
                try pieces[i].source.withBytes(in: lower + offset..<upper + offset) { try body($0, lower) }
            }
            i += 1
        }
    }
}
