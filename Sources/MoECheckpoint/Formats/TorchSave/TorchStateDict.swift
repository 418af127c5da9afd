/// The tensors of one state dict inside a torch.save pickle, and the values beside them that
/// are not tensors (`_extra_state` = `None`, scalars), kept as they are.
public struct TorchStateDict: Sendable {
    /// Lazy tensors, in dict order.
    public var tensors: [TensorEntry]
    /// Non-tensor values, in dict order.
    public var objects: [(key: String, value: PickleValue)]
    /// The dict they came from (its `_metadata` state, its order).
    public let dict: PickleDict

    /// Keys whose values are not tensors.
    public var objectKeys: [String] { objects.map(\.key) }
}

extension TorchSaveFile {
    /// The keys under which checkpoints nest their model state dict (Megatron: `model`).
    public static let nestedStateDictKeys = ["model", "state_dict", "module"]

    /// The dict holding the model's tensors: the root itself, or its `model` / `state_dict` entry
    /// when the root is a training checkpoint. Returns the dict and its path for messages.
    public func modelDict() throws -> (dict: PickleDict, path: String) {
        guard let root = root.dictValue else { throw TorchSaveError.notAStateDict(file: label, path: "", found: self.root.kindName) }
        for key in Self.nestedStateDictKeys {
            if let nested = root[key]?.dictValue, nested.items.contains(where: { $0.value.tensorValue != nil }) {
                return (nested, key)
            }
        }
        return (root, "")
    }

    /// Splits `dict` into lazy tensors and opaque values. `file` names the tensors' file in the
    /// state dict entries.
    public func stateDict(_ dict: PickleDict, path: String) throws -> TorchStateDict {
        var tensors: [TensorEntry] = []
        var objects: [(key: String, value: PickleValue)] = []
        for (key, value) in dict.items {
            guard let name = key.stringValue else { throw TorchSaveError.invalidKey(file: label, path: path, found: key.kindName) }
            if let tensor = value.tensorValue {
                tensors.append(TensorEntry(key: name, source: try source(for: tensor, key: name), file: archive.file.path))
            } else {
                objects.append((name, value))
            }
        }
        return TorchStateDict(tensors: tensors, objects: objects, dict: dict)
    }
}
