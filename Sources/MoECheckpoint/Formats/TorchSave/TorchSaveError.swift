/// One case per rule that ties a torch.save pickle to its storage records (`formats.md` §1.5,
/// §6.3), and per shape a state dict must have. Zip and pickle errors keep their own enums.
public enum TorchSaveError: Error, Equatable, Sendable {
    /// A persistent id names a storage whose `data/<key>` record is absent.
    case missingStorage(file: String, key: String)
    /// A storage record's size differs from `numel × itemsize` (torch requires equality).
    case storageSizeMismatch(file: String, key: String, storageType: String, expectedBytes: Int, foundBytes: UInt64)
    /// One storage key used with two different types or sizes.
    case inconsistentStorage(file: String, key: String, first: String, second: String)
    /// A tensor view that is not row-major dense; moe-ckpt reads views of dense tensors only.
    case nonContiguousTensor(file: String, key: String, shape: [Int], stride: [Int])
    /// The pickle does not hold a state dict where one is expected.
    case notAStateDict(file: String, path: String, found: String)
    /// A state dict key is not a string.
    case invalidKey(file: String, path: String, found: String)
}

extension TorchSaveError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .missingStorage(let file, let key):
            return "\(file): storage '\(key)': expected record 'data/\(key)', found none"
        case .storageSizeMismatch(let file, let key, let type, let expected, let found):
            return "\(file): storage '\(key)' (\(type)): expected \(expected) bytes in record 'data/\(key)', found \(found)"
        case .inconsistentStorage(let file, let key, let first, let second):
            return "\(file): storage '\(key)' is used as \(first) and as \(second)"
        case .nonContiguousTensor(let file, let key, let shape, let stride):
            return "\(file): tensor '\(key)': expected a row-major dense view, found shape \(TensorShape.describe(shape)) with stride \(TensorShape.describe(stride))"
        case .notAStateDict(let file, let path, let found):
            return "\(file): \(path.isEmpty ? "the pickle" : "'\(path)'"): expected a dict of tensors, found \(found)"
        case .invalidKey(let file, let path, let found):
            return "\(file): \(path.isEmpty ? "state dict" : "'\(path)'"): expected string keys, found \(found)"
        }
    }
}
