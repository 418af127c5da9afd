/// Anything that can hand a writer the bytes of one tensor: a mapped range of a source file, a
/// lazily assembled DCP tensor, a converted view, or an in-memory test tensor.
///
/// Writers stream from sequences of these, so memory stays bounded by the largest tensor.
public protocol TensorSource: Sendable {
    /// Element type of the bytes handed out.
    var dtype: DType { get }
    /// Row-major shape.
    var shape: [Int] { get }
    /// Calls `body` with the tensor's dense, row-major, little-endian bytes.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// Calls `body` with the bytes in `range` only: one expert of a stacked tensor, one layer of
    /// a layer-stacked one. Sources that can read a part without the rest override it.
    func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// Appends the tensor's bytes to `output`. Mapped sources override it with an in-kernel copy.
    func write(to output: OutputFile) throws
    /// Drops cached pages of `range` once a writer is done with them, so resident memory stays
    /// bounded while a conversion streams through files larger than RAM.
    func evict(_ range: Range<Int>)
    /// Asks the kernel to start reading `range` now, so the read overlaps other work.
    func prefetch(_ range: Range<Int>)
}

extension TensorSource {
    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withBytes { all in try body(UnsafeRawBufferPointer(rebasing: all[range])) }
    }

    public func write(to output: OutputFile) throws {
        try withBytes { try output.write($0) }
    }

    public func evict(_ range: Range<Int>) {}
    public func prefetch(_ range: Range<Int>) {}
    /// Prefetches the whole tensor.
    public func prefetch() { prefetch(0..<byteCount) }

    /// Drops every cached page of the tensor.
    public func evict() { evict(0..<byteCount) }
}

extension TensorSource {
    /// Number of elements.
    public var elementCount: Int { TensorShape.elementCount(shape) ?? 0 }
    /// Number of bytes `withBytes` hands out.
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// Copies the bytes out (tests and small tensors only).
    public func bytes() throws -> [UInt8] {
        try withBytes { Array($0) }
    }

    /// The values widened to float32 (float tensors only).
    public func floats() throws -> [Float] {
        try withBytes { try DTypeConversion.toFloat32($0, dtype: dtype) }
    }
}

/// A tensor whose bytes are a range of a memory-mapped file: reading it touches only its pages.
public struct MappedTensor: TensorSource {
    public let file: MappedFile
    public let byteRange: Range<Int>
    public let dtype: DType
    public let shape: [Int]

    /// The caller has checked that `byteRange` lies in the file and matches `shape` × `dtype`.
    public init(file: MappedFile, byteRange: Range<Int>, dtype: DType, shape: [Int]) {
        self.file = file
        self.byteRange = byteRange
        self.dtype = dtype
        self.shape = shape
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try file.withBytes(byteRange, body)
    }

    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        precondition(range.upperBound <= byteRange.count, "range inside the tensor")
        return try file.withBytes(byteRange.lowerBound + range.lowerBound..<byteRange.lowerBound + range.upperBound, body)
    }

    public func write(to output: OutputFile) throws {
        try output.copy(from: file, range: byteRange)
    }

    public func evict(_ range: Range<Int>) {
        file.release(byteRange.lowerBound + range.lowerBound..<byteRange.lowerBound + range.upperBound)
    }

    public func prefetch(_ range: Range<Int>) {
        file.prefetch(byteRange.lowerBound + range.lowerBound..<byteRange.lowerBound + range.upperBound)
    }
}

/// A tensor held in memory: test data, converted results, small metadata tensors.
public struct InMemoryTensor: TensorSource {
    public let dtype: DType
    public let shape: [Int]
    public let storage: [UInt8]

    /// Wraps raw little-endian bytes; the count must match `shape` × `dtype`.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(TensorShape.byteCount(shape, dtype: dtype) == bytes.count, "bytes match shape")
        self.dtype = dtype
        self.shape = shape
        self.storage = bytes
    }

    /// Stores float32 values, rounded to `dtype` (a float dtype).
    public init(floats: [Float], shape: [Int], dtype: DType = .float32) {
        precondition(TensorShape.elementCount(shape) == floats.count, "values match shape")
        var out = [UInt8](repeating: 0, count: floats.count * dtype.byteSize)
        floats.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                try! DTypeConversion.convert(src, from: .float32, into: dst, to: dtype)
            }
        }
        self.init(dtype: dtype, shape: shape, bytes: out)
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try storage.withUnsafeBytes(body)
    }
}

/// A source cast to another float dtype on the fly (`--dtype`).
public struct CastTensor: TensorSource {
    public let base: any TensorSource
    public let dtype: DType
    public var shape: [Int] { base.shape }

    public init(_ base: any TensorSource, to dtype: DType) {
        self.base = base
        self.dtype = dtype
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withBytes(in: 0..<byteCount, body)
    }

    /// Casts only the elements of `range` (element-aligned), reading only their source bytes.
    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let (from, to) = (base.dtype.byteSize, dtype.byteSize)
        let sourceRange = range.lowerBound / to * from..<range.upperBound / to * from
        if base.dtype == dtype { return try base.withBytes(in: sourceRange, body) }
        defer { base.evict(sourceRange) }
        let out = try base.withBytes(in: sourceRange) { src -> [UInt8] in
            var out = [UInt8](repeating: 0, count: src.count / from * to)
            try out.withUnsafeMutableBytes { try DTypeConversion.convert(src, from: base.dtype, into: $0, to: dtype) }
            return out
        }
        return try out.withUnsafeBytes(body)
    }
}
