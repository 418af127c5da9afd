/// Writes a `config.json` that transformers can load for the target family, from what the
/// tensors say (dims, experts, dense layers), the head layout (`AttentionHeads`) and
/// the source's own metadata (Megatron `args` or another family's config).
public enum HFConfigBuilder {
    /// The config for `family`, describing `stateDict` (already in HF naming).
    public static func make(
        family: HFLayout.Family, stateDict: StateDict, moe: MoEConfig, heads: AttentionHeads?, sourceConfig: [ConfigSource]
    ) -> JSONObject {
        var config = JSONObject()
        let table = HFLayout.table(family)
        let layers = (try? LayoutResolver.resolve(stateDict, with: table).layers) ?? []
        let dims = layers.first?.dims
        let layerIndices = Set(stateDict.keys.compactMap { KeyPattern("model.layers.{layer}.*").match($0)?.layer })
        let layerCount = (layerIndices.max() ?? -1) + 1
        let moeLayers = Set(layers.map(\.layer))
        let dense = (0..<layerCount).filter { !moeLayers.contains($0) }

        config["architectures"] = [.string(architecture(family))]
        config["model_type"] = .string(family.rawValue)
        config["hidden_size"] = dims.map { .int($0.hiddenSize) } ?? .null
        config["num_hidden_layers"] = .int(layerCount)
        if let vocab = stateDict["model.embed_tokens.weight"]?.shape.first { config["vocab_size"] = .int(vocab) }
        config["hidden_act"] = "silu"
        config["tie_word_embeddings"] = .bool(stateDict["lm_head.weight"] == nil)
        if let router = layers.first?.tensor(for: .routerWeight) { config["dtype"] = .string(router.entry.dtype.rawValue) }
        for (key, value) in attentionFields(heads: heads, sourceConfig: sourceConfig) { config[key] = value }

        let denseWidth = stateDict.keys.lazy.compactMap { key -> Int? in
            KeyPattern("model.layers.{layer}.mlp.gate_proj.weight").match(key) != nil ? stateDict[key]?.shape.first : nil
        }.first
        config["intermediate_size"] = (denseWidth ?? dims?.ffnHiddenSize).map(JSONValue.int) ?? .null
        config["moe_intermediate_size"] = dims?.ffnHiddenSize.map(JSONValue.int) ?? .null
        config["num_experts_per_tok"] = moe.topK.map(JSONValue.int) ?? .null
        config["norm_topk_prob"] = moe.normalizeTopK.map(JSONValue.bool) ?? .null
        let experts = dims.map { JSONValue.int($0.numExperts) } ?? .null
        switch family {
        case .deepseekV3, .glm4MoE:
            config["n_routed_experts"] = experts
            config["routed_scaling_factor"] = .double(moe.scalingFactor ?? 1.0)
            config["n_group"] = .int(moe.numGroups ?? 1)
            config["topk_group"] = .int(moe.groupTopK ?? 1)
            config["scoring_func"] = .string((moe.scoreFunction ?? .sigmoid).rawValue)
            config["topk_method"] = "noaux_tc"
            config["first_k_dense_replace"] = .int(dense.count)
            if let shared = dims?.sharedFFNHiddenSize, let f = dims?.ffnHiddenSize, f > 0 {
                config["n_shared_experts"] = .int(shared / f)
            } else {
                config["n_shared_experts"] = .int(0)
            }
        case .qwen3MoE, .olmoe, .qwen3Next:
            config["num_experts"] = experts
            config["decoder_sparse_step"] = 1
            config["mlp_only_layers"] = .array(dense.map(JSONValue.int))
            if family == .qwen3Next {
                config["shared_expert_intermediate_size"] = dims?.sharedFFNHiddenSize.map(JSONValue.int) ?? .null
                config["layer_types"] = .array(Array(repeating: "full_attention", count: layerCount))
            }
        case .mixtral, .fusedV5:
            config["num_local_experts"] = experts
        }
        return config
    }

    static func architecture(_ family: HFLayout.Family) -> String {
        switch family {
        case .deepseekV3: return "DeepseekV3ForCausalLM"
        case .glm4MoE: return "Glm4MoeForCausalLM"
        case .qwen3MoE: return "Qwen3MoeForCausalLM"
        case .qwen3Next: return "Qwen3NextForCausalLM"
        case .mixtral, .fusedV5: return "MixtralForCausalLM"
        case .olmoe: return "OlmoeForCausalLM"
        }
    }

    /// The head layout, and the Megatron settings an HF config names differently.
    static func attentionFields(heads: AttentionHeads?, sourceConfig: [ConfigSource]) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = []
        if let heads {
            fields += [("num_attention_heads", .int(heads.heads)), ("num_key_value_heads", .int(heads.groups)), ("head_dim", .int(heads.headDim))]
        }
        for case .megatronArgs(_, let args) in sourceConfig {
            if let eps = args["norm_epsilon"] { fields.append(("rms_norm_eps", eps)) }
            if let positions = args["max_position_embeddings"] { fields.append(("max_position_embeddings", positions)) }
            if let base = args["rotary_base"] { fields.append(("rope_theta", base)) }
            break
        }
        return fields
    }
}
