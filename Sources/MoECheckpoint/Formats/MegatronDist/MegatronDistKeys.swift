/// How Megatron-Core's torch_dist names a model's tensors, against the per-layer names the rest
/// of moe-ckpt uses (`layouts-megatron.md` §4.2).
///
/// The reader turns stored keys into per-layer ones and the writer does the reverse, so the
/// `Checkpoint` of a torch_dist folder looks like any other Megatron state dict (layer in the
/// key, no layer axis, legacy norm names) and the `distributed` layout table reads it:
///
/// - homogeneous models stack every layer on a leading axis: `decoder.layers.X` `[L, …]` holds
///   `decoder.layers.{l}.X` for every `l`; mixed dense/MoE models keep `decoder.layers.{l}.X`;
/// - the local spec saves the norms under the fused linears' names
///   (`gpt_layer_specs.py : get_gpt_layer_local_spec`, `sharded_state_dict_keys_map`);
/// - ShardedObjects (`_extra_state`) are named `{key}/shard_{offsets}_{shape}` over the sharded
///   axes (`mapping.py : ShardedObject.unique_key`).
enum MegatronDistKeys {
    static let layers = "decoder.layers."

    /// Per-layer name prefix ⇄ torch_dist name prefix, within a layer (local spec).
    static let localSpecRenames: [(perLayer: String, stored: String)] = [
        ("input_layernorm.", "self_attention.linear_qkv.layer_norm_"),
        ("pre_mlp_layernorm.", "mlp.linear_fc1.layer_norm_"),
    ]

    /// `decoder.layers.{l}.rest` → `(l, rest)`.
    static func splitLayer(_ key: String) -> (layer: Int, rest: String)? {
        guard key.hasPrefix(layers) else { return nil }
        let tail = key.dropFirst(layers.count)
        guard let dot = tail.firstIndex(of: "."), let layer = Int(tail[..<dot]), layer >= 0, String(layer) == tail[..<dot] else { return nil }
        return (layer, String(tail[tail.index(after: dot)...]))
    }

    /// `decoder.layers.rest` (no layer index) → `rest`: a layer-stacked key.
    static func stackedRest(_ key: String) -> String? {
        guard key.hasPrefix(layers), splitLayer(key) == nil else { return nil }
        return String(key.dropFirst(layers.count))
    }

    /// The stored spelling of a within-layer name.
    static func stored(_ rest: String) -> String {
        for (perLayer, stored) in localSpecRenames where rest.hasPrefix(perLayer) {
            return stored + rest.dropFirst(perLayer.count)
        }
        return rest
    }

    /// The per-layer spelling of a stored within-layer name.
    static func perLayer(_ rest: String) -> String {
        for (perLayer, stored) in localSpecRenames where rest.hasPrefix(stored) {
            return perLayer + rest.dropFirst(stored.count)
        }
        return rest
    }

    /// `{key}/shard_{offsets}_{shape}` over the sharded axes, `shard_0_1` when there are none.
    static func shardedObject(_ key: String, offsets: [Int], shape: [Int]) -> String {
        let o = offsets.isEmpty ? "0" : offsets.map(String.init).joined(separator: ".")
        let s = shape.isEmpty ? "1" : shape.map(String.init).joined(separator: ".")
        return "\(key)/shard_\(o)_\(s)"
    }

    /// The module whose `_extra_state` Megatron saves for a weight key: every linear layer
    /// (`linear_qkv`, `linear_proj`, `linear_fc1`, `linear_fc2`, in experts and shared experts).
    static func linearModule(ofWeight rest: String) -> String? {
        guard rest.hasSuffix(".weight") else { return nil }
        let module = String(rest.dropLast(".weight".count))
        let last = module.split(separator: ".").last.map(String.init) ?? module
        return last.hasPrefix("linear_") ? module : nil
    }
}
