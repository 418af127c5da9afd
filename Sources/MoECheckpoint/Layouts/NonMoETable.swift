/// The tensors around the MoE layers (embeddings, attention, norms, dense MLPs, head), per
/// framework, as a two-way table like the MoE tables: each row says which canonical tensors one
/// native key holds and how they are joined.
///
/// Only tensors whose meaning is the same on both sides are listed. What is left out is reported,
/// never guessed: OLMo-core's reordered (post-sublayer) norms and its full-width `q_norm`/`k_norm`,
/// DeepSeek's latent attention, and Megatron's fused `linear_qkv` when the head layout is unknown.
public enum NonMoETable {
    /// How one native tensor holds its canonical parts.
    public enum Join: Sendable {
        /// One canonical tensor under another name.
        case single
        /// `[gate; up]`: Megatron's dense `linear_fc1` (the up half alone for non-gated activations).
        case concatRows
        /// Per query group: its query heads, its key head, its value head (Megatron's `linear_qkv`).
        case headGroups
    }

    /// One row: `pattern` holds `parts` (canonical names), joined by `join`.
    public struct Row: Sendable {
        public let pattern: KeyPattern
        public let parts: [String]
        public let join: Join

        /// Whether the row holds attention tensors (`attn_*`).
        var isAttention: Bool { parts.contains { $0.hasPrefix("attn_") } }

        init(_ pattern: String, _ parts: String..., join: Join = .single) {
            self.pattern = KeyPattern(pattern)
            self.parts = parts
            self.join = join
        }
    }

    /// The rows of `layout`. `{layer}` is the global layer index. When two rows hold the same
    /// canonical tensor, both are read and the first is written.
    public static func rows(_ layout: Layout) -> [Row] {
        switch layout {
        case .hf, .nemo:
            // NeMo's native state dict uses the HF names outside the experts (fixtures).
            let l = "model.layers.{layer}."
            return [
                Row("model.embed_tokens.weight", "embedding"), Row("model.norm.weight", "final_norm"), Row("lm_head.weight", "output"),
                Row(l + "input_layernorm.weight", "input_norm"), Row(l + "post_attention_layernorm.weight", "pre_mlp_norm"),
                Row(l + "self_attn.q_proj.weight", "attn_q"), Row(l + "self_attn.k_proj.weight", "attn_k"),
                Row(l + "self_attn.v_proj.weight", "attn_v"), Row(l + "self_attn.o_proj.weight", "attn_o"),
                Row(l + "self_attn.q_norm.weight", "attn_q_head_norm"), Row(l + "self_attn.k_norm.weight", "attn_k_head_norm"),
                Row(l + "mlp.gate_proj.weight", "dense_gate"), Row(l + "mlp.up_proj.weight", "dense_up"),
                Row(l + "mlp.down_proj.weight", "dense_down"),
            ]
        case .megatron:
            let l = "decoder.layers.{layer}."
            return [
                Row("embedding.word_embeddings.weight", "embedding"), Row("decoder.final_layernorm.weight", "final_norm"),
                Row("output_layer.weight", "output"),
                Row(l + "input_layernorm.weight", "input_norm"), Row(l + "pre_mlp_layernorm.weight", "pre_mlp_norm"),
                // Transformer Engine fuses the pre-norms into the next linear (same tensors).
                Row(l + "self_attention.linear_qkv.layer_norm_weight", "input_norm"),
                Row(l + "mlp.linear_fc1.layer_norm_weight", "pre_mlp_norm"),
                Row(l + "self_attention.linear_qkv.weight", "attn_q", "attn_k", "attn_v", join: .headGroups),
                Row(l + "self_attention.linear_proj.weight", "attn_o"),
                // Megatron's q/k layernorms normalise each head (`hidden_size=kv_channels`), as Qwen3's do.
                Row(l + "self_attention.q_layernorm.weight", "attn_q_head_norm"),
                Row(l + "self_attention.k_layernorm.weight", "attn_k_head_norm"),
                Row(l + "mlp.linear_fc1.weight", "dense_gate", "dense_up", join: .concatRows),
                Row(l + "mlp.linear_fc2.weight", "dense_down"),
            ]
        case .olmo:
            let l = "model.blocks.{layer}."
            return [
                Row("model.embeddings.weight", "embedding"), Row("model.lm_head.norm.weight", "final_norm"),
                Row("model.lm_head.w_out.weight", "output"),
                Row(l + "attention.w_q.weight", "attn_q"), Row(l + "attention.w_k.weight", "attn_k"),
                Row(l + "attention.w_v.weight", "attn_v"), Row(l + "attention.w_out.weight", "attn_o"),
                Row(l + "feed_forward.w1.weight", "dense_gate"), Row(l + "feed_forward.w3.weight", "dense_up"),
                Row(l + "feed_forward.w2.weight", "dense_down"),
            ]
        }
    }

