/// Which DCP items a torch_dist checkpoint of a state dict has, as Megatron-Core's
/// `sharded_state_dict` would lay them out (`layouts-megatron.md` §4.2):
///
/// - layers stacked on a leading axis when every transformer layer has the same tensors (and
///   the source's `args` do not give `moe_layer_freq` as a pattern), per-layer keys otherwise;
/// - the local-spec norm names;
/// - expert tensors chunked per expert, each chunk written by the EP rank that owns the expert
///   (`global expert = rank · E/EP + local`); replicated tensors written once, by rank 0;
/// - GLU `linear_fc1` weights as separate gate and up chunks;
/// - one `_extra_state` ShardedObject per linear module (per expert for the experts).
struct MegatronDistPlan {
    var tensors: [DCPWriteTensor] = []
    /// `_extra_state` objects: their keys and writing ranks.
    var objects: [(fqn: String, rank: Int)] = []
    /// Whether the layers were stacked.
    let stacked: Bool

    init(_ request: WriteRequest, allowStacking: Bool) {
        let entries = request.stateDict.entries
        let ep = max(request.parallelism.expertParallel, 1)
        let gated = request.moe.activation?.isGated ?? (request.table?.rule(for: .expertGate) != nil)
        var byLayer: [Int: [String: TensorEntry]] = [:]
        for entry in entries {
            if let (layer, rest) = MegatronDistKeys.splitLayer(entry.key) { byLayer[layer, default: [:]][rest] = entry }
        }
        let layerCount = byLayer.count
        stacked = allowStacking && layerCount > 0 && Self.isHomogeneous(byLayer)

        /// Chunks of one per-layer tensor in its own coordinates, with writing ranks.
        func chunks(of entry: TensorEntry, rest: String?) -> [(DCPChunk, Int)] {
            let shape = entry.shape
            let experts = request.table?.match(entry.key)?.rule.experts == .stacked
            let glu = gated && (rest ?? entry.key).hasSuffix("linear_fc1.weight")
            func split(_ prefix: [Int], _ inner: [Int]) -> [DCPChunk] {
                guard glu, let rows = inner.first, rows % 2 == 0, rows > 0 else {
                    return [DCPChunk(offsets: prefix + inner.map { _ in 0 }, sizes: prefix.map { _ in 1 } + inner)]
                }
                let half = rows / 2
                return [0, half].map { start in
                    DCPChunk(offsets: prefix + [start] + inner.dropFirst().map { _ in 0 }, sizes: prefix.map { _ in 1 } + [half] + inner.dropFirst())
                }
            }
            guard experts, let count = shape.first, count > 0 else {
                return split([], shape).map { ($0, 0) }
            }
            let perRank = max(count / ep, 1)
            return (0..<count).flatMap { e in split([e], Array(shape.dropFirst())).map { ($0, e / perRank) } }
        }

        func byteRange(_ chunk: DCPChunk, in shape: [Int], dtype: DType) -> Range<Int> {
            let geometry = DCPChunkGeometry(chunk: chunk, globalShape: shape, elementSize: dtype.byteSize)
            precondition(geometry.isContiguous, "planned chunks are contiguous")
            return geometry.firstByte..<geometry.firstByte + chunk.elementCount * dtype.byteSize
        }

        var done = Set<String>()
        for entry in entries {
            guard let (layer, rest) = MegatronDistKeys.splitLayer(entry.key) else {
                let planned = chunks(of: entry, rest: nil)
                tensors.append(Self.tensor(entry.key, entry: entry, planned: planned, byteRange: byteRange))
                continue
            }
            let storedRest = MegatronDistKeys.stored(rest)
            if stacked {
                guard done.insert(rest).inserted else { continue }
                var global: [DCPChunk] = []
                var parts: [DCPWriteTensor.Part] = []
                for l in 0..<layerCount {
                    guard let layerEntry = byLayer[l]?[rest] else { continue }
                    var partChunks: [(chunk: Int, bytes: Range<Int>, rank: Int)] = []
                    for (chunk, rank) in chunks(of: layerEntry, rest: rest) {
                        partChunks.append((global.count, byteRange(chunk, in: layerEntry.shape, dtype: layerEntry.dtype), rank))
                        global.append(DCPChunk(offsets: [l] + chunk.offsets, sizes: [1] + chunk.sizes))
                    }
                    parts.append(DCPWriteTensor.Part(source: layerEntry.source, chunks: partChunks))
                }
                let info = DCPTensorInfo(dtype: entry.dtype, size: [layerCount] + entry.shape, chunks: global)
                tensors.append(DCPWriteTensor(fqn: MegatronDistKeys.layers + storedRest, info: info, parts: parts))
            } else {
                let fqn = "\(MegatronDistKeys.layers)\(layer).\(storedRest)"
                tensors.append(Self.tensor(fqn, entry: entry, planned: chunks(of: entry, rest: rest), byteRange: byteRange))
            }
            // The linear module's `_extra_state`, once per layer (and expert).
            guard let module = MegatronDistKeys.linearModule(ofWeight: rest) else { continue }
            let isExpert = request.table?.match(entry.key)?.rule.experts == .stacked
            let experts = isExpert ? (entry.shape.first ?? 1) : 0
            let perRank = max(experts / ep, 1)
            let base = stacked ? MegatronDistKeys.layers + MegatronDistKeys.stored(module) : "\(MegatronDistKeys.layers)\(layer).\(MegatronDistKeys.stored(module))"
            let layerAxis: (offsets: [Int], shape: [Int]) = stacked ? ([layer], [layerCount]) : ([], [])
            if isExpert {
                for e in 0..<experts {
                    let key = MegatronDistKeys.shardedObject(base + "._extra_state", offsets: layerAxis.offsets + [e], shape: layerAxis.shape + [experts])
                    objects.append((key, e / perRank))
                }
            } else {
                objects.append((MegatronDistKeys.shardedObject(base + "._extra_state", offsets: layerAxis.offsets, shape: layerAxis.shape), 0))
            }
        }
    }

    static func tensor(
        _ fqn: String, entry: TensorEntry, planned: [(DCPChunk, Int)], byteRange: (DCPChunk, [Int], DType) -> Range<Int>
    ) -> DCPWriteTensor {
        let info = DCPTensorInfo(dtype: entry.dtype, size: entry.shape, chunks: planned.map(\.0))
        let part = DCPWriteTensor.Part(
            source: entry.source, chunks: planned.enumerated().map { ($0.offset, byteRange($0.element.0, entry.shape, entry.dtype), $0.element.1) })
        return DCPWriteTensor(fqn: fqn, info: info, parts: [part])
    }

    /// Layers `0..<L`, each with the same names, shapes and dtypes.
    static func isHomogeneous(_ byLayer: [Int: [String: TensorEntry]]) -> Bool {
        guard let first = byLayer[0], Set(byLayer.keys) == Set(0..<byLayer.count) else { return false }
        return byLayer.values.allSatisfy { layer in
            layer.count == first.count && layer.allSatisfy { rest, entry in
                first[rest].map { $0.shape == entry.shape && $0.dtype == entry.dtype } ?? false
            }
        }
    }
}
