/// Resolves the routing config of a checkpoint from its metadata, before options.
public enum MoEConfigResolver {
    /// The config the metadata gives, and the file it came from (`nil` when nothing says).
    public static func fromMetadata(_ checkpoint: Checkpoint, layout: ResolvedLayout) -> (config: MoEConfig, source: String?) {
        var config = MoEConfig()
        var source: String?
        for configSource in checkpoint.configSources.reversed() {
            let found: MoEConfig
            switch configSource {
            case .hf(_, let hf): found = hf.moeConfig
            case .megatronArgs(_, let fields): found = MegatronArgs(fields: fields).moeConfig
            case .olmo(_, let object): found = OLMoConfig(object).moeConfig
            case .recorded(_, let recorded, _): found = recorded
            }
            config = config.overridden(by: found)
            source = configSource.file
        }
        let gated = layout.layers.contains { $0.tensor(for: .expertGate) != nil }
        if let activation = config.activation, activation.isGated != gated {
            // The tensors win over a config that says otherwise (NeMo's relu2 export keeps the
            // host's `hidden_act: silu`): an activation we cannot trust is unknown.
            config.activation = nil
        }
        if config.activation == nil, gated { config.activation = .swiglu }
        if !layout.layers.contains(where: \.hasSharedExpert) {
            // How shared experts would be mixed means nothing without them.
            config.sharedCombine = nil
        } else if config.sharedCombine == nil {
            config.sharedCombine = layout.table.layout == .olmo ? .olmo : .sum
        }
        return (config, source)
    }
}
