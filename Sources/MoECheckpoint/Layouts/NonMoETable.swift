/// One-to-one names of the tensors around the MoE layers, per framework.
///
/// Only renames whose meaning is the same on both sides are listed. What is left out is
/// reported, never guessed: Megatron's fused `linear_qkv` (head-interleaved, needs the head
/// layout), Megatron's `[G; U]` dense `linear_fc1`, OLMo-core's reordered (post-attention) norms
/// and its full-width `q_norm`/`k_norm`, and DeepSeek's MLA projections.
public enum NonMoETable {
    /// `(canonical name, native key)` rows of `layout`. `{layer}` is the global layer index.
    public static func rows(_ layout: Layout) -> [(name: String, pattern: KeyPattern)] {
        switch layout {
        case .hf, .nemo:
            // NeMo's native state dict uses the HF names outside the experts (fixtures).
            let l = "model.layers.{layer}."
            return [
                ("embedding", "model.embed_tokens.weight"), ("final_norm", "model.norm.weight"), ("output", "lm_head.weight"),
                ("input_norm", KeyPattern(l + "input_layernorm.weight")), ("pre_mlp_norm", KeyPattern(l + "post_attention_layernorm.weight")),
                ("attn_q", KeyPattern(l + "self_attn.q_proj.weight")), ("attn_k", KeyPattern(l + "self_attn.k_proj.weight")),
                ("attn_v", KeyPattern(l + "self_attn.v_proj.weight")), ("attn_o", KeyPattern(l + "self_attn.o_proj.weight")),
                ("attn_q_norm", KeyPattern(l + "self_attn.q_norm.weight")), ("attn_k_norm", KeyPattern(l + "self_attn.k_norm.weight")),
                ("dense_gate", KeyPattern(l + "mlp.gate_proj.weight")), ("dense_up", KeyPattern(l + "mlp.up_proj.weight")),
                ("dense_down", KeyPattern(l + "mlp.down_proj.weight")),
            ]
        case .megatron:
            let l = "decoder.layers.{layer}."
            return [
                ("embedding", "embedding.word_embeddings.weight"), ("final_norm", "decoder.final_layernorm.weight"),
                ("output", "output_layer.weight"),
                ("input_norm", KeyPattern(l + "input_layernorm.weight")), ("pre_mlp_norm", KeyPattern(l + "pre_mlp_layernorm.weight")),
                ("attn_o", KeyPattern(l + "self_attention.linear_proj.weight")),
                ("attn_q_norm", KeyPattern(l + "self_attention.q_layernorm.weight")),
                ("attn_k_norm", KeyPattern(l + "self_attention.k_layernorm.weight")),
                ("dense_down", KeyPattern(l + "mlp.linear_fc2.weight")),
            ]
        case .olmo:
            let l = "model.blocks.{layer}."
            return [
                ("embedding", "model.embeddings.weight"), ("final_norm", "model.lm_head.norm.weight"), ("output", "model.lm_head.w_out.weight"),
                ("attn_q", KeyPattern(l + "attention.w_q.weight")), ("attn_k", KeyPattern(l + "attention.w_k.weight")),
                ("attn_v", KeyPattern(l + "attention.w_v.weight")), ("attn_o", KeyPattern(l + "attention.w_out.weight")),
                ("dense_gate", KeyPattern(l + "feed_forward.w1.weight")), ("dense_up", KeyPattern(l + "feed_forward.w3.weight")),
                ("dense_down", KeyPattern(l + "feed_forward.w2.weight")),
            ]
        }
    }

    /// Renames `entries` from `source` to `target` naming; returns the renamed entries and the keys
    /// the target has no name for.
    public static func translate(_ entries: [TensorEntry], from source: Layout, to target: Layout) -> (mapped: [TensorEntry], unmapped: [String]) {
        if source == target || Set([source, target]) == Set([.hf, .nemo]) { return (entries, []) }
        // DeepSeek's multi-head latent attention has no counterpart in the other frameworks'
        // attention; its `o_proj` has another width. Carrying any of it would load wrongly.
        let latentAttention = entries.contains { $0.key.contains("self_attn.kv_a_proj_with_mqa") || $0.key.contains("self_attn.q_a_proj") }
        let sourceRows = rows(source).filter { !(latentAttention && $0.name.hasPrefix("attn_")) }
        let targetRows = Dictionary(rows(target).map { ($0.name, $0.pattern) }, uniquingKeysWith: { first, _ in first })
        var mapped: [TensorEntry] = []
        var unmapped: [String] = []
        for entry in entries {
            guard let (name, match) = sourceRows.lazy.compactMap({ row in row.pattern.match(entry.key).map { (row.name, $0) } }).first,
                let pattern = targetRows[name]
            else {
                unmapped.append(entry.key)
                continue
            }
            mapped.append(TensorEntry(key: pattern.render(layer: match.layer), source: entry.source, file: entry.file))
        }
        return (mapped, unmapped)
    }
}
