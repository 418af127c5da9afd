import Foundation

/// Megatron legacy checkpoints: a save root, an `iter_NNNNNNN/` folder, a rank folder or one
/// `model_optim_rng.pt` (`cli.md`, `layouts-megatron.md` §4.1).
///
/// Every rank file's `model` state dict is merged into one logical model, in three steps: the
/// tensor-parallel shards of each (PP, EP) rank are joined per parameter (`LegacyShardMerge`,
/// lazily), each pipeline stage's local layer numbers become global (`LegacyPipelineStages`), and
/// expert keys are renumbered from local to global (`global = ep_rank · E/EP + local`) while
/// replicated tensors (router, expert bias, shared experts, norms, attention) are checked
/// equal-shaped and taken once (`LegacyMerge`). Non-tensor values (`_extra_state`) are kept. The
/// sizes and MoE settings come from `args`. Only pickles and zip directories are read; no tensor bytes.
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
        let args = try firstRoot["args"].flatMap { try PickleJSON.fields(of: $0, source: first.label) }
        let sizes = try LegacyParallelSizes(args: args, files: layout, path: probe.path)
        if layout.isSingleFile, sizes.tensor > 1 || sizes.pipeline > 1 {
            throw MegatronLegacyError.unsupportedParallelism(
                path: probe.path,
                reason: "one rank file of a tensor parallel \(sizes.tensor) / pipeline parallel \(sizes.pipeline) checkpoint holds only part of the model; give the iteration folder")
        }
        try layout.assignRanks(sizes, checkComplete: !layout.isSingleFile)
        let numExperts = args?["num_experts"]?.intValue
        var merge = LegacyMerge(localExperts: numExperts.map { $0 / max(sizes.expert, 1) })
        let (stages, trainingState) = try readStages(layout, sizes: sizes, first: first)
        let pipeline = try pipelineStages(stages.first ?? [], args: args, folder: layout.iterationFolder)
        for (ep, epStages) in stages.enumerated() where !epStages.allSatisfy(\.isEmpty) {
            let entries = epStages.enumerated().flatMap { pp, entries in
                entries.map { entry in
                    LegacyPipelineStages.layer(of: entry.key).map { entry.renamed(LegacyPipelineStages.key(entry.key, layer: pipeline.offset(of: pp) + $0.index)) } ?? entry
                }
            }
            try merge.add(entries, expertRank: ep)
        }
        let (tensors, objects) = try merge.merged()
        var checkpoint = Checkpoint(
            path: probe.path, format: .legacy, stateDict: try StateDict(tensors), files: layout.files.map(\.path), layoutHint: .megatron)
        checkpoint.parallelism = Parallelism(expertParallel: sizes.expert, tensorParallel: sizes.tensor, pipelineParallel: sizes.pipeline)
        if let args { checkpoint.configSources.append(.megatronArgs(file: layout.files[0].path, fields: args)) }
        checkpoint.pickledObjects.stateDict = objects
        for (key, value) in firstRoot.items {
            guard let name = key.stringValue, name != "model", !trainingStateKeys.contains(name) else { continue }
            checkpoint.pickledObjects.topLevel.append((name, value))
        }
        checkpoint.notes += notes(layout: layout, expertParallel: sizes.expert, optimizerFiles: trainingState.optimizer, rngFiles: trainingState.rng)
        return checkpoint
    }

    /// `stages[ep][pp]`: each stage's entries with its tensor-parallel shards merged and its layers
    /// still local; and how many rank files carry optimizer and RNG state.
    static func readStages(
        _ layout: LegacyRankFiles, sizes: LegacyParallelSizes, first: TorchSaveFile
    ) throws -> (stages: [[[LegacyEntry]]], trainingState: (optimizer: Int, rng: Int)) {
        var stages = Array(repeating: Array(repeating: [LegacyEntry](), count: sizes.pipeline), count: sizes.expert)
        var optimizer = 0, rng = 0
        for ep in 0..<sizes.expert {
            for pp in 0..<sizes.pipeline {
                var shards: [[LegacyEntry]] = []
                for rankFile in layout.files.filter({ $0.expertRank == ep && $0.pipelineRank == pp }).sorted(by: { $0.tensorRank < $1.tensorRank }) {
                    let file = rankFile.path == first.archive.file.path ? first : try TorchSaveFile(path: rankFile.path)
                    let root = try rootDict(file)
                    guard let model = root["model"]?.dictValue else {
                        throw MegatronLegacyError.missingModel(file: rankFile.path, found: root["model"]?.kindName ?? "no 'model' key")
                    }
                    shards.append(LegacyEntry.entries(of: try file.stateDict(model, path: "model"), file: rankFile.path))
                    if root["optimizer"] != nil { optimizer += 1 }
                    if root["rng_state"] != nil { rng += 1 }
                }
                stages[ep][pp] = try LegacyShardMerge.merge(shards, glu: sizes.glu)
            }
        }
        return (stages, (optimizer, rng))
    }

    /// The layers each pipeline stage holds, counted from its keys, checked against `num_layers`.
    static func pipelineStages(_ stages: [[LegacyEntry]], args: JSONObject?, folder: String) throws -> LegacyPipelineStages {
        let counts = stages.map { LegacyPipelineStages.layerCount($0.map(\.key)) }
        if counts.count > 1, let layers = args?["num_layers"]?.intValue, counts.reduce(0, +) != layers {
            throw MegatronLegacyError.pipelineLayerCount(folder: folder, expected: layers, found: counts)
        }
        return LegacyPipelineStages(counts: counts)
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
