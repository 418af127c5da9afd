/// A contiguous part of another tensor, seen as a tensor of its own: one layer of a
/// layer-stacked torch_dist tensor, or the bytes of one chunk a DCP writer stores.
///
/// Reading it reads only its range of the base (`withBytes(in:)`), so a lazy base (a DCP
/// tensor, a mapped file) touches nothing else.
public struct TensorSlice: TensorSource {
    public let base: any TensorSource
    /// Where the slice starts in the base, in bytes.
    public let byteOffset: Int
    public let shape: [Int]
    public var dtype: DType { base.dtype }

    /// The caller guarantees that `shape` × dtype bytes from `byteOffset` lie inside `base`.
    public init(base: any TensorSource, byteOffset: Int, shape: [Int]) {
        precondition(byteOffset >= 0 && byteOffset + (TensorShape.byteCount(shape, dtype: base.dtype) ?? .max) <= base.byteCount, "slice inside its base")
        self.base = base
        self.byteOffset = byteOffset
        self.shape = shape
    }

    /// Index `index` of the leading axis, without it: `[L, E, F, D]` → `[E, F, D]` of layer `index`.
    public init(base: any TensorSource, leadingIndex index: Int) {
        let inner = Array(base.shape.dropFirst())
        let bytes = (TensorShape.elementCount(inner) ?? 0) * base.dtype.byteSize
        self.init(base: base, byteOffset: index * bytes, shape: inner)
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try base.withBytes(in: byteOffset..<byteOffset + byteCount, body)
    }

    public func withBytes<R>(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try base.withBytes(in: byteOffset + range.lowerBound..<byteOffset + range.upperBound, body)
    }

    /// Drops the base's pages of the slice's `range` (a layer's experts of a torch_dist source).
    public func evict(_ range: Range<Int>) {
        base.evict(byteOffset + range.lowerBound..<byteOffset + range.upperBound)
    }

    public func prefetch(_ range: Range<Int>) {
        base.prefetch(byteOffset + range.lowerBound..<byteOffset + range.upperBound)
    }
}
