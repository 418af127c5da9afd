/// Every layout table moe-ckpt knows, and detection over them.
public enum LayoutCatalog {
    /// All tables, per framework.
    public static func tables(for layout: Layout) -> [LayoutTable] {
        switch layout {
        case .megatron: return MegatronLayout.tables
        case .olmo: return OLMoLayout.tables
        case .nemo: return NeMoLayout.tables
        case .hf: return HFLayout.tables
        }
    }

    /// All tables of all frameworks.
    public static var all: [LayoutTable] { Layout.allCases.flatMap(tables) }

    /// Finds the table that explains the checkpoint's MoE tensors. `forced` (`--from`) and the
    /// container's own hint narrow the search; an HF `model_type` breaks ties between families.
    public static func detect(_ checkpoint: Checkpoint, forced: Layout? = nil) throws -> ResolvedLayout {
        let layouts = forced.map { [$0] } ?? checkpoint.layoutHint.map { [$0] } ?? Layout.allCases
        let candidates = layouts.flatMap(tables)
        var preferred: String?
        for case .hf(_, let config) in checkpoint.configSources { preferred = config.modelType }
        if let resolved = LayoutResolver.detect(checkpoint.stateDict, among: candidates, preferredVariant: preferred) {
            return resolved
        }
        if let forced {
            // Say why the forced layout does not fit, with the first contradiction found.
            for table in tables(for: forced) {
                do { _ = try LayoutResolver.resolve(checkpoint.stateDict, with: table) } catch let mismatch as LayoutMismatch {
                    throw CheckpointError.layoutMismatch(path: checkpoint.path, layout: forced.rawValue, reason: mismatch.description)
                }
            }
            throw CheckpointError.layoutMismatch(path: checkpoint.path, layout: forced.rawValue, reason: "no MoE tensor matches its keys")
        }
        throw CheckpointError.unknownLayout(
            path: checkpoint.path,
            reason: "no MoE router or expert tensor matches the Megatron, OLMo, NeMo or HF keys (\(checkpoint.stateDict.count) tensors)")
    }
}
