import Foundation

/// Single `torch.save` files holding a state dict: `*.pt`, `*.pth`, `pytorch_model.bin`, and
/// training checkpoints whose model sits under `model` / `state_dict`.
public enum PTCheckpointReader: CheckpointReader {
    public static let format = ContainerFormat.pt
    /// File extensions torch.save files use.
    public static let extensions: Set<String> = ["pt", "pth", "bin"]
    /// `torch.load`'s own test for the zip format (`_is_zipfile`).
    static let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    /// A routing record is a few hundred bytes; more is not ours.
    static let maxRecordBytes = 1 << 16

    public static func recognizes(_ probe: PathProbe) -> Bool {
        !probe.isDirectory && extensions.contains(probe.pathExtension) && probe.magic.starts(with: zipMagic)
    }

    public static func open(_ probe: PathProbe) throws -> Checkpoint {
        try checkpoint(of: TorchSaveFile(path: probe.path), path: probe.path)
    }

    /// The checkpoint an opened archive holds (the fuzz target opens archives from memory).
    static func checkpoint(of file: TorchSaveFile, path: String) throws -> Checkpoint {
        let (dict, dictPath) = try file.modelDict()
        let contents = try file.stateDict(dict, path: dictPath)
        var checkpoint = Checkpoint(path: path, format: .pt, stateDict: try StateDict(contents.tensors), files: [path])
        checkpoint.pickledObjects.stateDict = positions(in: dict)
        if let root = file.root.dictValue {
            for (key, value) in root.items {
                guard let name = key.stringValue, name != dictPath else { continue }
                checkpoint.pickledObjects.topLevel.append((name, value))
            }
            if let args = root["args"], let fields = try PickleJSON.fields(of: args, source: path) {
                checkpoint.configSources.append(.megatronArgs(file: path, fields: fields))
                checkpoint.layoutHint = .megatron
            }
        }
        if let entry = file.archive.entry(RoutingRecord.zipRecordName) {
            let record = try RoutingRecord(zipRecord: file.archive.readRecord(entry, limit: maxRecordBytes), file: path)
            checkpoint.configSources.insert(record.configSource(file: path + ":" + RoutingRecord.zipRecordName), at: 0)
        }
        if !contents.objects.isEmpty {
            checkpoint.notes.append("\(contents.objects.count) non-tensor value(s) in the state dict kept as they are")
        }
        return checkpoint
    }

    /// The non-tensor values of a state dict with the number of tensors before each.
    static func positions(in dict: PickleDict) -> [PickledObjects.Entry] {
        var entries: [PickledObjects.Entry] = []
        var tensors = 0
        for (key, value) in dict.items {
            if value.tensorValue != nil {
                tensors += 1
            } else if let name = key.stringValue {
                entries.append(PickledObjects.Entry(key: name, value: value, position: tensors))
            }
        }
        return entries
    }
}
