/// One entry of a rank file's `model` dict, in dict order: a tensor or a non-tensor value
/// (`_extra_state`). The TP merge, the PP renumbering and the EP merge all pass these along,
/// so the merged state dict keeps the order an unsplit run writes.
struct LegacyEntry {
    let key: String
    /// The tensor, or `nil` for a non-tensor value.
    let tensor: TensorEntry?
    let value: PickleValue
    let file: String

    /// The same entry under another key (and, when given, with other tensor bytes).
    func renamed(_ key: String, source: (any TensorSource)? = nil) -> LegacyEntry {
        let tensor = self.tensor.map { TensorEntry(key: key, source: source ?? $0.source, file: $0.file) }
        return LegacyEntry(key: key, tensor: tensor, value: value, file: file)
    }

    /// A rank file's `model` dict as entries.
    static func entries(of contents: TorchStateDict, file: String) -> [LegacyEntry] {
        var out: [LegacyEntry] = []
        var tensorIndex = 0
        for (key, value) in contents.dict.items {
            guard let name = key.stringValue else { continue }
            var tensor: TensorEntry?
            if value.tensorValue != nil {
                tensor = contents.tensors[tensorIndex]
                tensorIndex += 1
            }
            out.append(LegacyEntry(key: name, tensor: tensor, value: value, file: file))
        }
        return out
    }
}
