import Foundation

/// `--to megatron --format legacy [--tp T] [--pp P] [--ep N]`: `latest_checkpointed_iteration.txt`
/// and `iter_NNNNNNN/mp_rank_TT[_PPP][_EEE]/model_optim_rng.pt`, one file per rank, as
/// Megatron-LM's `save_checkpoint` writes them with `--ckpt-format torch --no-save-optim
/// --no-save-rng`.
///
/// Each file gets its pipeline stage's layers (numbered locally, `LegacyPipelineStages`), its EP
/// rank's experts (numbered locally, `global − ep_rank · E/EP`), its tensor-parallel shard of every
/// split tensor (`MegatronTensorParallel`, read lazily from the full tensor) and a copy of every
/// replicated one. Files are written one after another, so memory stays bounded by the largest
/// tensor. `args` is carried from the source (parallel sizes and format updated) or built from the
/// routing config. Optimizer and RNG state are never written.
public enum MegatronLegacyWriter: CheckpointWriter {
    public static let format = ContainerFormat.legacy
    public static let writesSingleFile = false
    /// `checkpoint_version` of Megatron-LM's legacy checkpoints.
    static let checkpointVersion = 3.0
    /// The archive folder inside each rank file (torch uses the file stem).
    static let archiveName = "model_optim_rng"

    public static func write(_ request: WriteRequest, to path: String) throws {
        let parallel = request.parallelism
        let layout = try request.table.map { try LayoutResolver.resolve(request.stateDict, with: $0) }
        var experts: [Int: Int] = [:]
        for layer in layout?.layers ?? [] {
            guard layer.dims.numExperts % parallel.expertParallel == 0 else {
                throw ConvertError.expertParallelMismatch(experts: layer.dims.numExperts, ep: parallel.expertParallel, layer: layer.layer)
            }
            experts[layer.layer] = layer.dims.numExperts
        }
        let objects = request.pickledObjects
        let iteration = objects[topLevel: "iteration"]?.intValue ?? 1
        let layers = LegacyPipelineStages.layerCount(request.stateDict.keys)
        guard let stages = LegacyPipelineStages(layers: layers, stages: parallel.pipelineParallel) else {
            throw ConvertError.parallelMismatch(
                option: "--pp", size: parallel.pipelineParallel, reason: "\(layers) decoder layers cannot give every stage at least one")
        }
        let args = try MegatronNamespace.forWriting(
            source: objects[topLevel: "args"], moe: request.moe, layout: layout, parallelism: parallel,
            lastStageLayers: stages.lastStageLayers, layers: layers > 0 ? layers : nil,
            paramsDType: layout?.layers.first?.tensor(for: .routerWeight)?.entry.dtype, heads: request.attentionHeads)
        let argsFields = try PickleJSON.fields(of: args)
        let sizes = LegacyParallelSizes(
            tensor: parallel.tensorParallel, pipeline: parallel.pipelineParallel, expert: parallel.expertParallel,
            glu: argsFields?["swiglu"]?.boolValue == true || argsFields?["quick_geglu"]?.boolValue == true)
        let splits = try tensorParallelSplits(request.stateDict.entries, args: argsFields, sizes: sizes)
        let iterationFolder = (path as NSString).appendingPathComponent(String(format: "iter_%07d", iteration))
        let scope = request.scope
        try FileManager.default.createDirectory(atPath: iterationFolder, withIntermediateDirectories: true)
        try scope.sharedFile(Array(String(iteration).utf8), to: (path as NSString).appendingPathComponent(LegacyRankFiles.trackerName))
        var counted = Set<Int>()
        for tp in 0..<sizes.tensor {
            for pp in 0..<sizes.pipeline {
                for ep in 0..<sizes.expert {
                    let rank = Rank(tensor: tp, pipeline: pp, expert: ep, sizes: sizes, stages: stages, experts: experts)
                    let (tensors, sourceIndices, rankObjects) = try rank.slice(request.stateDict.entries, objects.stateDict, splits: splits)
                    var storages = TorchSaveWriter.Storages()
                    let model = StateDictPickle.orderedDict(tensors: tensors, objects: rankObjects, storages: &storages)
                    let root = PickleDict()
                    root.set("args", args)
                    root.set("checkpoint_version", .double(checkpointVersion))
                    root.set("iteration", .integer(iteration))
                    root.set("model", .dict(model))
                    root.set("num_floating_point_operations_so_far", objects[topLevel: "num_floating_point_operations_so_far"] ?? .integer(0))
                    let folder = (iterationFolder as NSString).appendingPathComponent(
                        LegacyRankFiles.folderName(tensorRank: tp, pipelineRank: pp, expertRank: ep, sizes: sizes))
                    try scope.makeDirectory(folder)
                    let output = try scope.dataFile((folder as NSString).appendingPathComponent(LegacyRankFiles.fileName))
                    try TorchSaveWriter.write(.dict(root), storages: storages, into: output, archiveName: archiveName)
                    // Progress counts each source tensor once, when the first rank holding (part of) it is written.
                    let fresh = sourceIndices.filter { counted.insert($0).inserted }
                    if !output.isCounting {
                        request.progress?.advance(by: fresh.reduce(0) { $0 + request.stateDict.entries[$1].source.byteCount })
                    }
                }
            }
        }
    }

