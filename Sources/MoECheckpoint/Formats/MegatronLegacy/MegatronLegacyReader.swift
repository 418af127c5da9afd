import Foundation

/// Megatron legacy checkpoints: a save root, an `iter_NNNNNNN/` folder, a rank folder or one
/// `model_optim_rng.pt` (`cli.md`, `layouts-megatron.md` §4.1).
///
/// Every rank file's `model` state dict is merged into one logical model: expert keys are
/// renumbered from local to global (`global = ep_rank · E/EP + local`), replicated tensors
/// (router, expert bias, shared experts, norms, attention) are checked equal-shaped and taken
/// once, and non-tensor values (`_extra_state`) are kept. The MoE settings come from `args`.
/// Only pickles and zip directories are read; no tensor bytes.
public enum MegatronLegacyReader: CheckpointReader {
    public static let format = ContainerFormat.legacy

    /// Top-level keys that hold training state rather than the model; `inspect` lists them and
    /// `convert` drops them.
    static let trainingStateKeys = ["optimizer", "opt_param_scheduler", "rng_state"]

    public static func recognizes(_ probe: PathProbe) -> Bool {
        LegacyRankFiles.looksLikeLegacy(probe)
    }

    public static func open(_ probe: PathProbe) throws -> Checkpoint {
        var layout = try LegacyRankFiles(path: probe.path)
        let first = try TorchSaveFile(path: layout.files[0].path)
        let firstRoot = try rootDict(first)
        let args = try firstRoot["args"].flatMap { try PickleJSON.fields(of: $0) }
        let tensorParallel = args?["tensor_model_parallel_size"]?.intValue ?? 1
        let pipelineParallel = args?["pipeline_model_parallel_size"]?.intValue ?? (layout.suffixCount == 3 ? 2 : 1)
        let expertParallel = args?["expert_model_parallel_size"]?.intValue ?? max(layout.lastSuffixValues.count, 1)
        guard tensorParallel == 1, pipelineParallel == 1, layout.files.allSatisfy({ $0.tensorRank == 0 }) else {
            throw MegatronLegacyError.unsupportedParallelism(path: probe.path, tensorParallel: tensorParallel, pipelineParallel: pipelineParallel)
        }
        try layout.assignRanks(pipelineParallel: pipelineParallel, expertParallel: expertParallel, checkComplete: !layout.isSingleFile)
        let numExperts = args?["num_experts"]?.intValue
        var merge = LegacyMerge(expertParallel: expertParallel, localExperts: numExperts.map { $0 / max(expertParallel, 1) })
        var optimizerFiles = 0
        var rngFiles = 0
        for rankFile in layout.files.sorted(by: { $0.expertRank < $1.expertRank }) {
            let file = rankFile.path == first.archive.file.path ? first : try TorchSaveFile(path: rankFile.path)
            let root = try rootDict(file)
            guard let model = root["model"]?.dictValue else {
                throw MegatronLegacyError.missingModel(file: rankFile.path, found: root["model"]?.kindName ?? "no 'model' key")
            }
            try merge.add(try file.stateDict(model, path: "model"), file: rankFile.path, expertRank: rankFile.expertRank)
            if root["optimizer"] != nil { optimizerFiles += 1 }
            if root["rng_state"] != nil { rngFiles += 1 }
        }
        let (tensors, objects) = try merge.merged()
        var checkpoint = Checkpoint(
            path: probe.path, format: .legacy, stateDict: try StateDict(tensors), files: layout.files.map(\.path), layoutHint: .megatron)
        checkpoint.parallelism = Parallelism(expertParallel: expertParallel, tensorParallel: tensorParallel, pipelineParallel: pipelineParallel)
        if let args { checkpoint.configSources.append(.megatronArgs(file: layout.files[0].path, fields: args)) }
        checkpoint.pickledObjects.stateDict = objects
        for (key, value) in firstRoot.items {
            guard let name = key.stringValue, name != "model", !trainingStateKeys.contains(name) else { continue }
            checkpoint.pickledObjects.topLevel.append((name, value))
        }
        checkpoint.notes += notes(layout: layout, expertParallel: expertParallel, optimizerFiles: optimizerFiles, rngFiles: rngFiles)
        return checkpoint
    }

