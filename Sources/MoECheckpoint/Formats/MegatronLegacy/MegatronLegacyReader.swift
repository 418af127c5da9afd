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
        let args = try firstRoot["args"].flatMap { try PickleJSON.fields(of: $0, source: first.label) }
        let tensorParallel = args?["tensor_model_parallel_size"]?.intValue ?? 1
        let pipelineParallel = args?["pipeline_model_parallel_size"]?.intValue ?? (layout.suffixCount == 3 ? 2 : 1)
        let expertParallel = args?["expert_model_parallel_size"]?.intValue ?? max(layout.lastSuffixValues.count, 1)
        guard tensorParallel == 1, pipelineParallel == 1, layout.files.allSatisfy({ $0.tensorRank == 0 }) else {
            throw MegatronLegacyError.unsupportedParallelism(path: probe.path, tensorParallel: tensorParallel, pipelineParallel: pipelineParallel)
        }
        try layout.assignRanks(pipelineParallel: pipelineParallel, expertParallel: expertParallel, checkComplete: !layout.isSingleFile)
        let numExperts = args?["num_experts"]?.intValue
        var merge = LegacyMerge(localExperts: numExperts.map { $0 / max(expertParallel, 1) })
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
