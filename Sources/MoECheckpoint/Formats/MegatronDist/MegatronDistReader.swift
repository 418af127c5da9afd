import Foundation

/// Megatron-Core torch_dist checkpoints: a save root (`latest_checkpointed_iteration.txt`) or an
/// `iter_*` folder holding `metadata.json`, `common.pt` (or 0.19's `common_state` item),
/// `.metadata` and `__{rank}_{k}.distcp` (`layouts-megatron.md` §4.2).
///
/// Opening reads `metadata.json`, `common.pt` and `.metadata` only. Tensors are presented per
/// layer (`MegatronDistKeys`): a layer-stacked tensor becomes one lazy slice per layer, which
/// reads only that layer's chunks.
public enum MegatronDistReader: CheckpointReader {
    public static let format = ContainerFormat.torchDist

    static let latestName = "latest_checkpointed_iteration.txt"
    static let configName = "metadata.json"
    static let commonName = "common.pt"
    /// Megatron-Core 0.19 saves the common state as this ShardedObject instead of `common.pt`.
    static let commonStateKey = "common_state/shard_0_1"

    public static func recognizes(_ probe: PathProbe) -> Bool {
        guard probe.isDirectory else { return false }
        return (try? iterationFolder(probe)).map { isTorchDist($0) } ?? false
    }

    /// The `iter_*` folder: the probe itself, or the one the save root's tracker names.
    static func iterationFolder(_ probe: PathProbe) throws -> String {
        guard probe.entries.contains(latestName) else { return probe.path }
        let tracker = (probe.path as NSString).appendingPathComponent(latestName)
        let text = try MappedFile(path: tracker).withAllBytes { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespacesAndNewlines)
        if text == "release" { return (probe.path as NSString).appendingPathComponent("release") }
        guard let iteration = Int(text), iteration >= 0 else {
            throw CheckpointError.unrecognized(path: tracker, reason: "expected an iteration number or 'release', found '\(text.prefix(40))'")
        }
        return (probe.path as NSString).appendingPathComponent(String(format: "iter_%07d", iteration))
    }

    static func isTorchDist(_ folder: String) -> Bool {
        let config = (folder as NSString).appendingPathComponent(configName)
        guard let object = try? readJSON(config).objectValue else { return false }
        return object["sharded_backend"]?.stringValue == "torch_dist"
    }

    static func readJSON(_ path: String) throws -> JSONValue {
        try MappedFile(path: path).withAllBytes { try JSONParser().parse($0) }
    }

    public static func open(_ probe: PathProbe) throws -> Checkpoint {
        let folder = try iterationFolder(probe)
        guard isTorchDist(folder) else {
            throw CheckpointError.unrecognized(path: folder, reason: "expected metadata.json with sharded_backend 'torch_dist'")
        }
        let dcp = try DCPFolder(path: folder)
        var files = [(folder as NSString).appendingPathComponent(configName), dcp.metadataPath]
        let common = try commonState(folder: folder, dcp: dcp)
        if let common { files.append(common.file) }
        let args = MegatronArgsPickle.fields(common?.state["args"])
        let renames = args?["transformer_impl"]?.stringValue != "transformer_engine"
        var stateDict = StateDict()
        var stacked = 0
        var objects = 0
        for (fqn, item) in dcp.metadata.items {
            guard case .tensor = item else {
                objects += 1
                continue
            }
            let tensor = try dcp.tensor(fqn)
            let file = dcp.firstDataFile(fqn)
            if let rest = MegatronDistKeys.stackedRest(fqn) {
                guard let count = tensor.shape.first else {
                    throw DCPError.invalidMetadata(file: dcp.metadataPath, path: fqn, expected: "a leading layer axis", found: "a 0-d tensor")
                }
                stacked += 1
                let name = renames ? MegatronDistKeys.perLayer(rest) : rest
                for layer in 0..<count {
                    try stateDict.add(TensorEntry(key: "\(MegatronDistKeys.layers)\(layer).\(name)", source: TensorSlice(base: tensor, leadingIndex: layer), file: file))
                }
            } else if let (layer, rest) = MegatronDistKeys.splitLayer(fqn) {
                let name = renames ? MegatronDistKeys.perLayer(rest) : rest
                try stateDict.add(TensorEntry(key: "\(MegatronDistKeys.layers)\(layer).\(name)", source: tensor, file: file))
            } else {
                try stateDict.add(TensorEntry(key: fqn, source: tensor, file: file))
            }
        }
        var checkpoint = Checkpoint(path: probe.path, format: .torchDist, stateDict: stateDict, files: files, layoutHint: .megatron)
        if let args, let common {
            checkpoint.configSources.append(.megatronArgs(file: common.file, fields: args))
            checkpoint.parallelism = Parallelism(
                expertParallel: args["expert_model_parallel_size"]?.intValue ?? 1,
                tensorParallel: args["tensor_model_parallel_size"]?.intValue ?? 1,
                pipelineParallel: args["pipeline_model_parallel_size"]?.intValue ?? 1)
        }
        if stacked > 0 { checkpoint.notes.append("\(stacked) tensors stack the layers on a leading axis; shown per layer") }
        if objects > 0 { checkpoint.notes.append("\(objects) sharded objects (_extra_state, not weights)") }
        return checkpoint
    }

    /// The non-sharded state: `common.pt`, or the `common_state` item (a list whose first element
    /// is the dict) of Megatron-Core 0.19.
    static func commonState(folder: String, dcp: DCPFolder) throws -> (file: String, state: PickleDict)? {
        let path = (folder as NSString).appendingPathComponent(commonName)
        if DCPFolder.regularFileSize(path) != nil {
            let save = try TorchSaveFile(path: path)
            guard let dict = save.root.dictValue else {
                throw TorchSaveError.notAStateDict(file: path, path: "", found: save.root.kindName)
            }
            return (path, dict)
        }
        guard dcp.metadata.item(commonStateKey) == .bytes else { return nil }
        let archive = try dcp.bytesItemArchive(commonStateKey)
        let save = try TorchSaveFile(archive: archive)
        guard let dict = save.root.sequenceItems?.first?.dictValue ?? save.root.dictValue else {
            throw TorchSaveError.notAStateDict(file: archive.label, path: commonStateKey, found: save.root.kindName)
        }
        return (archive.label, dict)
    }
}