    /// The root dict of a rank file.
    static func rootDict(_ file: TorchSaveFile) throws -> PickleDict {
        guard let root = file.root.dictValue else { throw MegatronLegacyError.missingModel(file: file.label, found: file.root.kindName) }
        return root
    }

    static func notes(layout: LegacyRankFiles, expertParallel: Int, optimizerFiles: Int, rngFiles: Int) -> [String] {
        var notes: [String] = []
        if optimizerFiles > 0 {
            notes.append("optimizer state in \(optimizerFiles) rank file(s) ('optimizer', 'opt_param_scheduler'): convert does not carry it")
        }
        let distributed = layout.files.filter {
            FileManager.default.fileExists(atPath: (($0.path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("distrib_optim.pt"))
        }
        if !distributed.isEmpty {
            notes.append("distributed optimizer state (distrib_optim.pt) in \(distributed.count) rank folder(s): convert does not carry it")
        }
        if rngFiles > 0 { notes.append("RNG state in \(rngFiles) rank file(s): convert does not carry it") }
        if layout.isSingleFile && expertParallel > 1 {
            notes.append("only EP rank \(layout.files[0].expertRank) of \(expertParallel) was read (one rank file given)")
        }
        return notes
    }
}

/// Merges rank files' state dicts into one logical, globally numbered state dict.
///
/// The first rank's order is kept, and the other ranks' experts of each layer are spliced in
/// after the first rank's last expert of that layer, which is the order an EP=1 run writes.
struct LegacyMerge {
    let expertParallel: Int
    /// `num_experts / EP` from `args`, when known.
    let localExperts: Int?

    /// One state dict entry with its global key.
    struct Item {
        let key: String
        /// The tensor, or `nil` for a non-tensor value.
        let tensor: TensorEntry?
        let value: PickleValue
        /// The layer of a per-expert entry; `nil` for replicated entries.
        let expertLayer: Int?
        let file: String
    }

    /// Items per rank file, in EP-rank order.
    private var ranks: [[Item]] = []

    init(expertParallel: Int, localExperts: Int?) {
        self.expertParallel = expertParallel
        self.localExperts = localExperts
    }

    /// Adds one rank file's state dict (in its dict order), renumbering its experts globally.
    mutating func add(_ contents: TorchStateDict, file: String, expertRank: Int) throws {
        let perLayer = try localExpertCounts(contents.dict, file: file)
        var items: [Item] = []
        var tensorIndex = 0
        for (key, value) in contents.dict.items {
            guard let name = key.stringValue else { continue }
            var tensor: TensorEntry?
            if value.tensorValue != nil {
                tensor = contents.tensors[tensorIndex]
                tensorIndex += 1
            }
            guard let match = MegatronExpertKeys.match(name) else {
                items.append(Item(key: name, tensor: tensor, value: value, expertLayer: nil, file: file))
                continue
            }
            let local = perLayer[match.layer ?? -1] ?? 1
            guard match.expert < local else {
                throw MegatronLegacyError.localExpertOutOfRange(file: file, key: name, expert: match.expert, localExperts: local)
            }
            let global = match.key(expert: expertRank * local + match.expert)
            items.append(Item(
                key: global, tensor: tensor.map { TensorEntry(key: global, source: $0.source, file: $0.file) }, value: value,
                expertLayer: match.layer ?? -1, file: file))
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
    private func localExpertCounts(_ dict: PickleDict, file: String) throws -> [Int: Int] {
        var maxExpert: [Int: Int] = [:]
        for (key, _) in dict.items {
            guard let name = key.stringValue, let match = MegatronExpertKeys.match(name) else { continue }
            maxExpert[match.layer ?? -1] = max(maxExpert[match.layer ?? -1] ?? 0, match.expert)
        }
        var counts: [Int: Int] = [:]
        for (layer, highest) in maxExpert {
            if let localExperts {
                guard highest + 1 == localExperts else {
                    throw MegatronLegacyError.localExpertCount(file: file, layer: layer, expected: localExperts, found: highest + 1)
                }
                counts[layer] = localExperts
            } else {
                counts[layer] = highest + 1
            }
        }
        return counts
    }
}
