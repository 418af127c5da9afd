/// One case per way an HDF5 state dict can be wrong or a libhdf5 call can fail, each naming the
/// file, the object (dataset path or key) and what was expected and found (`cli.md`: one readable
/// line per error).
///
/// libhdf5's own error stack never reaches the terminal: `HDF5Library` silences it and a failing
/// call becomes `libraryCall` with the stack's messages folded into one line.
public enum HDF5Error: Error, Equatable, Sendable {
    /// The file does not carry the HDF5 signature (at offset 0 or a user-block boundary).
    case notHDF5(file: String, found: String)
    /// The file is shorter than its superblock says: it was cut off while copying or writing.
    case truncated(file: String, reason: String)
    /// A libhdf5 call failed; `message` is the library's error stack, outermost to innermost.
    case libraryCall(file: String, object: String, call: String, message: String)
    /// The root `format_version` is newer than this build understands.
    case unsupportedVersion(file: String, expected: Int, found: Int)
    /// An attribute of the convention is malformed (wrong HDF5 type, not JSON, wrong JSON shape).
    case invalidAttribute(file: String, object: String, attribute: String, reason: String)
    /// A dataset of a moe-ckpt file lacks an attribute the convention requires.
    case missingAttribute(file: String, object: String, attribute: String)
    /// A `dtype` attribute names no dtype moe-ckpt knows.
    case unknownDType(file: String, key: String, dtype: String)
    /// The stored HDF5 type contradicts the dataset's `dtype` attribute.
    case dtypeMismatch(file: String, key: String, dtype: String, expected: String, found: String)
    /// The dataset's extent contradicts its `shape` attribute.
    case shapeMismatch(file: String, key: String, expected: [Int], found: [Int])
    /// The key index (`keys_json`) names a key no dataset carries.
    case missingKey(file: String, key: String)
    /// A dataset carries a key the key index does not list.
    case unindexedKey(file: String, key: String, object: String)
    /// Two datasets carry the same key.
    case duplicateKey(file: String, key: String, objects: [String])
    /// A stored type moe-ckpt cannot represent (strings, compounds, user-defined floats, ...).
    case unsupportedType(file: String, key: String, found: String)
    /// A dataspace that is neither scalar nor simple, or of too many dimensions.
    case unsupportedShape(file: String, key: String, reason: String)
    /// A soft, external or user-defined link: followed blindly, it could reach other files.
    case unsupportedLink(file: String, object: String, kind: String)
    /// Raw data kept in files outside the HDF5 file (`H5Pset_external`) or a virtual dataset.
    case externalStorage(file: String, key: String)
    /// A filter other than deflate, shuffle and fletcher32.
    case unsupportedFilter(file: String, key: String, filter: Int)
    /// The tensor is larger than the file could hold (missing data or a decompression bomb).
    case storageMismatch(file: String, key: String, expectedBytes: Int, storedBytes: Int)
    /// More elements, objects or bytes than the named limit allows.
    case limitExceeded(file: String, object: String, what: String, limit: Int, found: Int)
    /// A key the convention cannot store (an embedded NUL byte would be cut by C strings).
    case invalidKey(file: String, key: String, reason: String)
    /// A tensor source handed the writer a different number of bytes than its shape needs.
    case sourceSizeMismatch(file: String, key: String, expectedBytes: Int, foundBytes: Int)
    /// A hyperslab (expert slice) outside the dataset.
    case sliceOutOfRange(file: String, key: String, rows: Range<Int>, dimension: Int)
}

extension HDF5Error: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notHDF5(let file, let found):
            return "\(file): not an HDF5 file (expected the signature \\x89HDF\\r\\n\\x1a\\n, found \(found))"
        case .truncated(let file, let reason):
            return "\(file): truncated HDF5 file (\(reason))"
        case .libraryCall(let file, let object, let call, let message):
            return "\(file): \(call) failed on '\(object)': \(message)"
        case .unsupportedVersion(let file, let expected, let found):
            return "\(file): moe-ckpt HDF5 format_version \(found) is newer than this build reads (expected at most \(expected))"
        case .invalidAttribute(let file, let object, let attribute, let reason):
            return "\(file): attribute '\(attribute)' of '\(object)' is malformed: \(reason)"
        case .missingAttribute(let file, let object, let attribute):
            return "\(file): dataset '\(object)' has no '\(attribute)' attribute"
        case .unknownDType(let file, let key, let dtype):
            return "\(file): tensor '\(key)': unknown dtype attribute '\(dtype)'"
        case .dtypeMismatch(let file, let key, let dtype, let expected, let found):
            return "\(file): tensor '\(key)': dtype attribute '\(dtype)' expects stored type \(expected), found \(found)"
        case .shapeMismatch(let file, let key, let expected, let found):
            return "\(file): tensor '\(key)': shape attribute \(TensorShape.describe(expected)) but the dataset is \(TensorShape.describe(found))"
        case .missingKey(let file, let key):
            return "\(file): missing tensor '\(key)' (listed in keys_json, no dataset carries it)"
        case .unindexedKey(let file, let key, let object):
            return "\(file): dataset '\(object)' carries key '\(key)', which keys_json does not list"
        case .duplicateKey(let file, let key, let objects):
            return "\(file): tensor '\(key)' is carried by several datasets: \(objects.joined(separator: ", "))"
        case .unsupportedType(let file, let key, let found):
            return "\(file): tensor '\(key)': unsupported stored type \(found)"
        case .unsupportedShape(let file, let key, let reason):
            return "\(file): tensor '\(key)': unsupported dataspace: \(reason)"
        case .unsupportedLink(let file, let object, let kind):
            return "\(file): '\(object)' is a \(kind) link; only hard links are read"
        case .externalStorage(let file, let key):
            return "\(file): tensor '\(key)' keeps its data outside the file (external or virtual storage); refused"
        case .unsupportedFilter(let file, let key, let filter):
            return "\(file): tensor '\(key)' uses HDF5 filter \(filter); only deflate (1), shuffle (2) and fletcher32 (3) are read"
        case .storageMismatch(let file, let key, let expectedBytes, let storedBytes):
            return "\(file): tensor '\(key)' needs \(expectedBytes) bytes but the file stores \(storedBytes) for it"
        case .limitExceeded(let file, let object, let what, let limit, let found):
            return "\(file): '\(object)': \(found) \(what), more than the limit of \(limit)"
        case .invalidKey(let file, let key, let reason):
            return "\(file): cannot store key '\(key)': \(reason)"
        case .sourceSizeMismatch(let file, let key, let expectedBytes, let foundBytes):
            return "\(file): tensor '\(key)': expected \(expectedBytes) bytes from the source, got \(foundBytes)"
        case .sliceOutOfRange(let file, let key, let rows, let dimension):
            return "\(file): tensor '\(key)': rows \(rows.lowerBound)..<\(rows.upperBound) lie outside its first dimension of \(dimension)"
        }
    }
}
