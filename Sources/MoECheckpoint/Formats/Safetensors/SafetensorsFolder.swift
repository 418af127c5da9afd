import Foundation

/// A folder of safetensors shards, with or without `model.safetensors.index.json`
/// (`formats.md` §3.2): HF and NeMo consolidated exports, or NeMo's native single file.
public struct SafetensorsFolder: Sendable {
    /// The index file name transformers and NeMo use.
    public static let indexName = "model.safetensors.index.json"

    public let folder: String
    public let shards: [SafetensorsFile]
    /// The index's path, when the folder has one.
    public let indexPath: String?

    /// Opens every shard named by the index (or, without an index, every `*.safetensors`
    /// file), validating each header and the index against them.
    public init(folder: String) throws {
        self.folder = folder
        let indexPath = (folder as NSString).appendingPathComponent(Self.indexName)
        if FileManager.default.fileExists(atPath: indexPath) {
            self.indexPath = indexPath
            let index = try SafetensorsIndex(path: indexPath)
            var shards: [SafetensorsFile] = []
            for name in index.shardNames {
                let shardPath = (folder as NSString).appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: shardPath) else {
                    throw SafetensorsError.missingShard(file: indexPath, shard: name)
                }
                shards.append(try SafetensorsFile(path: shardPath))
            }
            try index.validate(against: shards)
            self.shards = shards
        } else {
            self.indexPath = nil
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            let files = names.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }.sorted()
            guard !files.isEmpty else { throw SafetensorsError.noShards(folder: folder) }
            shards = try files.map { try SafetensorsFile(path: (folder as NSString).appendingPathComponent($0)) }
        }
    }

    /// All tensors of all shards; a tensor in two shards is an error naming both.
    public func stateDict() throws -> StateDict {
        var dict = StateDict()
        for shard in shards {
            for entry in shard.entries() {
                if let existing = dict[entry.key] {
                    throw SafetensorsError.duplicateTensor(file: shard.path, key: entry.key, otherFile: existing.file)
                }
                try dict.add(entry)
            }
        }
        return dict
    }
}

/// `model.safetensors.index.json`: `{"metadata": {"total_size": …}, "weight_map": {key: file}}`.
public struct SafetensorsIndex: Sendable {
    public let path: String
    /// `weight_map`, in file order.
    public let weightMap: [(key: String, file: String)]
    public let totalSize: Int?

    public init(path: String) throws {
        try self.init(parsing: MappedFile(path: path), path: path)
    }

    /// Parses an index already in memory (the fuzz target's entry point); `path` names it.
    init(parsing file: MappedFile, path: String) throws {
        self.path = path
        let value: JSONValue
        do {
            value = try file.withAllBytes { try JSONParser().parse($0) }
        } catch let failure as JSONParser.Failure {
            throw SafetensorsError.invalidIndex(file: path, reason: failure.description)
        }
        guard let object = value.objectValue, let map = object["weight_map"]?.objectValue else {
            throw SafetensorsError.invalidIndex(file: path, reason: "expected an object with a 'weight_map' object")
        }
        var weightMap: [(key: String, file: String)] = []
        for (key, file) in map {
            guard let name = file.stringValue else {
                throw SafetensorsError.invalidIndex(file: path, reason: "weight_map['\(key)'] is not a string")
            }
            guard PlainFileName.isPlain(name) else { throw SafetensorsError.unsafeShardName(file: path, shard: name) }
            weightMap.append((key, name))
        }
        self.weightMap = weightMap
        totalSize = object["metadata"]?.objectValue?["total_size"]?.intValue
    }

    /// Shard names in first-mention order.
    public var shardNames: [String] {
        var seen = Set<String>()
        return weightMap.map(\.file).filter { seen.insert($0).inserted }
    }

    /// Every tensor of every shard must be in the map with that shard, and every mapped tensor
    /// must exist.
    func validate(against shards: [SafetensorsFile]) throws {
        let expected = Dictionary(weightMap.map { ($0.key, $0.file) }, uniquingKeysWith: { first, _ in first })
        var found: [String: String] = [:]
        for shard in shards {
            let name = (shard.path as NSString).lastPathComponent
            for tensor in shard.header.tensors {
                guard let mapped = expected[tensor.name] else {
                    throw SafetensorsError.indexMismatch(file: path, key: tensor.name, expected: "(not in weight_map)", found: name)
                }
                guard mapped == name else {
                    throw SafetensorsError.indexMismatch(file: path, key: tensor.name, expected: mapped, found: name)
                }
                found[tensor.name] = name
            }
        }
        for (key, file) in weightMap where found[key] == nil {
            throw SafetensorsError.indexMismatch(file: path, key: key, expected: file, found: "(absent)")
        }
    }
}
