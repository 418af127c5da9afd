import Foundation

/// The `safetensors` target: a folder with `model-0000i-of-0000N.safetensors` shards, the
/// index and (for HF) `config.json`; or one file when the destination ends in `.safetensors`.
public enum SafetensorsCheckpointWriter: CheckpointWriter {
    public static let format = ContainerFormat.safetensors
    public static let writesSingleFile = false

    public static func write(_ request: WriteRequest, to path: String) throws {
        let items = request.stateDict.entries.map { (name: $0.key, source: $0.source) }
        // "format: pt" is what transformers expects; the routing config rides along so that
        // `inspect` of the output shows what `inspect` of the source showed.
        let metadata = [("format", "pt")] + RoutingRecord(config: request.moe, heads: request.attentionHeads).metadataEntries
        if request.singleFile {
            try SafetensorsWriter.write(items, metadata: metadata, to: path)
            request.progress?.advance(by: request.stateDict.totalBytes)
            return
        }
        try request.scope.makeDirectory(path)
        var shards: [[SafetensorsWriter.Item]] = [[]]
        var size = 0
        for item in items {
            if size > 0 && size + item.source.byteCount > request.maxShardBytes {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(item)
            size += item.source.byteCount
        }
        var weightMap: [(key: String, value: JSONValue)] = []
        for (index, shard) in shards.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", index + 1, shards.count)
            let output = try request.scope.dataFile((path as NSString).appendingPathComponent(name))
            try SafetensorsWriter.write(shard, metadata: metadata, into: output)
            weightMap += shard.map { ($0.name, JSONValue.string(name)) }
            if !output.isCounting { request.progress?.advance(by: shard.reduce(0) { $0 + $1.source.byteCount }) }
        }
        weightMap.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let index: JSONValue = .object(JSONObject([
            ("metadata", .object(JSONObject([("total_size", .int(request.stateDict.totalBytes))]))),
            ("weight_map", .object(JSONObject(weightMap))),
        ]))
        try request.scope.sharedFile(Array((JSONWriter.pretty(index) + "\n").utf8), to: (path as NSString).appendingPathComponent(SafetensorsFolder.indexName))
        guard request.scope.writesSharedFiles, request.layout == .hf, let family = request.table.flatMap({ HFLayout.Family(rawValue: $0.variant) }) else { return }
        let configPath = (path as NSString).appendingPathComponent("config.json")
        for case .hf(let file, let config) in request.sourceConfig where config.modelType == family.rawValue {
            // HF → HF in the same family keeps the source's config.json byte for byte (an HDF5
            // source carries it as text).
            let bytes = try config.embeddedText.map { Array($0.utf8) } ?? MappedFile(path: file).withAllBytes { Array($0) }
            try request.scope.sharedFile(bytes, to: configPath)
            return
        }
        let config = HFConfigBuilder.make(
            family: family, stateDict: request.stateDict, moe: request.moe, heads: request.attentionHeads, sourceConfig: request.sourceConfig)
        try request.scope.sharedFile(Array((JSONWriter.pretty(.object(config)) + "\n").utf8), to: configPath)
    }
}
