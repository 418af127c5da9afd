/// A tensor whose bytes are byte ranges of other tensors, one after another: one tensor-parallel
/// shard of a full Megatron tensor (write direction), or the full tensor merged from its shards
/// (read direction).
///
/// Each source is opened once per read (`withBytes`), however many pieces it gives: a mapped
/// source costs nothing but the pages the pieces touch, and a computed one (an assembled or cast
/// tensor) is built once rather than once per piece. Memory stays bounded by the sources' size,
/// which is at most the full tensor's.
public struct GatheredTensor: TensorSource {
    /// One contiguous byte range of `sources[source]`.
    public struct Piece: Sendable {
        public let source: Int
        public let range: Range<Int>

        public init(_ source: Int, _ range: Range<Int>) {
            self.source = source
            self.range = range
        }
    }

    public let sources: [any TensorSource]
    public let pieces: [Piece]
    public let shape: [Int]
    public let dtype: DType

    /// The caller guarantees that the pieces lie inside their sources, that the sources share
    /// `dtype` and that the pieces add up to `shape` × `dtype` bytes.
    public init(sources: [any TensorSource], pieces: [Piece], shape: [Int], dtype: DType) {
        precondition(pieces.reduce(0) { $0 + $1.range.count } == TensorShape.byteCount(shape, dtype: dtype), "pieces add up to the shape")
        precondition(sources.allSatisfy { $0.dtype == dtype }, "sources share the dtype")
        precondition(pieces.allSatisfy { $0.source < sources.count && $0.range.upperBound <= sources[$0.source].byteCount }, "pieces inside their sources")
        self.sources = sources
        self.pieces = pieces
        self.shape = shape
        self.dtype = dtype
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if pieces.count == 1 { return try sources[pieces[0].source].withBytes(in: pieces[0].range, body) }
        var out = [UInt8](repeating: 0, count: byteCount)
        try out.withUnsafeMutableBytes { target in
            var at = 0
            try visit { bytes in
                target.baseAddress!.advanced(by: at).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                at += bytes.count
            }
        }
        return try out.withUnsafeBytes(body)
    }

    /// Writes piece by piece: no copy of the gathered tensor is made.
    public func write(to output: OutputFile) throws {
        try visit { try output.write($0) }
    }

    public func evict(_ range: Range<Int>) {
        for source in sources { source.evict() }
    }

    public func prefetch(_ range: Range<Int>) {
        for piece in pieces { sources[piece.source].prefetch(piece.range) }
    }

    /// Calls `body` with every piece's bytes, in order, with every source open once.
    private func visit(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        func open(_ index: Int, _ opened: [UnsafeRawBufferPointer]) throws {
            guard index == sources.count else {
                return try sources[index].withBytes { try open(index + 1, opened + [$0]) }
            }
            for piece in pieces { try body(UnsafeRawBufferPointer(rebasing: opened[piece.source][piece.range])) }
        }
        try open(0, [])
    }
}
