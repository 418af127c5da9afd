/// Element types of checkpoint tensors, named as torch names them (`float32`, `bfloat16`, ...).
///
/// The raw value is torch's name, which is also what `inspect --json` prints and what the HDF5
/// `dtype` attribute stores, so one spelling serves every surface.
public enum DType: String, CaseIterable, Sendable, Codable, Hashable {
    case float64
    case float32
    case float16
    case bfloat16
    case float8_e4m3fn
    case float8_e5m2
    case int64
    case int32
    case int16
    case int8
    case uint64
    case uint32
    case uint16
    case uint8
    case bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .float8_e4m3fn, .float8_e5m2, .int8, .uint8, .bool: return 1
        }
    }

    /// Whether values are floating point (the only dtypes `--dtype` may cast).
    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16, .float8_e4m3fn, .float8_e5m2: return true
        default: return false
        }
    }

    /// The safetensors header spelling (`F32`, `BF16`, `F8_E4M3`, ...).
    public var safetensorsName: String {
        switch self {
        case .float64: return "F64"
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float8_e4m3fn: return "F8_E4M3"
        case .float8_e5m2: return "F8_E5M2"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint64: return "U64"
        case .uint32: return "U32"
        case .uint16: return "U16"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    /// Parses a safetensors dtype string; `nil` for unknown or unsupported ones (sub-byte floats).
    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    /// The position of the dtype in the reference safetensors `Dtype` enum, whose derived
    /// ordering its writer uses to place tensors (largest alignment first).
    var safetensorsOrder: Int {
        switch self {
        case .bool: return 0
        case .uint8: return 4
        case .int8: return 5
        case .float8_e5m2: return 6
        case .float8_e4m3fn: return 7
        case .int16: return 9
        case .uint16: return 10
        case .float16: return 11
        case .bfloat16: return 12
        case .int32: return 13
        case .uint32: return 14
        case .float32: return 15
        case .float64: return 17
        case .int64: return 18
        case .uint64: return 19
        }
    }
}
