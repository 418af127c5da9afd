/// Exact, round-to-nearest-even conversions between the float formats that checkpoints use.
///
/// Widening is exact. Narrowing rounds once, from the widest value at hand, as torch does
/// (`c10/util/BFloat16.h`, `Float8_e4m3fn.h`, `Float8_e5m2.h`); see `docs/architecture.md`.
public enum FloatFormats {
    // MARK: - bfloat16

    /// bf16 bits to float32: the upper half of a binary32, so exact.
    @inline(__always)
    public static func bfloat16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// float32 to bf16 with torch's round-to-nearest-even; NaN becomes the canonical `0x7FC0`.
    @inline(__always)
    public static func floatToBFloat16(_ value: Float) -> UInt16 {
        let u = value.bitPattern
        if (u & 0x7FFF_FFFF) > 0x7F80_0000 { return 0x7FC0 }
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    // MARK: - float16

    /// IEEE binary16 bits to float32 (exact).
    @inline(__always)
    public static func halfToFloat(_ bits: UInt16) -> Float {
        #if arch(x86_64) && !os(Linux)
        return Float(decodeMiniFloat(UInt32(bits), format: .half))
        #else
        return Float(Float16(bitPattern: bits))
        #endif
    }

    /// float32 to binary16, round-to-nearest-even.
    @inline(__always)
    public static func floatToHalf(_ value: Float) -> UInt16 {
        #if arch(x86_64) && !os(Linux)
        return UInt16(encodeMiniFloat(Double(value), format: .half))
        #else
        return Float16(value).bitPattern
        #endif
    }

    // MARK: - float8

    /// float8_e5m2 bits to float32: the upper byte of a binary16, so exact.
    @inline(__always)
    public static func e5m2ToFloat(_ bits: UInt8) -> Float {
        halfToFloat(UInt16(bits) << 8)
    }

    /// float8_e4m3fn bits to float32, from a 256-entry table.
    @inline(__always)
    public static func e4m3fnToFloat(_ bits: UInt8) -> Float {
        e4m3fnTable[Int(bits)]
    }

    /// float32 to float8_e5m2 (torch: NaN → `0x7F`, overflow → ±Inf, single RNE from f32).
    public static func floatToE5M2(_ value: Float) -> UInt8 {
        UInt8(encodeMiniFloat(Double(value), format: .e5m2))
    }

    /// float32 to float8_e4m3fn (torch, non-saturating: NaN, Inf and |x| ≥ 480 become NaN).
    public static func floatToE4M3FN(_ value: Float) -> UInt8 {
        UInt8(encodeMiniFloat(Double(value), format: .e4m3fn))
    }

    /// float64 to a narrow format with a single rounding (no double rounding through f32).
    public static func doubleToBits(_ value: Double, format: MiniFloatFormat) -> UInt32 {
        encodeMiniFloat(value, format: format)
    }

    private static let e4m3fnTable: [Float] = (0..<256).map { Float(decodeMiniFloat(UInt32($0), format: .e4m3fn)) }

    // MARK: - Generic small-float codec

    /// Parameters of an IEEE-like binary format narrower than binary32.
    public struct MiniFloatFormat: Sendable {
        let exponentBits: Int
        let mantissaBits: Int
        /// "fn" formats have no infinities; only the all-ones pattern is NaN.
        let finiteOnly: Bool
        let nanBits: UInt32

        public static let half = MiniFloatFormat(exponentBits: 5, mantissaBits: 10, finiteOnly: false, nanBits: 0x7E00)
        public static let bfloat16 = MiniFloatFormat(exponentBits: 8, mantissaBits: 7, finiteOnly: false, nanBits: 0x7FC0)
        public static let e5m2 = MiniFloatFormat(exponentBits: 5, mantissaBits: 2, finiteOnly: false, nanBits: 0x7F)
        public static let e4m3fn = MiniFloatFormat(exponentBits: 4, mantissaBits: 3, finiteOnly: true, nanBits: 0x7F)

        var bias: Int { (1 << (exponentBits - 1)) - 1 }
        var signShift: Int { exponentBits + mantissaBits }
    }

    static func decodeMiniFloat(_ bits: UInt32, format f: MiniFloatFormat) -> Double {
        let sign: Double = (bits >> UInt32(f.signShift)) & 1 == 1 ? -1 : 1
        let expField = Int((bits >> UInt32(f.mantissaBits)) & UInt32((1 << f.exponentBits) - 1))
        let mantissa = Int(bits & UInt32((1 << f.mantissaBits) - 1))
        let maxField = (1 << f.exponentBits) - 1
        if f.finiteOnly {
            if expField == maxField && mantissa == (1 << f.mantissaBits) - 1 { return .nan }
        } else if expField == maxField {
            return mantissa == 0 ? sign * .infinity : .nan
        }
        if expField == 0 {
            return sign * Double(mantissa) * Double(sign: .plus, exponent: 1 - f.bias - f.mantissaBits, significand: 1)
        }
        let significand = 1 + Double(mantissa) / Double(1 << f.mantissaBits)
        return sign * Double(sign: .plus, exponent: expField - f.bias, significand: significand)
    }

    static func encodeMiniFloat(_ value: Double, format f: MiniFloatFormat) -> UInt32 {
        let signBit: UInt32 = value.sign == .minus ? 1 << UInt32(f.signShift) : 0
        // torch keeps the sign of a NaN except for bf16, whose NaN is the canonical 0x7FC0.
        if value.isNaN { return f == .bfloat16 ? f.nanBits : (f.nanBits | signBit) }
        let magnitude = value.magnitude
        let maxField = (1 << f.exponentBits) - 1
        let infinity = signBit | (UInt32(maxField) << UInt32(f.mantissaBits))
        if magnitude.isInfinite { return f.finiteOnly ? (f.nanBits | signBit) : infinity }
        if magnitude == 0 { return signBit }
        let minNormalExponent = 1 - f.bias
        var exponent = max(Int(magnitude.exponent), minNormalExponent)
        let quantum = Double(sign: .plus, exponent: exponent - f.mantissaBits, significand: 1)
        var scaled = (magnitude / quantum).rounded(.toNearestOrEven)
        let implicit = Double(1 << f.mantissaBits)
        if scaled >= 2 * implicit {
            scaled /= 2
            exponent += 1
        }
        let expField: Int
        let mantissa: UInt32
        if scaled < implicit {
            expField = 0
            mantissa = UInt32(scaled)
        } else {
            expField = exponent + f.bias
            mantissa = UInt32(scaled - implicit)
        }
        if f.finiteOnly {
            if expField > maxField || (expField == maxField && mantissa == UInt32((1 << f.mantissaBits) - 1)) {
                return f.nanBits | signBit
            }
        } else if expField >= maxField {
            return infinity
        }
        return signBit | (UInt32(expField) << UInt32(f.mantissaBits)) | mantissa
    }
}

extension FloatFormats.MiniFloatFormat: Equatable {}
