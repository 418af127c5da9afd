/// One case per rule a torch.distributed.checkpoint folder can break (`formats.md` §2, §6.4).
/// Every case names the file it was found in and, where there is one, the key.
public enum DCPError: Error, Equatable, Sendable {
    /// `.metadata` does not have the object shape torch writes (`path` is where in the pickle).
    case invalidMetadata(file: String, path: String, expected: String, found: String)
    /// `.metadata` references a class that is not part of torch's DCP object model, OLMo-core's
    /// storage info or Megatron's planner records.
    case unknownClass(file: String, className: String, path: String)
    /// Two `storage_data` entries with the same fqn and offset (Python would merge them).
    case duplicateStorageIndex(file: String, key: String, offsets: [Int]?)
    /// A chunk's rank differs from the tensor's, or it reaches outside the global shape.
    case chunkOutOfBounds(file: String, key: String, offsets: [Int], sizes: [Int], globalShape: [Int])
    /// Two chunks of one tensor cover the same elements.
    case chunksOverlap(file: String, key: String, first: [Int], second: [Int])
    /// The chunks leave part of the global tensor uncovered.
    case chunksLeaveHoles(file: String, key: String, expectedElements: Int, coveredElements: Int)
    /// A chunk (or bytes item) has no `storage_data` entry.
    case missingStorage(file: String, key: String, offsets: [Int]?)
    /// A `relative_path` that is not a single plain file name inside the checkpoint folder.
    case unsafePath(file: String, key: String, path: String)
    /// A `relative_path` naming a data file that does not exist.
    case missingDataFile(file: String, key: String, dataFile: String)
    /// A `storage_data` range that ends past the end of its data file.
    case storageOutOfFile(file: String, key: String, offset: Int, length: Int, fileSize: Int)
    /// Two items of one data file share bytes.
    case overlappingItems(file: String, key: String, otherKey: String)
    /// A tensor item whose archive does not hold one tensor.
    case notATensor(file: String, key: String, found: String)
    /// A tensor item whose tensor shape differs from its chunk's size.
    case blobShapeMismatch(file: String, key: String, expected: [Int], found: [Int])
    /// A tensor item whose dtype differs from the tensor's properties.
    case dtypeMismatch(file: String, key: String, expected: String, found: String)
    /// A tensor item whose storage holds a different number of bytes than its chunk needs.
    case byteLengthMismatch(file: String, key: String, expected: Int, found: Int)
    /// A key the caller asked for is not in `.metadata` (or is not of the requested kind).
    case missingKey(file: String, key: String)
}

extension DCPError: CustomStringConvertible {
    public var description: String {
        func shape(_ s: [Int]) -> String { TensorShape.describe(s) }
        switch self {
        case .invalidMetadata(let file, let path, let expected, let found):
            return "\(file): \(path.isEmpty ? "the pickle" : path): expected \(expected), found \(found)"
        case .unknownClass(let file, let className, let path):
            return "\(file): \(path): unknown class '\(className)' (expected torch.distributed.checkpoint classes)"
        case .duplicateStorageIndex(let file, let key, let offsets):
            return "\(file): tensor '\(key)': storage_data lists offset \(offsets.map(shape) ?? "None") twice"
        case .chunkOutOfBounds(let file, let key, let offsets, let sizes, let global):
            return "\(file): tensor '\(key)': expected a chunk inside \(shape(global)), found offsets \(shape(offsets)) sizes \(shape(sizes))"
        case .chunksOverlap(let file, let key, let first, let second):
            return "\(file): tensor '\(key)': chunks at \(shape(first)) and \(shape(second)) overlap"
        case .chunksLeaveHoles(let file, let key, let expected, let covered):
            return "\(file): tensor '\(key)': expected chunks covering \(expected) elements, found \(covered) (holes)"
        case .missingStorage(let file, let key, let offsets):
            return "\(file): tensor '\(key)': expected a storage_data entry for offset \(offsets.map(shape) ?? "None"), found none"
        case .unsafePath(let file, let key, let path):
            return "\(file): tensor '\(key)': expected a plain file name, found relative_path '\(path)'"
        case .missingDataFile(let file, let key, let dataFile):
            return "\(file): tensor '\(key)': data file '\(dataFile)' does not exist"
        case .storageOutOfFile(let file, let key, let offset, let length, let fileSize):
            return "\(file): tensor '\(key)': expected bytes inside the file's \(fileSize), found offset \(offset) length \(length)"
        case .overlappingItems(let file, let key, let otherKey):
            return "\(file): tensor '\(key)': its bytes overlap those of '\(otherKey)'"
        case .notATensor(let file, let key, let found):
            return "\(file): tensor '\(key)': expected an item holding one tensor, found \(found)"
        case .blobShapeMismatch(let file, let key, let expected, let found):
            return "\(file): tensor '\(key)': expected a chunk of shape \(shape(expected)), found \(shape(found))"
        case .dtypeMismatch(let file, let key, let expected, let found):
            return "\(file): tensor '\(key)': expected dtype \(expected), found \(found)"
        case .byteLengthMismatch(let file, let key, let expected, let found):
            return "\(file): tensor '\(key)': expected \(expected) bytes of storage, found \(found)"
        case .missingKey(let file, let key):
            return "\(file): expected an entry '\(key)', found none"
        }
    }
}
