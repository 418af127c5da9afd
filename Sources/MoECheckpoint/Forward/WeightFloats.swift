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
