/// Megatron's pipeline stages in legacy files: stage p holds a contiguous run of decoder layers,
/// numbered from 0 on every stage (`decoder.layers.0` … ; `layouts-megatron.md` gotcha 11), the
/// embedding on the first stage and the final norm and output layer on the last
/// (`GPTModel(pre_process=, post_process=)`).
///
/// Reading counts each stage's layers from its keys, so any contiguous split reads right
/// (uniform, or uneven with `decoder_first/last_pipeline_num_layers`): global = offset + local,
/// where offset is the sum of the earlier stages' counts (`get_transformer_layer_offset`).
/// Writing splits uniformly when PP divides the layers; otherwise the first PP−1 stages take
/// ⌈L/PP⌉ layers and the last the rest, which is Megatron-LM's `--decoder-last-pipeline-num-layers`.
struct LegacyPipelineStages: Equatable {
    /// Decoder layers held by each stage.
    let counts: [Int]

    static let layerPrefix = "decoder.layers."

    init(counts: [Int]) {
        self.counts = counts
    }

    /// The split of `layers` over `stages` for writing, or `nil` when some stage would be empty.
    init?(layers: Int, stages: Int) {
        guard stages >= 1 else { return nil }
        let per = (layers + stages - 1) / stages
        let last = layers - per * (stages - 1)
        guard per >= 1, last >= 1 else { return nil }
        counts = Array(repeating: per, count: stages - 1) + [last]
    }

    /// `decoder_last_pipeline_num_layers` for `args`: the last stage's count when the split is
    /// uneven, `nil` for a uniform split.
    var lastStageLayers: Int? {
        guard let last = counts.last, counts.count > 1, last != counts[0] else { return nil }
        return last
    }

    /// The first global layer of `stage`.
    func offset(of stage: Int) -> Int { counts.prefix(stage).reduce(0, +) }

    /// The layer number of a `decoder.layers.{n}.…` key and the rest after it.
    static func layer(of key: String) -> (index: Int, rest: Substring)? {
        guard key.hasPrefix(layerPrefix) else { return nil }
        let tail = key.dropFirst(layerPrefix.count)
        guard let dot = tail.firstIndex(of: "."), let index = Int(tail[..<dot]), index >= 0 else { return nil }
        return (index, tail[tail.index(after: dot)...])
    }

    /// `key` with its layer number replaced by `index`.
    static func key(_ key: String, layer index: Int) -> String {
        guard let (_, rest) = layer(of: key) else { return key }
        return layerPrefix + String(index) + "." + rest
    }

    /// Layers a stage's keys hold (highest local layer + 1).
    static func layerCount(_ keys: some Sequence<String>) -> Int {
        keys.compactMap { layer(of: $0)?.index }.max().map { $0 + 1 } ?? 0
    }

    /// The stage that holds `key` when writing, and the key as that stage names it; `nil` for a
    /// layer beyond the split.
    func place(_ key: String) -> (stage: Int, key: String)? {
        if let (index, _) = Self.layer(of: key) {
            var start = 0
            for (stage, count) in counts.enumerated() {
                if index < start + count { return (stage, Self.key(key, layer: index - start)) }
                start += count
            }
            return nil
        }
        // Pre-process modules sit on the first stage; the final norm and output layer on the last.
        return (key.hasPrefix("embedding.") ? 0 : counts.count - 1, key)
    }
}