    /// What the joins need to know about the model.
    public struct Context: Sendable {
        /// The head layout, for `linear_qkv`; without it `linear_qkv` is reported, not converted.
        public var heads: AttentionHeads?
        /// Whether dense MLPs are gated (`[G; U]` fc1) or up-only.
        public var gated: Bool

        public init(heads: AttentionHeads?, gated: Bool) {
            self.heads = heads
            self.gated = gated
        }
    }

    /// Renames (and splits or joins) `entries` from `source` to `target` naming; returns the target
    /// entries and the source keys the target has no tensor for. `ownAttention`: the source or the
    /// target model has an attention of its own (`HFLayout.hasOwnAttention`), which no other
    /// framework's attention tensors fit.
    public static func translate(
        _ entries: [TensorEntry], from source: Layout, to target: Layout, ownAttention: (source: Bool, target: Bool) = (false, false),
        context: Context
    ) -> (mapped: [TensorEntry], unmapped: [String]) {
        if source == target || Set([source, target]) == Set([.hf, .nemo]) { return (entries, []) }
        // DeepSeek's multi-head latent attention has no counterpart in the other frameworks'
        // attention; its `o_proj` has another width. Carrying any of it would load wrongly.
        let latentAttention = entries.contains { $0.key.contains("self_attn.kv_a_proj_with_mqa") || $0.key.contains("self_attn.q_a_proj") }
        let sourceRows = rows(source).filter { !((latentAttention || ownAttention.source) && $0.isAttention) }

        // Native → canonical, remembering which source entry each canonical tensor came from.
        var canonical: [CanonicalName: any TensorSource] = [:]
        var pieces: [(entry: TensorEntry, names: [CanonicalName])] = []
        var unmapped: [String] = []
        for entry in entries {
            guard let (row, match) = sourceRows.lazy.compactMap({ row in row.pattern.match(entry.key).map { (row, $0) } }).first,
                let parts = split(entry.source, row: row, context: context)
            else {
                unmapped.append(entry.key)
                continue
            }
            let names = parts.map { CanonicalName($0.0, match.layer) }
            for (name, part) in zip(names, parts) { canonical[name] = part.1 }
            pieces.append((entry, names))
        }

        // Canonical → native, in the source's order; a source tensor no target row takes is reported.
        let targetRows = rows(target).filter { !(ownAttention.target && $0.isAttention) }
        var written = Set<String>()
        var consumed = Set<CanonicalName>()
        var mapped: [TensorEntry] = []
        for (entry, names) in pieces {
            for name in names {
                guard let row = targetRows.first(where: { $0.parts.contains(name.name) }) else { continue }
                let rowNames = row.parts.map { CanonicalName($0, name.layer) }
                let targetKey = row.pattern.render(layer: name.layer)
                guard !written.contains(targetKey), let joined = join(rowNames.map { canonical[$0] }, row: row, context: context) else { continue }
                written.insert(targetKey)
                consumed.formUnion(rowNames)
                mapped.append(TensorEntry(key: targetKey, source: joined, file: entry.file))
            }
        }
        unmapped += pieces.filter { !$0.names.contains(where: consumed.contains) }.map(\.entry.key)
        return (mapped, unmapped)
    }