    /// The split of every tensor under `--tp`, checked before anything is written: a key with no
    /// known split, a dimension `--tp` does not divide, or attention heads it does not divide fail.
    static func tensorParallelSplits(_ entries: [TensorEntry], args: JSONObject?, sizes: LegacyParallelSizes) throws -> [String: TensorParallelSplit] {
        guard sizes.tensor > 1 else { return [:] }
        // Attention is split by heads, or by query groups with GQA (`num_query_groups` is unused without it).
        let fields = ["num_attention_heads"] + (args?["group_query_attention"]?.boolValue == true ? ["num_query_groups"] : [])
        for field in fields {
            if let count = args?[field]?.intValue, count % sizes.tensor != 0 {
                throw ConvertError.parallelMismatch(option: "--tp", size: sizes.tensor, reason: "\(field) \(count) (args) does not divide by it")
            }
        }
        var splits: [String: TensorParallelSplit] = [:]
        for entry in entries {
            guard let split = MegatronTensorParallel.split(of: entry.key, glu: sizes.glu) else {
                throw ConvertError.unsupportedTarget(
                    layout: .megatron, format: .legacy, reason: "tensor '\(entry.key)': no known tensor-parallel split for --tp \(sizes.tensor)")
            }
            do {
                _ = try split.blocks(fullShape: entry.shape, dtype: entry.dtype, tp: sizes.tensor)
            } catch let error as TensorParallelSplit.Indivisible {
                throw ConvertError.parallelMismatch(
                    option: "--tp", size: sizes.tensor,
                    reason: "tensor '\(entry.key)' \(TensorShape.describe(entry.shape)): \(error.what) (\(error.size)) does not divide by it")
            }
            splits[entry.key] = split
        }
        return splits
    }

    /// One rank file: which entries it holds and under which keys.
    struct Rank {
        let tensor: Int
        let pipeline: Int
        let expert: Int
        let sizes: LegacyParallelSizes
        let stages: LegacyPipelineStages
        /// Experts per MoE layer (global layer numbers).
        let experts: [Int: Int]

        /// The key of global `key` in this rank's file, or `nil` when another rank holds it: EP
        /// renumbers experts (by global layer), then PP renumbers layers.
        func localKey(_ key: String) throws -> String? {
            var key = key
            if sizes.expert > 1, let match = MegatronExpertKeys.match(key) {
                guard let total = experts[match.layer ?? -1] else {
                    throw ConvertError.unsupportedTarget(layout: .megatron, format: .legacy, reason: "cannot tell the expert count of '\(key)'")
                }
                let local = total / sizes.expert
                guard match.expert / local == expert else { return nil }
                key = match.key(expert: match.expert % local)
            }
            guard let (stage, staged) = stages.place(key), stage == pipeline else { return nil }
            return staged
        }

        /// What this rank holds, with the non-tensor values placed where they were among the tensors.
        func slice(
            _ tensors: [TensorEntry], _ objects: [PickledObjects.Entry], splits: [String: TensorParallelSplit]
        ) throws -> (tensors: [TensorEntry], sourceIndices: [Int], objects: [PickledObjects.Entry]) {
            var outTensors: [TensorEntry] = []
            var sourceIndices: [Int] = []
            var outObjects: [PickledObjects.Entry] = []
            var pending = objects.sorted { $0.position < $1.position }[...]
            func flushObjects(upTo position: Int) throws {
                while let next = pending.first, next.position <= position {
                    pending = pending.dropFirst()
                    if let key = try localKey(next.key) {
                        outObjects.append(PickledObjects.Entry(key: key, value: next.value, position: outTensors.count))
                    }
                }
            }
            for (index, entry) in tensors.enumerated() {
                try flushObjects(upTo: index)
                guard let key = try localKey(entry.key) else { continue }
                let source = try splits[entry.key].map { try $0.shard(entry.source, rank: tensor, tp: sizes.tensor) } ?? entry.source
                outTensors.append(TensorEntry(key: key, source: source, file: entry.file))
                sourceIndices.append(index)
            }
            try flushObjects(upTo: Int.max)
            return (outTensors, sourceIndices, outObjects)
        }
    }
}
