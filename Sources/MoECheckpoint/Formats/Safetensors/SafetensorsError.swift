/// One case per rule of the safetensors format that a file can break (the reference
/// implementation's `SafeTensorError`, with file, key, expected and found in every case).
public enum SafetensorsError: Error, Equatable, Sendable {
    /// The file is shorter than the 8-byte length prefix.
    case headerTooSmall(file: String, size: Int)
    /// The declared header is larger than `SafetensorsLimits.maxHeaderBytes`.
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    /// The declared header runs past the end of the file.
    case invalidHeaderLength(file: String, length: UInt64, fileSize: Int)
    /// The header is not UTF-8 or does not start with `{`.
    case invalidHeaderStart(file: String, found: String)
    /// The header is not valid JSON.
    case invalidHeaderJSON(file: String, reason: String)
    /// A tensor entry lacks a field or has one of the wrong type.
    case invalidTensorInfo(file: String, key: String, reason: String)
    /// A dtype string the format does not define (or moe-ckpt cannot represent).
    case unknownDType(file: String, key: String, dtype: String)
    /// `__metadata__` is not an object of strings.
    case invalidMetadata(file: String, reason: String)
    /// A tensor name is empty.
    case emptyTensorName(file: String)
    /// `shape` × dtype overflows.
    case validationOverflow(file: String, key: String, shape: [Int])
    /// Offsets are not contiguous from 0 (a gap, an overlap or a reversed range).
    case invalidOffset(file: String, key: String, expectedStart: Int, found: [UInt64])
    /// The byte range does not hold `shape` × dtype.
    case sizeMismatch(file: String, key: String, dtype: DType, shape: [Int], expectedBytes: Int, foundBytes: Int)
    /// The data buffer is not exactly covered by the tensors (trailing bytes, or a short file).
    case incompleteBuffer(file: String, expectedSize: Int, foundSize: Int)

    // MARK: Sharded folders

    /// `model.safetensors.index.json` is malformed.
    case invalidIndex(file: String, reason: String)
    /// The index names a shard that is not a plain file name in the folder.
    case unsafeShardName(file: String, shard: String)
    /// The index names a shard file that is missing.
    case missingShard(file: String, shard: String)
    /// The index and a shard disagree about where a tensor lives.
    case indexMismatch(file: String, key: String, expected: String, found: String)
    /// The same tensor appears in two shards.
    case duplicateTensor(file: String, key: String, otherFile: String)
    /// A folder holds no safetensors files.
    case noShards(folder: String)

    // MARK: Writing

    /// A writer was handed two tensors with the same name.
    case duplicateTensorName(file: String, key: String)
    /// A writer was handed bytes that do not match the declared shape and dtype.
    case sourceSizeMismatch(file: String, key: String, expectedBytes: Int, foundBytes: Int)
}

extension SafetensorsError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .headerTooSmall(let file, let size):
            return "\(file): not a safetensors file: expected at least 8 bytes for the header length, found \(size)"
        case .headerTooLarge(let file, let length, let limit):
            return "\(file): header length \(length) exceeds the limit of \(limit) bytes"
        case .invalidHeaderLength(let file, let length, let fileSize):
            return "\(file): header length \(length) runs past the end of the file (\(fileSize) bytes)"
        case .invalidHeaderStart(let file, let found):
            return "\(file): header must be UTF-8 JSON starting with '{', found \(found)"
        case .invalidHeaderJSON(let file, let reason):
            return "\(file): header is not valid JSON: \(reason)"
        case .invalidTensorInfo(let file, let key, let reason):
            return "\(file): tensor '\(key)': \(reason)"
        case .unknownDType(let file, let key, let dtype):
            return "\(file): tensor '\(key)': unknown or unsupported dtype '\(dtype)'"
        case .invalidMetadata(let file, let reason):
            return "\(file): __metadata__ must map strings to strings: \(reason)"
        case .emptyTensorName(let file):
            return "\(file): a tensor has an empty name"
        case .validationOverflow(let file, let key, let shape):
            return "\(file): tensor '\(key)': shape \(TensorShape.describe(shape)) overflows"
        case .invalidOffset(let file, let key, let expectedStart, let found):
            return "\(file): tensor '\(key)': data_offsets \(found) must start at \(expectedStart) (offsets must be contiguous, sorted and non-overlapping)"
        case .sizeMismatch(let file, let key, let dtype, let shape, let expectedBytes, let foundBytes):
            return "\(file): tensor '\(key)': \(dtype.rawValue) \(TensorShape.describe(shape)) needs \(expectedBytes) bytes, data_offsets give \(foundBytes)"
        case .incompleteBuffer(let file, let expectedSize, let foundSize):
            return "\(file): file size must be exactly \(expectedSize) bytes (header + tensor data), found \(foundSize)"
        case .invalidIndex(let file, let reason):
            return "\(file): invalid index: \(reason)"
        case .unsafeShardName(let file, let shard):
            return "\(file): shard name '\(shard)' must be a plain file name in the same folder"
        case .missingShard(let file, let shard):
            return "\(file): names shard '\(shard)', which does not exist"
        case .indexMismatch(let file, let key, let expected, let found):
            return "\(file): tensor '\(key)': index says '\(expected)', found in '\(found)'"
        case .duplicateTensor(let file, let key, let otherFile):
            return "\(file): tensor '\(key)' also appears in \(otherFile)"
        case .noShards(let folder):
            return "\(folder): no *.safetensors files found"
        case .duplicateTensorName(let file, let key):
            return "\(file): tensor '\(key)' was given twice"
        case .sourceSizeMismatch(let file, let key, let expectedBytes, let foundBytes):
            return "\(file): tensor '\(key)': expected \(expectedBytes) bytes from the source, got \(foundBytes)"
        }
    }
}

/// Named limits of the safetensors reader.
public enum SafetensorsLimits {
    /// The reference implementation's `MAX_HEADER_SIZE`.
    public static let maxHeaderBytes = 100_000_000
    /// JSON nesting allowed in a header.
    public static let maxJSONDepth = 64
}
