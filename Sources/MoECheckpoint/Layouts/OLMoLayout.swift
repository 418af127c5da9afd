/// OLMo-core key tables, as the trainer's DCP stores them (`model.` prefix;
/// `mapping-facts.md` §OLMo-core, `layouts-olmo.md` §2–4).
///
/// Dropless and default MoE MLPs use the same names with different shapes (quirk 6), so they
/// are two tables; the shape solver tells them apart unless `F == D`.
public enum OLMoLayout {
    /// `MoEType.dropless` (`DroplessMoEMLP`, OLMoE) and `MoEType.default` (`MoEMLP`).
    public enum MoEType: String, Sendable, CaseIterable {
        case dropless
        case `default`
    }

    /// Every variant, dropless first.
    public static let tables: [LayoutTable] = MoEType.allCases.map(table)

    /// The table of one MoE type.
    public static func table(_ type: MoEType) -> LayoutTable {
        let p = "model.blocks.{layer}.feed_forward_moe."
        let source = "mapping-facts.md §OLMo-core; layouts-olmo.md §2.2"
        let ef = DimExpr(1, [.e, .f])
        let ed = DimExpr(1, [.e, .d])
        // Dropless keeps gate/up output-major ([E·F, D]); the default MoEMLP stores them
        // input-major ([E·D, F]). Both store down transposed per expert ([E·F, D]).
        let inputMajor = type == .default
        let gateUpShape: [DimExpr] = inputMajor ? [ed, .f] : [ef, .d]
        return LayoutTable(
            layout: .olmo, variant: type.rawValue,
            rules: [
                MappingRule(KeyPattern(p + "router.weight"), [.routerWeight], storedShape: [ed], provenance: source),
                MappingRule(KeyPattern(p + "router.score_bias"), [.expertBias], provenance: source),
                MappingRule(KeyPattern(p + "experts.mlp.w1"), [.expertGate], transposed: inputMajor, experts: .stacked, storedShape: gateUpShape, provenance: source),
                MappingRule(KeyPattern(p + "experts.mlp.w3"), [.expertUp], transposed: inputMajor, experts: .stacked, storedShape: gateUpShape, provenance: source),
                MappingRule(KeyPattern(p + "experts.mlp.w2"), [.expertDown], transposed: true, experts: .stacked, storedShape: [ef, .d], provenance: source),
                MappingRule(KeyPattern(p + "shared_mlp.w1.weight"), [.sharedGate], provenance: "layouts-olmo.md §2.4"),
                MappingRule(KeyPattern(p + "shared_mlp.w3.weight"), [.sharedUp], provenance: "layouts-olmo.md §2.4"),
                MappingRule(KeyPattern(p + "shared_mlp.w2.weight"), [.sharedDown], provenance: "layouts-olmo.md §2.4"),
            ])
    }
}
