import Foundation

/// Single `torch.save` files holding a state dict: `*.pt`, `*.pth`, `pytorch_model.bin`, and
/// training checkpoints whose model sits under `model` / `state_dict`.
public enum PTCheckpointReader: CheckpointReader {
    public static let format = ContainerFormat.pt
    /// File extensions torch.save files use.
    public static let extensions: Set<String> = ["pt", "pth", "bin"]
    /// `torch.load`'s own test for the zip format (`_is_zipfile`).
    static let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

    public static func recognizes(_ probe: PathProbe) -> Bool {
        !probe.isDirectory && extensions.contains(probe.pathExtension) && probe.magic.starts(with: zipMagic)
    }

    public static func open(_ probe: PathProbe) throws -> Checkpoint {
        let file = try TorchSaveFile(path: probe.path)
        let (dict, path) = try file.modelDict()
        let contents = try file.stateDict(dict, path: path)
        var checkpoint = Checkpoint(path: probe.path, format: .pt, stateDict: try StateDict(contents.tensors), files: [probe.path])
        checkpoint.pickledObjects.stateDict = positions(in: dict)
        if let root = file.root.dictValue {
            for (key, value) in root.items {
                guard let name = key.stringValue, name != path else { continue }
                checkpoint.pickledObjects.topLevel.append((name, value))
            }
            if let args = root["args"], let fields = try PickleJSON.fields(of: args) {
                checkpoint.configSources.append(.megatronArgs(file: probe.path, fields: fields))
                checkpoint.layoutHint = .megatron
            }
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

/// `--format pt`: one torch.save archive whose root is an `OrderedDict` of the state dict's
/// tensors (plus any non-tensor values the source carried, such as `_extra_state = None`).
/// Only tensors and containers go in, so `torch.load(weights_only=True)` accepts it.
public enum PTCheckpointWriter: CheckpointWriter {
    public static let format = ContainerFormat.pt
    public static let writesSingleFile = true
    /// The archive folder torch uses when it saves to a buffer; the final file name is not
    /// known here (writers write into a temporary sibling).
    static let archiveName = "archive"

    public static func write(_ request: WriteRequest, to path: String) throws {
        var storages = TorchSaveWriter.Storages()
        let dict = StateDictPickle.orderedDict(
            tensors: request.stateDict.entries, objects: request.pickledObjects.stateDict.filter { $0.value.isWeightsOnlySafe },
            storages: &storages)
        try TorchSaveWriter.write(.dict(dict), storages: storages, to: path, archiveName: archiveName, progress: request.progress)
    }
}

/// Builds the pickle value of a state dict from tensors and non-tensor values.
public enum StateDictPickle {
    /// An `OrderedDict` of `tensors` in order, each non-tensor value placed where its position says.
    public static func orderedDict(
        tensors: [TensorEntry], objects: [PickledObjects.Entry], storages: inout TorchSaveWriter.Storages
    ) -> PickleDict {
        let dict = PickleDict(ordered: true)
        var pending = objects.sorted { $0.position < $1.position }[...]
        for (index, entry) in tensors.enumerated() {
            while let next = pending.first, next.position <= index {
                dict.set(next.key, next.value)
                pending = pending.dropFirst()
            }
            dict.set(entry.key, storages.tensor(entry.source))
        }
        for object in pending { dict.set(object.key, object.value) }
        return dict
    }
}

extension PickleValue {
    /// Whether the value holds only what torch's weights-only loader accepts (no opaque objects).
    public var isWeightsOnlySafe: Bool {
        switch self {
        case .none, .bool, .int, .bigInt, .float, .string, .bytes, .tensor, .storage: return true
        case .global: return torchDType != nil
        case .tuple(let items), .frozenSet(let items): return items.allSatisfy(\.isWeightsOnlySafe)
        case .list(let list), .set(let list): return list.items.allSatisfy(\.isWeightsOnlySafe)
        case .dict(let dict): return dict.items.allSatisfy { $0.key.isWeightsOnlySafe && $0.value.isWeightsOnlySafe } && (dict.state?.isWeightsOnlySafe ?? true)
        case .reduce, .object: return false
        }
    }
}
