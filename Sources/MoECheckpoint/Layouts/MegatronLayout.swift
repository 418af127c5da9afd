/// Megatron-Core key tables (`mapping-facts.md` §Megatron-Core, `layouts-megatron.md` §3–4).
///
/// One builder makes every variant: the expert class that wrote the keys, whether fc1 is a GLU
/// (`[G; U]`, gate rows first) and whether layers are per key (legacy, non-homogeneous
/// torch_dist) or stacked on a leading axis (homogeneous torch_dist).
public enum MegatronLayout {
    /// Which expert module wrote the keys.
    public enum ExpertClass: String, Sendable, CaseIterable {
        /// `SequentialMLP` in a legacy file: `experts.local_experts.{i}.linear_fc{1,2}.weight`.
        case sequential
        /// `SequentialMLP` as torch_dist names it: `experts.experts.linear_fc{1,2}.weight` with an
        /// expert axis (`[E, 2F, D]` per layer; layer-stacked when the layers are homogeneous).
        case distributed
        /// Legacy `GroupedMLP`: `experts.weight1` `[D, E·2F]` (memory `[E, D, 2F]`), `weight2` `[E·F, D]`.
        case grouped
        /// `TEGroupedMLP`: `experts.linear_fc1.weight{i}`, `experts.linear_fc2.weight{i}`.
        case teGrouped = "te_grouped"
    }

    /// Every variant, most common first (detection prefers earlier tables on a tie).
    public static let tables: [LayoutTable] = {
        var tables: [LayoutTable] = []
        for layers in [MappingRule.LayerPacking.perKey, .stacked] {
            for experts in ExpertClass.allCases where layers == .perKey || experts == .distributed {
                for glu in [true, false] {
                    tables.append(table(experts: experts, glu: glu, layers: layers))
                }
            }
        }
        return tables
    }()

    /// The table of one variant.
    public static func table(experts: ExpertClass, glu: Bool, layers: MappingRule.LayerPacking) -> LayoutTable {
        let stacked = layers == .stacked
        let p = stacked ? "decoder.layers.mlp." : "decoder.layers.{layer}.mlp."
        let fc1: [TensorRole] = glu ? [.expertGate, .expertUp] : [.expertUp]
        let join: MappingRule.Join = glu ? .concatRows : .single
        let source = "mapping-facts.md §Megatron-Core; layouts-megatron.md §4"
        var rules: [MappingRule] = [
            MappingRule(KeyPattern(p + "router.weight"), [.routerWeight], layers: layers, provenance: source),
            MappingRule(KeyPattern(p + "router.expert_bias"), [.expertBias], layers: layers, provenance: source),
        ]
        var ignored: [KeyPattern] = []
        switch (experts, stacked) {
        case (.sequential, false):
            rules += [
                MappingRule(KeyPattern(p + "experts.local_experts.{expert}.linear_fc1.weight"), fc1, join: join, provenance: source),
                MappingRule(KeyPattern(p + "experts.local_experts.{expert}.linear_fc2.weight"), [.expertDown], provenance: source),
            ]
            ignored += extraStates(p + "experts.local_experts.{expert}.")
        case (.sequential, true):
            preconditionFailure("legacy files never stack layers")
        case (.distributed, _):
            // Layer-stacked for homogeneous models; per-layer keys when `moe_layer_freq` is a list.
            rules += [
                MappingRule(KeyPattern(p + "experts.experts.linear_fc1.weight"), fc1, join: join, experts: .stacked, layers: layers, provenance: source),
                MappingRule(KeyPattern(p + "experts.experts.linear_fc2.weight"), [.expertDown], experts: .stacked, layers: layers, provenance: source),
            ]
            ignored += extraStates(p + "experts.experts.")
        case (.grouped, _):
            rules += [
                MappingRule(
                    KeyPattern(p + "experts.weight1"), fc1, join: join, transposed: true, experts: .stacked,
                    storedShape: [.d, (glu ? 2 : 1) * DimExpr(1, [.e, .f])], provenance: "layouts-megatron.md §3.5"),
                MappingRule(
                    KeyPattern(p + "experts.weight2"), [.expertDown], transposed: true, experts: .stacked,
                    storedShape: [DimExpr(1, [.e, .f]), .d], provenance: "layouts-megatron.md §3.5"),
            ]
        case (.teGrouped, _):
            rules += [
                MappingRule(KeyPattern(p + "experts.linear_fc1.weight{expert}"), fc1, join: join, provenance: "layouts-megatron.md §3.6"),
                MappingRule(KeyPattern(p + "experts.linear_fc2.weight{expert}"), [.expertDown], provenance: "layouts-megatron.md §3.6"),
            ]
            ignored += extraStates(p + "experts.")
        }
        rules += [
            MappingRule(KeyPattern(p + "shared_experts.linear_fc1.weight"), glu ? [.sharedGate, .sharedUp] : [.sharedUp], join: join, layers: layers, provenance: source),
            MappingRule(KeyPattern(p + "shared_experts.linear_fc2.weight"), [.sharedDown], layers: layers, provenance: source),
            MappingRule(KeyPattern(p + "shared_experts.gate_weight"), [.sharedExpertGate], layers: layers, provenance: source),
        ]
        ignored += extraStates(p + "shared_experts.")
        let variant = experts.rawValue + (glu ? "" : "-nonglu") + (stacked ? "-stacked" : "")
        return LayoutTable(layout: .megatron, variant: variant, rules: rules, ignored: ignored)
    }

    /// `_extra_state` entries of a module's two linears: `None` in legacy files, ShardedObjects
    /// (`…/shard_{l}.{e}_{L}.{E}`) in torch_dist. They carry no weights.
    private static func extraStates(_ prefix: String) -> [KeyPattern] {
        [KeyPattern(prefix + "linear_fc1._extra_state*"), KeyPattern(prefix + "linear_fc2._extra_state*")]
    }
}
