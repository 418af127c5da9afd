/// Which Megatron-Core parameter is split along which dimension over tensor-parallel ranks
/// (`megatron/core/tensor_parallel/layers.py`: `ColumnParallelLinear` splits the output dim 0,
/// `RowParallelLinear` the input dim 1, `VocabParallelEmbedding` the vocab rows; everything
/// that is a plain `nn.Parameter` is replicated).
///
/// - `linear_qkv` is column-parallel; its rows are already grouped per query group, so a plain
///   dim-0 split gives each rank whole groups (`attention.py`).
/// - GLU `linear_fc1` (dense, shared and expert MLPs) holds `[G_r; U_r]` on rank r
///   (`mlp.py`, `fc1_stride = 2`), so it is split per half.
/// - Experts are split over the expert tensor-parallel group; the legacy reader and writer
///   require `expert_tensor_parallel_size == tensor_model_parallel_size`, so one size serves both.
///
/// A tensor key that is none of these is refused rather than guessed: replicating a split
/// tensor, or splitting a replicated one, would load but compute something else.
public enum MegatronTensorParallel {
    /// The split of `key`, or `nil` when the key is not one whose split is known.
    public static func split(of key: String, glu: Bool) -> TensorParallelSplit? {
        let parts = key.split(separator: ".")
        guard let leaf = parts.last else { return nil }
        let module = parts.count >= 2 ? parts[parts.count - 2] : ""
        if leaf == "_extra_state" { return .replicated }
        // Norms (`input_layernorm`, `pre_mlp_layernorm`, `final_layernorm`, `q_layernorm`, the
        // fused `layer_norm_weight`/`layer_norm_bias`) are replicated.
        if module.contains("norm") || leaf.hasPrefix("layer_norm_") { return .replicated }
        switch (module, leaf) {
        case ("router", _), (_, "expert_bias"), (_, "gate_weight"), ("position_embeddings", "weight"):
            return .replicated
        case ("linear_qkv", "weight"), ("linear_qkv", "bias"), ("linear_q", "weight"), ("linear_kv", "weight"),
             ("word_embeddings", "weight"), ("output_layer", "weight"):
            return .rows
        case ("linear_fc1", "weight"), ("linear_fc1", "bias"):
            return glu ? .rowsPerHalf : .rows
        case ("linear_proj", "weight"), ("linear_fc2", "weight"):
            return .columns
        case ("linear_proj", "bias"), ("linear_fc2", "bias"):
            // Row-parallel biases are added after the reduction: whole on every rank.
            return .replicated
        default:
            return nil
        }
    }
}
