/// Float32 views of stored weights, whatever their dtype, without keeping a float32 copy of a
/// whole layer: aligned float32 bytes are used in place, anything else is widened into a
/// scratch buffer the caller reuses from expert to expert.
///
/// The bf16 and fp16 loops are written per dtype so the compiler vectorises them; widening is
/// exact for every float format (`FloatFormats`).
struct WeightFloats {
    private var scratch: [Float] = []

    /// Calls `body` with `source`'s values as float32.
    mutating func with<R>(_ source: any TensorSource, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let dtype = source.dtype
        let count = source.elementCount
        if dtype == .float32 {
            let direct: R? = try source.withBytes { raw -> R? in
                guard raw.count == count * 4, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else {
                    return nil
                }
                return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: count))
            }
            if let direct { return direct }
        }
        if scratch.count < count { scratch = [Float](repeating: 0, count: count) }
        try scratch.withUnsafeMutableBufferPointer { out in
            try source.withBytes { raw in try Self.widen(raw, dtype: dtype, count: count, into: out) }
        }
        return try scratch.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<count])) }
    }

    /// Rows of the weight widened per block: 64 Ki floats (256 KiB) stay in a core's L2 cache
    /// while OpenBLAS packs them, instead of a whole float32 matrix going through memory.
    static let blockElements = 1 << 16

    /// `c[m, n] = a[m, k] · W[n, k]ᵀ` for a stored weight `W` of any float dtype. Aligned float32
    /// is used in place; anything else is widened block by block of rows into the scratch.
    mutating func multiply(_ a: UnsafePointer<Float>, rows m: Int, by weight: any TensorSource, into c: UnsafeMutablePointer<Float>) throws {
        let (n, k) = (weight.shape[0], weight.shape[1])
        let dtype = weight.dtype
        if dtype == .float32 {
            let done: Bool = try weight.withBytes { raw in
                guard raw.count == n * k * 4, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else {
                    return false
                }
                Matmul.multiplyTransposed(a, rows: m, base.assumingMemoryBound(to: Float.self), rows: n, inner: k, into: c)
                return true
            }
            if done { return }
        }
        let blockRows = max(1, min(n, Self.blockElements / max(k, 1)))
        if scratch.count < blockRows * k { scratch = [Float](repeating: 0, count: blockRows * k) }
        try scratch.withUnsafeMutableBufferPointer { block in
            try weight.withBytes { raw in
                guard raw.count == n * k * dtype.byteSize else {
                    throw DTypeConversion.Failure.lengthMismatch(expected: n * k * dtype.byteSize, found: raw.count)
                }
                var row = 0
                while row < n {
                    let rows = min(blockRows, n - row)
                    let bytes = UnsafeRawBufferPointer(rebasing: raw[(row * k * dtype.byteSize)..<((row + rows) * k * dtype.byteSize)])
                    try Self.widen(bytes, dtype: dtype, count: rows * k, into: block)
                    Matmul.multiplyTransposed(a, rows: m, block.baseAddress!, rows: rows, inner: k, into: c + row, rowStride: n)
                    row += rows
                }
            }
        }
    }

    /// Widens `count` elements of `raw` into `out`.
    static func widen(_ raw: UnsafeRawBufferPointer, dtype: DType, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard dtype.isFloatingPoint else { throw DTypeConversion.Failure.notFloatingPoint(from: dtype, to: .float32) }
        guard raw.count == count * dtype.byteSize else {
            throw DTypeConversion.Failure.lengthMismatch(expected: count * dtype.byteSize, found: raw.count)
        }
        guard count > 0, let base = raw.baseAddress, let dst = out.baseAddress else { return }
        let aligned = Int(bitPattern: base) % dtype.byteSize == 0
        switch dtype {
        case .bfloat16 where aligned:
            let src = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(src[i]) << 16) }
        case .float16 where aligned:
            let src = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { dst[i] = FloatFormats.halfToFloat(src[i]) }
        default:
            try DTypeConversion.convert(
                raw, from: dtype, into: UnsafeMutableRawBufferPointer(start: dst, count: count * 4), to: .float32)
        }
    }

    /// The values of a (small) tensor as a new array.
    static func array(_ source: any TensorSource) throws -> [Float] {
        var floats = WeightFloats()
        return try floats.with(source) { Array($0) }
    }
}
