import Foundation

/// What a reader may look at to recognise its format: names and magic bytes, never tensors.
public struct PathProbe: Sendable {
    public let path: String
    public let isDirectory: Bool
    /// File names in the folder (empty for a file).
    public let entries: Set<String>
    /// The first bytes of the file (empty for a folder).
    public let magic: [UInt8]

    init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: path)
        }
        self.path = path
        self.isDirectory = isDirectory.boolValue
        if isDirectory.boolValue {
            entries = Set((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            magic = []
        } else {
            entries = []
            let handle = FileHandle(forReadingAtPath: path)
            magic = handle.map { [UInt8]((try? $0.read(upToCount: 8)) ?? Data()) } ?? []
            try? handle?.close()
        }
    }

    /// The file's extension, lowercased.
    public var pathExtension: String { (path as NSString).pathExtension.lowercased() }
}

/// A container reader. Each format folder provides one; `CheckpointReaders.all` lists them.
public protocol CheckpointReader: Sendable {
    /// The format this reader produces.
    static var format: ContainerFormat { get }
    /// Whether `probe` looks like this format.
    static func recognizes(_ probe: PathProbe) -> Bool
    /// Opens the checkpoint, reading metadata only.
    static func open(_ probe: PathProbe) throws -> Checkpoint
}

/// The registry of readers, asked in order.
public enum CheckpointReaders {
    /// Every reader this build has.
    public static let all: [any CheckpointReader.Type] = [
        MegatronDistReader.self,
        OLMoDCPReader.self,
        // Legacy first: its rank files are also `.pt` files.
        MegatronLegacyReader.self,
        SafetensorsCheckpointReader.self,
        HDF5CheckpointReader.self,
        PTCheckpointReader.self,
    ]

    /// Opens whatever checkpoint is at `path`.
    public static func open(_ path: String) throws -> Checkpoint {
        let probe = try PathProbe(path: path)
        for reader in all where reader.recognizes(probe) {
            return try reader.open(probe)
        }
        let what = probe.isDirectory ? "folder holds no safetensors, torch_dist, legacy or DCP checkpoint" : "unrecognised file type"
        throw CheckpointError.unrecognized(path: path, reason: what)
    }
}

/// Safetensors files and folders, with the `config.json` beside them.
public enum SafetensorsCheckpointReader: CheckpointReader {
    public static let format = ContainerFormat.safetensors

    public static func recognizes(_ probe: PathProbe) -> Bool {
        if probe.isDirectory {
            return probe.entries.contains(SafetensorsFolder.indexName) || probe.entries.contains { $0.hasSuffix(".safetensors") }
        }
        return probe.pathExtension == "safetensors"
    }

    public static func open(_ probe: PathProbe) throws -> Checkpoint {
        let folder: String
        var checkpoint: Checkpoint
        if probe.isDirectory {
            folder = probe.path
            let shards = try SafetensorsFolder(folder: probe.path)
            checkpoint = Checkpoint(
                path: probe.path, format: .safetensors, stateDict: try shards.stateDict(),
                files: shards.shards.map(\.path) + (shards.indexPath.map { [$0] } ?? []))
            if let first = shards.shards.first { checkpoint.configSources += try recordedConfig(first) }
        } else {
            folder = (probe.path as NSString).deletingLastPathComponent
            let file = try SafetensorsFile(path: probe.path)
            checkpoint = Checkpoint(path: probe.path, format: .safetensors, stateDict: try StateDict(file.entries()), files: [probe.path])
            checkpoint.configSources += try recordedConfig(file)
        }
        let configPath = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: configPath) {
            checkpoint.configSources.append(.hf(file: configPath, config: try HFConfig.load(path: configPath)))
            checkpoint.files.append(configPath)
        }
        return checkpoint
    }

    /// The routing config moe-ckpt recorded in the header's `__metadata__`, if any.
    static func recordedConfig(_ file: SafetensorsFile) throws -> [ConfigSource] {
        try RoutingRecord(metadata: file.header.metadata, file: file.path).map { [$0.configSource(file: file.path)] } ?? []
    }
}
