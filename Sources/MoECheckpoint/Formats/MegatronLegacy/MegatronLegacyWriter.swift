import Foundation

/// `--to megatron --format legacy [--ep N]`: `latest_checkpointed_iteration.txt` and
/// `iter_NNNNNNN/mp_rank_00[_EEE]/model_optim_rng.pt`, one file per EP rank, as Megatron-LM's
/// `save_checkpoint` writes them with `--ckpt-format torch --no-save-optim --no-save-rng`.
///
/// Each rank gets its experts with local numbering (`local = global − ep_rank · E/EP`) and a
/// copy of every replicated tensor; `args` is carried from the source (EP and format updated)
/// or built from the routing config. Optimizer and RNG state are never written.
public enum MegatronLegacyWriter: CheckpointWriter {
    public static let format = ContainerFormat.legacy
    public static let writesSingleFile = false
    /// `checkpoint_version` of Megatron-LM's legacy checkpoints.
    static let checkpointVersion = 3.0
    /// The archive folder inside each rank file (torch uses the file stem).
    static let archiveName = "model_optim_rng"

    public static func write(_ request: WriteRequest, to path: String) throws {
        let ep = request.parallelism.expertParallel
        guard request.parallelism.tensorParallel == 1, request.parallelism.pipelineParallel == 1 else {
            throw ConvertError.unsupportedTarget(layout: .megatron, format: .legacy, reason: "only TP=1, PP=1 legacy output is supported")
        }
        let layout = try request.table.map { try LayoutResolver.resolve(request.stateDict, with: $0) }
        var experts: [Int: Int] = [:]
        for layer in layout?.layers ?? [] {
            guard layer.dims.numExperts % ep == 0 else {
                throw ConvertError.expertParallelMismatch(experts: layer.dims.numExperts, ep: ep, layer: layer.layer)
            }
            experts[layer.layer] = layer.dims.numExperts
        }
        let objects = request.pickledObjects
        let iteration = objects[topLevel: "iteration"]?.intValue ?? 1
        let args = try MegatronNamespace.forWriting(
            source: objects[topLevel: "args"], moe: request.moe, layout: layout, expertParallel: ep,
            paramsDType: layout?.layers.first?.tensor(for: .routerWeight)?.entry.dtype, heads: request.attentionHeads)
        let iterationName = String(format: "iter_%07d", iteration)
        let iterationFolder = (path as NSString).appendingPathComponent(iterationName)
        let scope = request.scope
        try FileManager.default.createDirectory(atPath: iterationFolder, withIntermediateDirectories: true)
        try scope.sharedFile(Array(String(iteration).utf8), to: (path as NSString).appendingPathComponent(LegacyRankFiles.trackerName))
        for rank in 0..<ep {
            let (tensors, rankObjects) = try slice(request.stateDict.entries, objects.stateDict, rank: rank, ep: ep, experts: experts)
            var storages = TorchSaveWriter.Storages()
            let model = StateDictPickle.orderedDict(tensors: tensors, objects: rankObjects, storages: &storages)
            let root = PickleDict()
            root.set("args", args)
            root.set("checkpoint_version", .double(checkpointVersion))
            root.set("iteration", .integer(iteration))
            root.set("model", .dict(model))
            root.set("num_floating_point_operations_so_far", objects[topLevel: "num_floating_point_operations_so_far"] ?? .integer(0))
            let folder = (iterationFolder as NSString).appendingPathComponent("mp_rank_00" + (ep > 1 ? String(format: "_%03d", rank) : ""))
            try scope.makeDirectory(folder)
            let output = try scope.dataFile((folder as NSString).appendingPathComponent(LegacyRankFiles.fileName))
            // Replicated tensors are written by every rank but counted once, so progress ends at the total.
            try TorchSaveWriter.write(.dict(root), storages: storages, into: output, archiveName: archiveName, progress: rank == 0 ? request.progress : nil)
            if rank > 0 && !output.isCounting {
                let expertBytes = tensors.filter { MegatronExpertKeys.match($0.key) != nil }.reduce(0) { $0 + $1.source.byteCount }
                request.progress?.advance(by: expertBytes)
            }
        }
    }

    /// What EP rank `rank` holds: its experts renumbered locally and every replicated entry,
    /// with the non-tensor values placed where they were among the tensors.
    static func slice(
        _ tensors: [TensorEntry], _ objects: [PickledObjects.Entry], rank: Int, ep: Int, experts: [Int: Int]
    ) throws -> (tensors: [TensorEntry], objects: [PickledObjects.Entry]) {
        func localKey(_ key: String) throws -> String? {
            guard ep > 1, let match = MegatronExpertKeys.match(key) else { return key }
            guard let total = experts[match.layer ?? -1] else {
                throw ConvertError.unsupportedTarget(layout: .megatron, format: .legacy, reason: "cannot tell the expert count of '\(key)'")
            }
            let local = total / ep
            return match.expert / local == rank ? match.key(expert: match.expert % local) : nil
        }
        var outTensors: [TensorEntry] = []
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
            if let key = try localKey(entry.key) {
                outTensors.append(TensorEntry(key: key, source: entry.source, file: entry.file))
            }
        }
        try flushObjects(upTo: Int.max)
        return (outTensors, outObjects)
    }
}
