/// NeMo AutoModel's native grouped keys (`model.state_dict()`; `mapping-facts.md` §NeMo,
/// `layouts-nemo-hf.md` §1.4, §2.1).
///
/// `gate_and_up_projs` is `[E, D, 2F]`: each expert's `[G; U]` stored input-major, gate columns
/// first; `down_projs` is `[E, F, D]`. Non-gated activations (relu2) keep only the up half.
public enum NeMoLayout {
    /// GLU and non-GLU variants.
    public static let tables: [LayoutTable] = [table(glu: true), table(glu: false)]

    /// The table for gated or non-gated experts.
    public static func table(glu: Bool) -> LayoutTable {
        let p = "model.layers.{layer}.mlp."
        let source = "mapping-facts.md §NeMo-AutoModel; layouts-nemo-hf.md §2.1"
        return LayoutTable(
            layout: .nemo, variant: glu ? "grouped" : "grouped-nonglu",
            rules: [
                MappingRule(KeyPattern(p + "gate.weight"), [.routerWeight], provenance: source),
                MappingRule(KeyPattern(p + "gate.e_score_correction_bias"), [.expertBias], provenance: source),
                MappingRule(
                    KeyPattern(p + "experts.gate_and_up_projs"), glu ? [.expertGate, .expertUp] : [.expertUp],
                    join: glu ? .concatRows : .single, transposed: true, experts: .stacked, provenance: source),
                MappingRule(KeyPattern(p + "experts.down_projs"), [.expertDown], transposed: true, experts: .stacked, provenance: source),
            ] + HFLayout.projections(p + "shared_experts.", [.sharedGate, .sharedUp, .sharedDown], provenance: source)
                + [MappingRule(KeyPattern(p + "shared_expert_gate.weight"), [.sharedExpertGate], provenance: source)])
    }
}
