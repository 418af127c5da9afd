/// Element-wise dtype casts for `--dtype`, and float32 views for the forward pass.
public enum DTypeConversion {
    /// Why a cast was refused.
    public enum Failure: Error, Equatable {
        /// Only float ↔ float casts are allowed: integer data never changes type silently.
        case notFloatingPoint(from: DType, to: DType)
        /// The buffers disagree with the element count.
        case lengthMismatch(expected: Int, found: Int)
    }

    /// Casts `source` (elements of `from`) into `destination` (elements of `to`) with a single
    /// round-to-nearest-even step.
    public static func convert(
        _ source: UnsafeRawBufferPointer, from: DType,
        into destination: UnsafeMutableRawBufferPointer, to: DType
    ) throws {
        guard from.isFloatingPoint, to.isFloatingPoint else { throw Failure.notFloatingPoint(from: from, to: to) }
        let count = source.count / from.byteSize
        guard source.count == count * from.byteSize, destination.count == count * to.byteSize else {
            throw Failure.lengthMismatch(expected: count * to.byteSize, found: destination.count)
        }
        if from == to {
            destination.copyMemory(from: source)
            return
        }
        if from == .float64 || to == .float64 {
            for i in 0..<count { storeDouble(loadDouble(source, i, from), destination, i, to) }
        } else {
            for i in 0..<count { storeFloat(loadFloat(source, i, from), destination, i, to) }
        }
    }

    /// Widens any float tensor to `[Float]` (exact for every format but float64).
    public static func toFloat32(_ source: UnsafeRawBufferPointer, dtype: DType) throws -> [Float] {
        guard dtype.isFloatingPoint else { throw Failure.notFloatingPoint(from: dtype, to: .float32) }
        let count = source.count / dtype.byteSize
        if dtype == .float32 {
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count * 4]))
                initialized = count
            }
        }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = loadFloat(source, i, dtype) }
            initialized = count
        }
    }

    @inline(__always)
    static func loadFloat(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ dtype: DType) -> Float {
        switch dtype {
        case .float32: return Float(bitPattern: buffer.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        case .bfloat16: return FloatFormats.bfloat16ToFloat(buffer.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .float16: return FloatFormats.halfToFloat(buffer.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .float8_e4m3fn: return FloatFormats.e4m3fnToFloat(buffer[i])
        case .float8_e5m2: return FloatFormats.e5m2ToFloat(buffer[i])
        case .float64: return Float(loadDouble(buffer, i, .float64))
        default: return 0
        }
    }

    @inline(__always)
    static func storeFloat(_ value: Float, _ buffer: UnsafeMutableRawBufferPointer, _ i: Int, _ dtype: DType) {
        switch dtype {
        case .float32: buffer.storeBytes(of: value.bitPattern, toByteOffset: i * 4, as: UInt32.self)
        case .bfloat16: buffer.storeBytes(of: FloatFormats.floatToBFloat16(value), toByteOffset: i * 2, as: UInt16.self)
        case .float16: buffer.storeBytes(of: FloatFormats.floatToHalf(value), toByteOffset: i * 2, as: UInt16.self)
        case .float8_e4m3fn: buffer[i] = FloatFormats.floatToE4M3FN(value)
        case .float8_e5m2: buffer[i] = FloatFormats.floatToE5M2(value)
        default: break
        }
    }

    static func loadDouble(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ dtype: DType) -> Double {
        if dtype == .float64 { return Double(bitPattern: buffer.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        return Double(loadFloat(buffer, i, dtype))
    }

    static func storeDouble(_ value: Double, _ buffer: UnsafeMutableRawBufferPointer, _ i: Int, _ dtype: DType) {
        switch dtype {
        case .float64: buffer.storeBytes(of: value.bitPattern, toByteOffset: i * 8, as: UInt64.self)
        case .float32: buffer.storeBytes(of: Float(value).bitPattern, toByteOffset: i * 4, as: UInt32.self)
        case .bfloat16: buffer.storeBytes(of: UInt16(FloatFormats.doubleToBits(value, format: .bfloat16)), toByteOffset: i * 2, as: UInt16.self)
        case .float16: buffer.storeBytes(of: UInt16(FloatFormats.doubleToBits(value, format: .half)), toByteOffset: i * 2, as: UInt16.self)
        case .float8_e4m3fn: buffer[i] = UInt8(FloatFormats.doubleToBits(value, format: .e4m3fn))
        case .float8_e5m2: buffer[i] = UInt8(FloatFormats.doubleToBits(value, format: .e5m2))
        default: break
        }
    }
}
