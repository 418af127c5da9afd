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
