/// HDF5 files (`*.h5`, `*.hdf5`, or anything with the HDF5 signature) as a checkpoint source.
///
/// Opening reads the root attributes and walks the file's links and dataset headers; no tensor
/// data is read until a writer or the forward asks for it (`HDF5Tensor`).
public enum HDF5CheckpointReader: CheckpointReader {
    /// `hdf5`.
    public static let format = ContainerFormat.hdf5

    /// File extensions taken as HDF5 even when the signature is missing (so a mislabelled file
    /// gets a clear "not an HDF5 file" rather than "unrecognised file type").
    static let extensions: Set<String> = ["h5", "hdf5", "he5"]
    /// The superblock signature, `\x89HDF\r\n\x1a\n`.
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// A file with an HDF5 extension or the HDF5 signature.
    public static func recognizes(_ probe: PathProbe) -> Bool {
        !probe.isDirectory && (extensions.contains(probe.pathExtension) || probe.magic == signature)
    }

    /// Opens the file read-only and checks every dataset's metadata (no tensor data is read).
    public static func open(_ probe: PathProbe) throws -> Checkpoint {
        let file = try HDF5File.open(probe.path)
        let metadata = try HDF5Metadata.read(from: file)
        let (stateDict, skipped) = try stateDict(of: file, metadata: metadata)
        var checkpoint = Checkpoint(path: probe.path, format: .hdf5, stateDict: stateDict, files: [probe.path], layoutHint: metadata.framework)
        checkpoint.configSources = metadata.configSources
        // The routing config the writer recorded is the most authoritative source.
        if let record = metadata.record { checkpoint.configSources.insert(record.configSource(file: probe.path), at: 0) }
        if skipped > 0 {
            checkpoint.notes.append("\(skipped) non-tensor object\(skipped == 1 ? "" : "s") under /\(HDF5Convention.objectsGroup) not read")
        }
        return checkpoint
    }

    /// Every dataset as a lazy tensor, in the order of `keys_json` when the file has one (which
    /// must then name exactly the keys the datasets carry), else in path order. Also returns how
    /// many objects under `/__objects__` were skipped.
    static func stateDict(of file: HDF5File, metadata: HDF5Metadata) throws -> (StateDict, skipped: Int) {
        let objectsPrefix = "/\(HDF5Convention.objectsGroup)"
        var infos: [String: HDF5DatasetInfo] = [:]
        var order: [String] = []
        var skipped = 0
        for path in try HDF5Links.hardLinks(in: file) {
            if path == objectsPrefix || path.hasPrefix(objectsPrefix + "/") {
                if path != objectsPrefix { skipped += 1 }
                continue
            }
            guard let info = try HDF5DatasetInfo.inspect(path, in: file, strict: metadata.isMoECkpt) else { continue }
            if let other = infos[info.key] {
                throw HDF5Error.duplicateKey(file: file.path, key: info.key, objects: [other.path, info.path])
            }
            infos[info.key] = info
            order.append(info.key)
        }
        if let keys = metadata.keys {
            let indexed = Set(keys)
            for key in order where !indexed.contains(key) {
                throw HDF5Error.unindexedKey(file: file.path, key: key, object: infos[key]?.path ?? "?")
            }
            for key in keys where infos[key] == nil { throw HDF5Error.missingKey(file: file.path, key: key) }
            order = keys
        }
        var dict = StateDict()
        for key in order {
            guard let info = infos[key] else { continue }
            try dict.add(TensorEntry(key: key, source: HDF5Tensor(file: file, info: info), file: file.path))
        }
        return (dict, skipped)
    }
}
