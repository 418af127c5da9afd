import Foundation

/// The OLMo-core `dcp` target: a `stepN`-style folder with `.metadata.json` and
/// `model_and_optim/` (`.metadata` + `__{rank}_0.distcp`), the layout
/// `olmo_core.distributed.checkpoint.load_model_and_optim_state` reads.
///
/// As OLMo-core's EP sharding does (`mlp.py : _shard_experts`, `Shard(0)`), the expert tensors
/// `w1/w2/w3` are cut into equal row blocks, block `r` written by rank `r`; every other tensor is
/// replicated and written once, by rank 0. No optimizer or trainer state is written (weights only).
public enum OLMoDCPWriter: CheckpointWriter {
    public static let format = ContainerFormat.dcp
    public static let writesSingleFile = false
    /// The version `.metadata.json` records (the OLMo-core release the layout was checked against).
    static let version = "3.0.0"

    public static func write(_ request: WriteRequest, to path: String) throws {
        try request.scope.makeDirectory(path)
        let writer = try DCPWriter(
            folder: (path as NSString).appendingPathComponent(OLMoDCPReader.modelFolder), flavor: .olmo, progress: request.progress,
            scope: request.scope, maxFileBytes: request.maxShardBytes)
        let ep = max(request.parallelism.expertParallel, 1)
        for entry in request.stateDict.entries {
            let rows = entry.shape.first ?? 1
            let sharded = request.table?.match(entry.key)?.rule.experts == .stacked && entry.shape.count >= 1 && rows % ep == 0
            let blocks = sharded ? ep : 1
            let blockRows = entry.shape.isEmpty ? 1 : rows / blocks
            let rowBytes = entry.shape.isEmpty ? entry.source.byteCount : (rows == 0 ? 0 : entry.source.byteCount / rows)
            var chunks: [DCPChunk] = []
            var parts: [(chunk: Int, bytes: Range<Int>, rank: Int)] = []
            for r in 0..<blocks {
                let offsets = entry.shape.isEmpty ? [] : [r * blockRows] + entry.shape.dropFirst().map { _ in 0 }
                let sizes = entry.shape.isEmpty ? [] : [blockRows] + entry.shape.dropFirst()
                chunks.append(DCPChunk(offsets: offsets, sizes: sizes))
                parts.append((r, r * blockRows * rowBytes..<(r + 1) * blockRows * rowBytes, r))
            }
            let info = DCPTensorInfo(dtype: entry.dtype, size: entry.shape, chunks: chunks)
            try writer.write(DCPWriteTensor(fqn: entry.key, info: info, parts: [.init(source: entry.source, chunks: parts)]))
        }
        try writer.finish(checkpointID: OLMoDCPReader.modelFolder)
        let metadata = "{\"ephemeral\": false, \"version\": \"\(version)\"}"
        try request.scope.sharedFile(Array(metadata.utf8), to: (path as NSString).appendingPathComponent(OLMoDCPReader.stepMetadataName))
        if let table = request.table {
            let config = OLMoConfigBuilder.make(stateDict: request.stateDict, table: table, moe: request.moe, heads: request.attentionHeads)
            try request.scope.sharedFile(Array(JSONWriter.pretty(.object(config)).utf8), to: (path as NSString).appendingPathComponent(OLMoDCPReader.configName))
        }
    }
}
