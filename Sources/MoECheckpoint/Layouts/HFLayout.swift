/// Hugging Face per-expert key tables, one per model family (`layouts-nemo-hf.md` §2, §4).
///
/// Families differ only in which row groups they combine: the router and expert rows are
/// shared, and each family adds its bias and shared-expert spelling.
public enum HFLayout {
    /// The families moe-ckpt reads and writes, named by their `config.json` `model_type`.
    public enum Family: String, Sendable, CaseIterable {
        case deepseekV3 = "deepseek_v3"
        case glm4MoE = "glm4_moe"
        case qwen3MoE = "qwen3_moe"
        case qwen3Next = "qwen3_next"
        case mixtral
        case olmoe
        /// transformers v5's fused in-memory keys, which NeMo saves for Mixtral/OLMoE hosts.
        case fusedV5 = "fused_v5"
    }

    /// DeepSeek-V3's multi-head latent attention has no q/k/v projections and another `o_proj`
    /// width: no other framework's attention tensors fit it.
    public static func hasLatentAttention(_ family: Family) -> Bool { family == .deepseekV3 }

    /// Every family; on a tie in detection the earlier one wins, so the richest comes first.
    public static let tables: [LayoutTable] = Family.allCases.map(table)

    /// The table of one family.
    public static func table(_ family: Family) -> LayoutTable {
        let p = "model.layers.{layer}.mlp."
        let routed: [TensorRole] = [.expertGate, .expertUp, .expertDown]
        let shared: [TensorRole] = [.sharedGate, .sharedUp, .sharedDown]
        var rules: [MappingRule]
        switch family {
        case .deepseekV3, .glm4MoE:
            rules = [router(p + "gate.weight"), bias(p + "gate.e_score_correction_bias")]
                + projections(p + "experts.{expert}.", routed, provenance: "layouts-nemo-hf.md §2.2")
                + projections(p + "shared_experts.", shared, provenance: "layouts-nemo-hf.md §2.2")
        case .qwen3MoE, .olmoe:
            rules = [router(p + "gate.weight")] + projections(p + "experts.{expert}.", routed, provenance: "layouts-nemo-hf.md §2.3")
        case .qwen3Next:
            rules = [router(p + "gate.weight")]
                + projections(p + "experts.{expert}.", routed, provenance: "layouts-nemo-hf.md §2.4")
                + projections(p + "shared_expert.", shared, provenance: "layouts-nemo-hf.md §2.4")
                + [MappingRule(KeyPattern(p + "shared_expert_gate.weight"), [.sharedExpertGate], provenance: "layouts-nemo-hf.md §2.4")]
        case .mixtral:
            let m = "model.layers.{layer}.block_sparse_moe."
            let source = "layouts-nemo-hf.md §2.7"
            rules = [
                router(m + "gate.weight"),
                MappingRule(KeyPattern(m + "experts.{expert}.w1.weight"), [.expertGate], provenance: source),
                MappingRule(KeyPattern(m + "experts.{expert}.w3.weight"), [.expertUp], provenance: source),
                MappingRule(KeyPattern(m + "experts.{expert}.w2.weight"), [.expertDown], provenance: source),
            ]
        case .fusedV5:
            let source = "layouts-nemo-hf.md §2.7 (transformers conversion_mapping.py)"
            rules = [
                router(p + "gate.weight"),
                MappingRule(KeyPattern(p + "experts.gate_up_proj"), [.expertGate, .expertUp], join: .concatRows, experts: .stacked, provenance: source),
                MappingRule(KeyPattern(p + "experts.down_proj"), [.expertDown], experts: .stacked, provenance: source),
            ]
        }
        return LayoutTable(layout: .hf, variant: family.rawValue, rules: rules)
    }

    /// `{prefix}gate_proj.weight`, `up_proj.weight`, `down_proj.weight` for three roles, which
    /// HF, NeMo's shared experts and dense MLPs all spell the same way.
    static func projections(_ prefix: String, _ roles: [TensorRole], provenance: String) -> [MappingRule] {
        zip(["gate_proj", "up_proj", "down_proj"], roles).map { name, role in
            MappingRule(KeyPattern(prefix + name + ".weight"), [role], provenance: provenance)
        }
    }

    private static func router(_ key: String) -> MappingRule {
        MappingRule(KeyPattern(key), [.routerWeight], provenance: "layouts-nemo-hf.md §2")
    }

    private static func bias(_ key: String) -> MappingRule {
        MappingRule(KeyPattern(key), [.expertBias], provenance: "layouts-nemo-hf.md §2.2 (fp32 buffer)")
    }
}
