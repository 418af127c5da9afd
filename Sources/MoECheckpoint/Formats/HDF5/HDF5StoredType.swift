import CHDF5

/// What a dataset holds on disk, reduced to the distinctions the convention cares about, and
/// the one-to-one mapping from moe-ckpt dtypes (formats.md §4.2).
///
/// bf16 and the float8 formats have no HDF5 type before HDF5 2.0, so they are stored as their raw
/// bits in unsigned integers, marked by the `dtype` attribute; h5py users decode them with
/// `ds[...].view(ml_dtypes.bfloat16)`. float16 has no predefined HDF5 type either, but h5py
/// writes and reads IEEE binary16 as a 2-byte user-defined float, which `fileType` builds.
enum HDF5StoredType: Equatable, Sendable {
    /// IEEE binary16, binary32 or binary64, in either byte order.
    case ieeeFloat(bits: Int)
    /// A 2-byte user-defined float with bfloat16's fields (`H5Tset_fields(15, 7, 8, 0, 7)`,
    /// bias 127), as written by the `--h5-native-float` recipe of formats.md §4.2.
    case bfloat16Float
    case signed(bits: Int)
    case unsigned(bits: Int)
    /// Anything else, described for the error message.
    case other(String)

    /// How `dtype` is stored.
    static func expected(for dtype: DType) -> HDF5StoredType {
        switch dtype {
        case .float64: return .ieeeFloat(bits: 64)
        case .float32: return .ieeeFloat(bits: 32)
        case .float16: return .ieeeFloat(bits: 16)
        case .bfloat16: return .unsigned(bits: 16)
        case .float8_e4m3fn, .float8_e5m2, .uint8, .bool: return .unsigned(bits: 8)
        case .int64: return .signed(bits: 64)
        case .int32: return .signed(bits: 32)
        case .int16: return .signed(bits: 16)
        case .int8: return .signed(bits: 8)
        case .uint64: return .unsigned(bits: 64)
        case .uint32: return .unsigned(bits: 32)
        case .uint16: return .unsigned(bits: 16)
        }
    }

    /// Whether a dataset stored like this may carry the `dtype` attribute `dtype`: the
    /// convention's own type, or a self-describing bf16 float for `bfloat16`.
    func isCompatible(with dtype: DType) -> Bool {
        self == Self.expected(for: dtype) || (dtype == .bfloat16 && self == .bfloat16Float)
    }

    /// The dtype of a dataset without a `dtype` attribute (a file written by another tool).
    var inferredDType: DType? {
        switch self {
        case .ieeeFloat(64): return .float64
        case .ieeeFloat(32): return .float32
        case .ieeeFloat(16): return .float16
        case .bfloat16Float: return .bfloat16
        case .signed(64): return .int64
        case .signed(32): return .int32
        case .signed(16): return .int16
        case .signed(8): return .int8
        case .unsigned(64): return .uint64
        case .unsigned(32): return .uint32
        case .unsigned(16): return .uint16
        case .unsigned(8): return .uint8
        default: return nil
        }
    }