    /// The head layout from the tensors alone: a per-head query norm gives the head size, the
    /// separate q and k projections the head counts. `nil` for fused or unnormalised attention.
    public static func inferHeads(_ entries: [TensorEntry], layout: Layout) -> AttentionHeads? {
        let singles = rows(layout).filter { $0.join == .single }
        func rowsOf(_ name: String) -> Int? {
            guard let row = singles.first(where: { $0.parts == [name] }) else { return nil }
            return entries.first { row.pattern.match($0.key) != nil }?.shape.first
        }
        guard let q = rowsOf("attn_q"), let k = rowsOf("attn_k"), let width = rowsOf("attn_q_head_norm") else { return nil }
        return AttentionHeads(queryRows: q, keyRows: k, perHeadNormWidth: width)
    }

    /// A canonical non-MoE tensor: its name and its layer (`nil` outside the layers).
    struct CanonicalName: Hashable {
        let name: String
        let layer: Int?
        init(_ name: String, _ layer: Int?) {
            self.name = name
            self.layer = layer
        }
    }

    /// The canonical parts of one native tensor, or `nil` when they cannot be told apart.
    static func split(_ tensor: any TensorSource, row: Row, context: Context) -> [(String, any TensorSource)]? {
        switch row.join {
        case .single:
            return [(row.parts[0], tensor)]
        case .concatRows:
            guard context.gated else { return [(row.parts[1], tensor)] }
            guard let rows = tensor.shape.first, rows % 2 == 0,
                let gate = GatheredTensor(sources: [tensor], rowBlocks: [.init(0, rows: 0..<rows / 2)]),
                let up = GatheredTensor(sources: [tensor], rowBlocks: [.init(0, rows: rows / 2..<rows)])
            else { return nil }
            return [(row.parts[0], gate), (row.parts[1], up)]
        case .headGroups:
            guard let heads = context.heads, let rows = tensor.shape.first else { return nil }
            let sizes = heads.groupRows
            let stride = sizes.reduce(0, +)
            guard rows == heads.groups * stride else { return nil }
            var start = 0
            var parts: [(String, any TensorSource)] = []
            for (name, size) in zip(row.parts, sizes) {
                guard let part = GatheredTensor.strided(tensor, groups: heads.groups, stride: stride, start: start, count: size) else {
                    return nil
                }
                parts.append((name, part))
                start += size
            }
            return parts
        }
    }

    /// One native tensor from its canonical parts, or `nil` when a part is missing or the parts do
    /// not fit together.
    static func join(_ parts: [(any TensorSource)?], row: Row, context: Context) -> (any TensorSource)? {
        switch row.join {
        case .single:
            return parts[0]
        case .concatRows:
            guard context.gated else { return parts[1] }
            guard let gate = parts[0], let up = parts[1], let g = gate.shape.first, let u = up.shape.first else { return nil }
            return GatheredTensor(sources: [gate, up], rowBlocks: [.init(0, rows: 0..<g), .init(1, rows: 0..<u)])
        case .headGroups:
            guard let heads = context.heads, parts.allSatisfy({ $0 != nil }) else { return nil }
            let sizes = heads.groupRows
            let sources = parts.compactMap { $0 }
            guard zip(sources, sizes).allSatisfy({ $0.shape.first == $1 * heads.groups }) else { return nil }
            let blocks = (0..<heads.groups).flatMap { group in
                sizes.enumerated().map { part, size in GatheredTensor.RowBlock(part, rows: group * size..<(group + 1) * size) }
            }
            return GatheredTensor(sources: sources, rowBlocks: blocks)
        }
    }
}
