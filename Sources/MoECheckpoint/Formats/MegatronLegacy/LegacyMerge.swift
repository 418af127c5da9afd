/// Merges rank files' state dicts into one logical, globally numbered state dict.
///
/// The first rank's order is kept, and the other ranks' experts of each layer are spliced in
/// after the first rank's last expert of that layer, which is the order an EP=1 run writes.
struct LegacyMerge {
    /// `num_experts / EP` from `args`, when known.
    let localExperts: Int?

    /// One state dict entry with its global key.
    @dynamicMemberLookup
    struct Item {
        let entry: LegacyEntry
        /// The layer of a per-expert entry; `nil` for replicated entries.
        let expertLayer: Int?

        subscript<T>(dynamicMember path: KeyPath<LegacyEntry, T>) -> T { entry[keyPath: path] }
    }

    /// Items per rank file, in EP-rank order.
    private var ranks: [[Item]] = []

    init(localExperts: Int?) {
        self.localExperts = localExperts
    }

    /// Adds one EP rank's entries (its pipeline stages one after another, tensor-parallel shards
    /// already merged, layers already global), renumbering its experts globally.
    mutating func add(_ entries: [LegacyEntry], expertRank: Int) throws {
        let perLayer = try localExpertCounts(entries)
        var items: [Item] = []
        for entry in entries {
            guard let match = MegatronExpertKeys.match(entry.key) else {
                items.append(Item(entry: entry, expertLayer: nil))
                continue
            }
            let local = perLayer[match.layer ?? -1] ?? 1
            guard match.expert < local else {
                throw MegatronLegacyError.localExpertOutOfRange(file: entry.file, key: entry.key, expert: match.expert, localExperts: local)
            }
            items.append(Item(entry: entry.renamed(match.key(expert: expertRank * local + match.expert)), expertLayer: match.layer ?? -1))
        }
        ranks.append(items)
    }

    /// The merged tensors and non-tensor values (with their positions among the tensors).
    func merged() throws -> (tensors: [TensorEntry], objects: [PickledObjects.Entry]) {
        guard let base = ranks.first else { return ([], []) }
        var firstByKey: [String: Item] = [:]
        for item in base where item.expertLayer == nil { firstByKey[item.key] = item }
        var spliced: [Int: [Item]] = [:]
        var extra: [Item] = []
        for items in ranks.dropFirst() {
            for item in items {
                if let layer = item.expertLayer {
                    spliced[layer, default: []].append(item)
                } else if let first = firstByKey[item.key] {
                    try checkReplica(item, against: first)
                } else {
                    firstByKey[item.key] = item
                    extra.append(item)
                }
            }
        }
        var lastExpertOfLayer: [Int: Int] = [:]
        for (index, item) in base.enumerated() { if let layer = item.expertLayer { lastExpertOfLayer[layer] = index } }
        var ordered: [Item] = []
        for (index, item) in base.enumerated() {
            ordered.append(item)
            if let layer = item.expertLayer, lastExpertOfLayer[layer] == index { ordered += spliced.removeValue(forKey: layer) ?? [] }
        }
        ordered += spliced.sorted { $0.key < $1.key }.flatMap(\.value) + extra
        var tensors: [TensorEntry] = []
        var objects: [PickledObjects.Entry] = []
        for item in ordered {
            if let tensor = item.tensor {
                tensors.append(tensor)
            } else {
                objects.append(PickledObjects.Entry(key: item.key, value: item.value, position: tensors.count))
            }
        }
        return (tensors, objects)
    }

    /// A replicated tensor must have the same shape and dtype in every rank file.
    private func checkReplica(_ item: Item, against first: Item) throws {
        guard let tensor = item.tensor else { return }
        guard let original = first.tensor, original.shape == tensor.shape, original.dtype == tensor.dtype else {
            let expected = first.tensor.map { "\($0.dtype.rawValue) \(TensorShape.describe($0.shape))" } ?? first.value.kindName
            throw MegatronLegacyError.replicaMismatch(
                file: item.file, key: item.key, expected: expected,
                found: "\(tensor.dtype.rawValue) \(TensorShape.describe(tensor.shape))", otherFile: first.file)
        }
    }

    /// Local experts per layer in one file: `num_experts / EP` from args (checked against the
    /// file), or counted from the file's keys when args do not say.
    private func localExpertCounts(_ entries: [LegacyEntry]) throws -> [Int: Int] {
        var maxExpert: [Int: Int] = [:]
        var files: [Int: String] = [:]
        for entry in entries {
            guard let match = MegatronExpertKeys.match(entry.key) else { continue }
            maxExpert[match.layer ?? -1] = max(maxExpert[match.layer ?? -1] ?? 0, match.expert)
            files[match.layer ?? -1] = entry.file
        }
        var counts: [Int: Int] = [:]
        for (layer, highest) in maxExpert {
            if let localExperts {
                guard highest + 1 == localExperts else {
                    throw MegatronLegacyError.localExpertCount(file: files[layer] ?? "", layer: layer, expected: localExperts, found: highest + 1)
                }
                counts[layer] = localExperts
            } else {
                counts[layer] = highest + 1
            }
        }
        return counts
    }
}