    /// Classifies an HDF5 datatype. Call holding `HDF5Library.withLock`.
    init(_ type: hid_t, _ scope: HDF5Scope) throws {
        let size = H5Tget_size(type)
        guard size > 0 else { throw scope.failure(call: "H5Tget_size") }
        let bits = size * 8
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            let sign = H5Tget_sign(type)
            guard [1, 2, 4, 8].contains(size), H5Tget_precision(type) == bits, H5Tget_offset(type) == 0 else {
                self = .other("a \(bits)-bit integer with padding bits")
                return
            }
            self = sign == H5T_SGN_2 ? .signed(bits: bits) : .unsigned(bits: bits)
        case H5T_FLOAT:
            var (signPosition, exponentPosition, exponentSize, mantissaPosition, mantissaSize) = (0, 0, 0, 0, 0)
            try scope.check(
                H5Tget_fields(type, &signPosition, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize),
                call: "H5Tget_fields")
            let fields = [signPosition, exponentPosition, exponentSize, mantissaPosition, mantissaSize]
            let bias = H5Tget_ebias(type)
            let layout = H5Tget_precision(type) == bits && H5Tget_offset(type) == 0
            switch (bits, fields, bias) {
            case (16, [15, 10, 5, 0, 10], 15) where layout: self = .ieeeFloat(bits: 16)
            case (32, [31, 23, 8, 0, 23], 127) where layout: self = .ieeeFloat(bits: 32)
            case (64, [63, 52, 11, 0, 52], 1023) where layout: self = .ieeeFloat(bits: 64)
            case (16, [15, 7, 8, 0, 7], 127) where layout: self = .bfloat16Float
            default: self = .other("a \(bits)-bit float with fields \(fields) and exponent bias \(bias)")
            }
        case H5T_STRING: self = .other("a string")
        case H5T_COMPOUND: self = .other("a compound")
        case H5T_ENUM: self = .other("an enum")
        case H5T_OPAQUE: self = .other("\(size)-byte opaque data")
        case H5T_ARRAY: self = .other("an array type")
        case H5T_VLEN: self = .other("a variable-length sequence")
        case H5T_REFERENCE: self = .other("a reference")
        case H5T_BITFIELD: self = .other("a bitfield")
        case H5T_TIME: self = .other("a time")
        default: throw scope.failure(call: "H5Tget_class")
        }
    }

    /// The on-disk (little-endian) type for `dtype`, as a new type the caller owns.
    static func fileType(for dtype: DType, _ scope: HDF5Scope) throws -> HDF5Object {
        let base: hid_t
        switch expected(for: dtype) {
        case .ieeeFloat(64): base = mc_h5t_ieee_f64le()
        case .ieeeFloat(32), .ieeeFloat(16): base = mc_h5t_ieee_f32le()
        case .signed(64): base = mc_h5t_std_i64le()
        case .signed(32): base = mc_h5t_std_i32le()
        case .signed(16): base = mc_h5t_std_i16le()
        case .signed(8): base = mc_h5t_std_i8le()
        case .unsigned(64): base = mc_h5t_std_u64le()
        case .unsigned(32): base = mc_h5t_std_u32le()
        case .unsigned(16): base = mc_h5t_std_u16le()
        default: base = mc_h5t_std_u8le()
        }
        let type = try scope.own(H5Tcopy(base), .datatype, call: "H5Tcopy")
        if dtype == .float16 {
            // IEEE binary16, laid out as h5py does for numpy float16 (`<f2`).
            try scope.check(H5Tset_fields(type.id, 15, 10, 5, 0, 10), call: "H5Tset_fields")
            try scope.check(H5Tset_offset(type.id, 0), call: "H5Tset_offset")
            try scope.check(H5Tset_precision(type.id, 16), call: "H5Tset_precision")
            try scope.check(H5Tset_size(type.id, 2), call: "H5Tset_size")
            try scope.check(H5Tset_ebias(type.id, 15), call: "H5Tset_ebias")
        }
        return type
    }

    /// The type to read a stored dataset into: the stored type itself in little-endian order,
    /// so reading copies raw bits (no value conversion) whatever the dtype.
    static func memoryType(readingStored fileType: hid_t, _ scope: HDF5Scope) throws -> HDF5Object {
        let type = try scope.own(H5Tcopy(fileType), .datatype, call: "H5Tcopy")
        if H5Tget_size(fileType) > 1 { try scope.check(H5Tset_order(type.id, H5T_ORDER_LE), call: "H5Tset_order") }
        return type
    }
}

extension HDF5StoredType: CustomStringConvertible {
    /// `IEEE float32`, `uint16`, ...: the words used in `dtypeMismatch` messages.
    var description: String {
        switch self {
        case .ieeeFloat(let bits): return "IEEE float\(bits)"
        case .bfloat16Float: return "a bfloat16 user-defined float"
        case .signed(let bits): return "int\(bits)"
        case .unsigned(let bits): return "uint\(bits)"
        case .other(let text): return text
        }
    }
}
