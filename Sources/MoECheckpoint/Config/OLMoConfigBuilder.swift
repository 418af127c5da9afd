/// Writes the model part of an OLMo-core experiment `config.json` (`layouts-olmo.md` §3.3), the file
/// OLMo-core's `ConfigSaverCallback` puts in each step folder, so that the routing survives a
/// conversion into OLMo-core and `inspect` of the output shows it.
///
/// As `Config.as_config_dict()` does, unknown values (`None`) are omitted and every config object
/// names its class in `_CLASS_`.
public enum OLMoConfigBuilder {
    /// What OLMo-core's v1 router cannot express, as sentences for a warning: converting such a
    /// model into OLMo-core changes what it computes.
    public static func inexpressible(_ moe: MoEConfig, model: CanonicalModel) -> [String] {
        var found: [String] = []
        if let scale = moe.scalingFactor, scale != 1 { found.append("routing scale \(scale) (OLMo-core's router has none)") }
        if let groups = moe.numGroups, groups > 1 { found.append("group-limited routing (\(groups) groups; OLMo-core has none)") }
        if model.layers.contains(where: { $0.shared != nil }), moe.sharedCombine == .sum {
            found.append("shared experts summed with the routed output (OLMo-core mixes them as shared/(k+1) + routed·k/(k+1))")
        }
        if model.layers.contains(where: { $0.shared?.outputGate != nil }) {
            found.append("a shared-expert gate (OLMo-core has none; the tensor is not written)")
        }
        if let activation = moe.activation, activation != .swiglu { found.append("\(activation.rawValue) experts (OLMo-core's are SwiGLU)") }
        return found
    }

    /// `{"model": {...}}` describing `stateDict`, already in the OLMo naming of `table`.
    public static func make(stateDict: StateDict, table: LayoutTable, moe: MoEConfig, heads: AttentionHeads?) -> JSONObject {
        let dims = (try? LayoutResolver.resolve(stateDict, with: table))?.layers.first?.dims
        var router = JSONObject()
        router["_CLASS_"] = "olmo_core.nn.moe.router.MoERouterConfig"
        if let topK = moe.topK { router["top_k"] = .int(topK) }
        if let score = moe.scoreFunction { router["gating_function"] = .string(score.rawValue) }
        // OLMo-core normalises with a p-norm; p = 1 is the sum that every other framework divides by.
        if moe.normalizeTopK == true { router["normalize_expert_weights"] = .double(1) }

        var feedForward = JSONObject()
        feedForward["_CLASS_"] = "olmo_core.nn.moe.moe.MoEConfig"
        feedForward["name"] = .string(table.variant)
        if let experts = dims?.numExperts { feedForward["num_experts"] = .int(experts) }
        if let width = dims?.ffnHiddenSize { feedForward["hidden_size"] = .int(width) }
        feedForward["router"] = .object(router)
        if let shared = dims?.sharedFFNHiddenSize {
            var sharedMLP = JSONObject()
            sharedMLP["_CLASS_"] = "olmo_core.nn.feed_forward.FeedForwardConfig"
            sharedMLP["hidden_size"] = .int(shared)
            sharedMLP["bias"] = false
            feedForward["shared_mlp"] = .object(sharedMLP)
        }

        var block = JSONObject()
        block["_CLASS_"] = "olmo_core.nn.transformer.config.TransformerBlockConfig"
        block["feed_forward_moe"] = .object(feedForward)
        if let heads {
            var attention = JSONObject()
            attention["_CLASS_"] = "olmo_core.nn.attention.AttentionConfig"
            attention["n_heads"] = .int(heads.heads)
            if heads.groups != heads.heads { attention["n_kv_heads"] = .int(heads.groups) }
            block["attention"] = .object(attention)
        }

        var transformer = JSONObject()
        transformer["_CLASS_"] = "olmo_core.nn.transformer.config.TransformerConfig"
        if let hidden = dims?.hiddenSize { transformer["d_model"] = .int(hidden) }
        let layers = stateDict.keys.compactMap { KeyPattern("model.blocks.{layer}.*").match($0)?.layer }
        if let last = layers.max() { transformer["n_layers"] = .int(last + 1) }
        transformer["block"] = .object(block)
        var config = JSONObject()
        config["model"] = .object(transformer)
        return config
    }
}
