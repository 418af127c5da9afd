/// One named tensor of a checkpoint, with the file it lives in (for messages and `--tensors`).
public struct TensorEntry: Sendable {
    public let key: String
    public let source: any TensorSource
    /// The file that holds the bytes (or the first of several, for chunked DCP tensors).
    public let file: String

    public init(key: String, source: any TensorSource, file: String) {
        self.key = key
        self.source = source
        self.file = file
    }

    public var dtype: DType { source.dtype }
    public var shape: [Int] { source.shape }
}

/// An ordered map from key to lazy tensor: what every container reader produces and every
/// writer consumes. Nothing in it has been read yet.
public struct StateDict: Sendable {
    /// Entries in checkpoint order.
    public private(set) var entries: [TensorEntry] = []
    private var positions: [String: Int] = [:]

    public init() {}

    public init(_ entries: [TensorEntry]) throws {
        for entry in entries { try add(entry) }
    }

    /// Appends an entry; a second entry with the same key is an error naming both files.
    public mutating func add(_ entry: TensorEntry) throws {
        if let existing = positions[entry.key] {
            throw StateDictError.duplicateKey(key: entry.key, file: entry.file, otherFile: entries[existing].file)
        }
        positions[entry.key] = entries.count
        entries.append(entry)
    }

    /// The entry for `key`, or `nil`.
    public subscript(key: String) -> TensorEntry? {
        positions[key].map { entries[$0] }
    }

    /// Keys in order.
    public var keys: [String] { entries.map(\.key) }
    /// Number of tensors.
    public var count: Int { entries.count }
    /// Sum of tensor bytes.
    public var totalBytes: Int { entries.reduce(0) { $0 + $1.source.byteCount } }
}

/// Errors of assembling a state dict from several files.
public enum StateDictError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The same key came from two places.
    case duplicateKey(key: String, file: String, otherFile: String)
    /// A key that is needed is absent.
    case missingKey(key: String, file: String, neededBy: String)

    public var description: String {
        switch self {
        case .duplicateKey(let key, let file, let otherFile):
            return "\(file): tensor '\(key)' also appears in \(otherFile)"
        case .missingKey(let key, let file, let neededBy):
            return "\(file): missing tensor '\(key)' (needed by \(neededBy))"
        }
    }
}
