import Foundation

/// The `torch_dist` target: a Megatron save root with `latest_checkpointed_iteration.txt` and
/// `iter_{n:07d}/` holding the `__{rank}_{k}.distcp` data files (each EP rank's expert chunks in
/// its own files), `.metadata`, `common.pt` and, last, `metadata.json`, which marks a complete
/// checkpoint for Megatron-Core.
///
/// `common.pt` carries the source's `args` when the source was a Megatron checkpoint (re-read
/// from the file the reader named, with `ckpt_format` and `expert_model_parallel_size` updated);
/// otherwise it holds a Namespace built from the routing config.
public enum MegatronDistWriter: CheckpointWriter {
    public static let format = ContainerFormat.torchDist
    public static let writesSingleFile = false

    public static func write(_ request: WriteRequest, to path: String) throws {
        let scope = request.scope
        try scope.makeDirectory(path)
        let carried = try carriedCommon(request)
        let args = carried?.args ?? builtArgs(request)
        let iteration = carried?.iteration ?? 1
        let iterationName = String(format: "iter_%07d", iteration)
        let folder = (path as NSString).appendingPathComponent(iterationName)
        let plan = MegatronDistPlan(request, allowStacking: !layersArePatterned(args))
        let writer = try DCPWriter(folder: folder, flavor: .megatron, progress: request.progress, scope: scope, maxFileBytes: request.maxShardBytes)
        for tensor in plan.tensors { try writer.write(tensor) }
        // Local-spec linears have no extra state: Megatron saves `torch.save([None])`.
        for (fqn, rank) in plan.objects { try writer.write(object: .list(PickleList([.none])), fqn: fqn, rank: rank) }
        try writer.finish(checkpointID: iterationName)
        guard scope.writesSharedFiles else { return }

        let common = PickleDict()
        common.set("args", args)
        common.set("checkpoint_version", .double(3.0))
        common.set("iteration", .integer(iteration))
        common.set("num_floating_point_operations_so_far", .int(0))
        common.set("content_metadata", .dict(PickleDict([
            (.string("singleton_local_shards"), .bool(false)), (.string("chained_optim_avoid_prefix"), .bool(true)),
        ])))
        if let output = try scope.sharedOutput((folder as NSString).appendingPathComponent(MegatronDistReader.commonName)) {
            try TorchSaveWriter.write(.dict(common), into: output, archiveName: "common")
        }
        let config = "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1, \"common_backend\": \"torch\", \"common_backend_version\": 1}"
        try scope.sharedFile(Array(config.utf8), to: (folder as NSString).appendingPathComponent(MegatronDistReader.configName))
        try scope.sharedFile(Array(String(iteration).utf8), to: (path as NSString).appendingPathComponent(MegatronDistReader.latestName))
    }

    /// The source's `args` and iteration, when the source was a Megatron checkpoint whose file
    /// still holds them (`common.pt`, `model_optim_rng.pt`).
    static func carriedCommon(_ request: WriteRequest) throws -> (args: PickleValue, iteration: Int?)? {
        for case .megatronArgs(let file, _) in request.sourceConfig where DCPFolder.regularFileSize(file) != nil {
            let root = try TorchSaveFile(path: file).root.dictValue
            guard let args = root?["args"], let attributes = MegatronArgsPickle.attributes(args) else { continue }
            attributes.set("ckpt_format", .string("torch_dist"))
            attributes.set("expert_model_parallel_size", .integer(request.parallelism.expertParallel))
            return (args, root?["iteration"]?.intValue)
        }
        return nil
    }

    /// A Namespace with the MoE fields, for sources without Megatron `args`.
    static func builtArgs(_ request: WriteRequest) -> PickleValue {
        let resolved = request.table.flatMap { try? LayoutResolver.resolve(request.stateDict, with: $0) }
        let layers = Set(request.stateDict.keys.compactMap { MegatronDistKeys.splitLayer($0)?.layer }).count
        let moeLayers = Set(resolved?.layers.map(\.layer) ?? [])
        let fields = MegatronNamespace.build(
            moe: request.moe, layout: resolved, paramsDType: resolved?.layers.first?.tensor(for: .routerWeight)?.entry.dtype)
        fields.set("num_layers", .integer(layers))
        // A list makes Megatron name layers per key (`layersArePatterned`), as the reader expects.
        fields.set("moe_layer_freq", moeLayers.count == layers ? .int(1) : .list(PickleList((0..<layers).map { .int(moeLayers.contains($0) ? 1 : 0) })))
        fields.set("expert_model_parallel_size", .integer(request.parallelism.expertParallel))
        fields.set("tensor_model_parallel_size", .int(1))
        fields.set("pipeline_model_parallel_size", .int(1))
        fields.set("ckpt_format", .string("torch_dist"))
        MegatronNamespace.setHeads(request.attentionHeads, in: fields)
        return MegatronNamespace.make(fields)
    }

    /// `moe_layer_freq` given as a pattern (a list, or an int > 1) makes Megatron name layers
    /// per key even when they happen to look alike (`transformer_block.py` L824–853).
    static func layersArePatterned(_ args: PickleValue) -> Bool {
        guard let value = MegatronArgsPickle.attributes(args)?["moe_layer_freq"] else { return false }
        if value.sequenceItems != nil { return true }
        return (value.intValue ?? 1) > 1
    }
}
