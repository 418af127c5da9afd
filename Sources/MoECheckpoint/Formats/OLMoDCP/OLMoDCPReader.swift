import Foundation

/// OLMo-core trainer checkpoints: a `stepN/` folder (`.metadata.json`, optional `config.json`,
/// `train/rank*.pt`, `model_and_optim/`) or the `model_and_optim/` DCP folder itself
/// (`layouts-olmo.md` §4).
///
/// The model's tensors keep their stored names (`model.blocks.{i}.…`), which the OLMo tables
/// read directly. Optimizer state (`optim.*`) and bytes items are not part of the model and are
/// only counted in the notes.
public enum OLMoDCPReader: CheckpointReader {
    public static let format = ContainerFormat.dcp

    static let modelFolder = "model_and_optim"
    static let stepMetadataName = ".metadata.json"
    static let configName = "config.json"
    static let modelPrefix = "model."

    public static func recognizes(_ probe: PathProbe) -> Bool {
        guard probe.isDirectory else { return false }
        if probe.entries.contains(modelFolder) {
            return DCPFolder.regularFileSize(((probe.path as NSString).appendingPathComponent(modelFolder) as NSString).appendingPathComponent(DCPFolder.metadataName)) != nil
        }
        // A bare DCP folder that is not Megatron's (which has metadata.json beside `.metadata`).
        return probe.entries.contains(DCPFolder.metadataName) && !probe.entries.contains(MegatronDistReader.configName)
    }

    public static func open(_ probe: PathProbe) throws -> Checkpoint {
        let bare = !probe.entries.contains(modelFolder)
        let dcpPath = bare ? probe.path : (probe.path as NSString).appendingPathComponent(modelFolder)
        let stepPath = bare ? (probe.path as NSString).deletingLastPathComponent : probe.path
        let dcp = try DCPFolder(path: dcpPath)
        var stateDict = StateDict()
        var skipped = 0
        var objects = 0
        for (fqn, item) in dcp.metadata.items {
            guard case .tensor = item else {
                objects += 1
                continue
            }
            guard fqn.hasPrefix(modelPrefix) else {
                skipped += 1
                continue
            }
            try stateDict.add(TensorEntry(key: fqn, source: try dcp.tensor(fqn), file: dcp.firstDataFile(fqn)))
        }
        var checkpoint = Checkpoint(path: probe.path, format: .dcp, stateDict: stateDict, files: [dcp.metadataPath], layoutHint: .olmo)
        let stepMetadata = ((stepPath.isEmpty ? "." : stepPath) as NSString).appendingPathComponent(stepMetadataName)
        if DCPFolder.regularFileSize(stepMetadata) != nil, let object = try MegatronDistReader.readJSON(stepMetadata).objectValue {
            checkpoint.files.append(stepMetadata)
            if let version = object["version"]?.stringValue { checkpoint.notes.append("written by OLMo-core \(version)") }
        }
        let configPath = ((stepPath.isEmpty ? "." : stepPath) as NSString).appendingPathComponent(configName)
        if DCPFolder.regularFileSize(configPath) != nil {
            guard let object = try MegatronDistReader.readJSON(configPath).objectValue else {
                throw ConfigError.invalid(file: configPath, path: "", reason: "expected a JSON object")
            }
            checkpoint.configSources.append(.olmo(file: configPath, config: object))
            checkpoint.files.append(configPath)
        }
        checkpoint.parallelism.expertParallel = expertParallel(dcp)
        if skipped > 0 { checkpoint.notes.append("\(skipped) optimizer tensors not read (weights only)") }
        if objects > 0 { checkpoint.notes.append("\(objects) non-tensor items not read") }
        return checkpoint
    }

    /// OLMo-core shards `w1/w2/w3` row-wise over the EP ranks: the number of row blocks of an
    /// expert tensor is the EP size it was saved with.
    static func expertParallel(_ dcp: DCPFolder) -> Int {
        let table = OLMoLayout.table(.dropless)
        for (fqn, info) in dcp.tensors where table.match(fqn)?.rule.experts == .stacked {
            return max(Set(info.chunks.map { $0.offsets.first ?? 0 }).count, 1)
        }
        return 1
    }
}
