/// Chooses the target table for a conversion and renders the canonical model into it.
public enum TargetLayout {
    /// The variant of `layout` that fits `model` and `format`: GLU or not, the HF family the
    /// model's features need, Megatron's legacy or distributed expert naming.
    public static func table(for layout: Layout, format: ContainerFormat, model: CanonicalModel) -> LayoutTable {
        let source = model.source.table
        let gated = model.layers.contains { $0.experts.first?.gate != nil }
        if source.layout == layout && (layout != .megatron || megatronExperts(for: format) == sourceMegatronClass(source)) {
            return source
        }
        switch layout {
        case .megatron:
            return MegatronLayout.table(experts: megatronExperts(for: format), glu: gated, layers: .perKey)
        case .olmo:
            return OLMoLayout.table(.dropless)
        case .nemo:
            return NeMoLayout.table(glu: gated)
        case .hf:
            return HFLayout.table(hfFamily(for: model))
        }
    }

    /// The table `--variant name` asks for (`default`, `deepseek_v3`, `grouped`…); the GLU form
    /// follows the model. An unknown or unwritable name is a usage error listing the choices.
    public static func table(named name: String, for layout: Layout, format: ContainerFormat, model: CanonicalModel) throws -> LayoutTable {
        let gated = model.layers.contains { $0.experts.first?.gate != nil }
        var candidates = LayoutCatalog.tables(for: layout).filter { !$0.variant.hasSuffix("-stacked") }
        if layout == .megatron || layout == .nemo {
            candidates = candidates.filter { $0.variant.hasSuffix("-nonglu") != gated }
        }
        if layout == .megatron {
            // torch_dist's writer names SequentialMLP experts one way only.
            let distributed = MegatronLayout.ExpertClass.distributed.rawValue
            candidates = candidates.filter { (format == .torchDist) == $0.variant.hasPrefix(distributed) }
        }
        let base = { (variant: String) in variant.replacingOccurrences(of: "-nonglu", with: "") }
        guard let table = candidates.first(where: { base($0.variant) == name }) else {
            let choices = Array(Set(candidates.map { base($0.variant) })).sorted().joined(separator: ", ")
            throw ConvertError.unsupportedTarget(layout: layout, format: format, reason: "no variant '\(name)' here (choices: \(choices))")
        }
        return table
    }

    /// torch_dist names SequentialMLP experts `experts.experts.*` with an expert axis; every other
    /// container keeps the legacy `local_experts.{i}` keys.
    static func megatronExperts(for format: ContainerFormat) -> MegatronLayout.ExpertClass {
        format == .torchDist ? .distributed : .sequential
    }

    static func sourceMegatronClass(_ table: LayoutTable) -> MegatronLayout.ExpertClass? {
        MegatronLayout.ExpertClass.allCases.first { table.variant.hasPrefix($0.rawValue) }
    }

    /// The HF family whose keys and forward fit the model: Qwen3-Next for a gated shared expert,
    /// DeepSeek-V3 for a bias, groups or a plain shared expert, Qwen3-MoE otherwise.
    public static func hfFamily(for model: CanonicalModel) -> HFLayout.Family {
        let shared = model.layers.contains { $0.shared != nil }
        let sharedGate = model.layers.contains { $0.shared?.outputGate != nil }
        let bias = model.layers.contains { $0.expertBias != nil }
        if sharedGate { return .qwen3Next }
        if shared || bias || model.config.numGroups != nil || model.config.scoreFunction == .sigmoid { return .deepseekV3 }
        return .qwen3MoE
    }

    /// The native tensors of every MoE layer under `table`, in layer order.
    public static func render(_ model: CanonicalModel, into table: LayoutTable) throws -> [TensorEntry] {
        var entries: [TensorEntry] = []
        for layer in model.layers {
            var dims: [Dim: Int] = [.e: layer.dims.numExperts, .d: layer.dims.hiddenSize]
            dims[.f] = layer.dims.ffnHiddenSize
            dims[.fs] = layer.dims.sharedFFNHiddenSize
            var canonical: [CanonicalKey: any TensorSource] = [:]
            for (key, source) in layer.tensors { canonical[key] = source }
            var used = Set<CanonicalKey>()
            for rule in table.rules {
                guard rule.layers == .perKey else {
                    throw ConvertError.unsupportedTarget(layout: table.layout, format: .safetensors, reason: "layer-stacked rows are written by the torch_dist writer")
                }
                func parts(expert: Int?) -> [any TensorSource]? {
                    let keys = rule.parts.map { CanonicalKey($0, layer: layer.layer, expert: $0.isPerExpert ? expert : nil) }
                    let found = keys.compactMap { canonical[$0] }
                    guard found.count == keys.count else { return nil }
                    used.formUnion(keys)
                    return found
                }
                switch rule.experts {
                case .none:
                    guard let unit = parts(expert: nil) else { continue }
                    entries.append(try entry(rule, layer: layer.layer, expert: nil, units: [unit], dims: dims))
                case .perKey:
                    for e in 0..<layer.dims.numExperts {
                        guard let unit = parts(expert: e) else { continue }
                        entries.append(try entry(rule, layer: layer.layer, expert: e, units: [unit], dims: dims))
                    }
                case .stacked:
                    let units = (0..<layer.dims.numExperts).compactMap { parts(expert: $0) }
                    guard units.count == layer.dims.numExperts else { continue }
                    entries.append(try entry(rule, layer: layer.layer, expert: nil, units: units, dims: dims))
                }
            }
            if let lost = canonical.keys.filter({ !used.contains($0) }).sorted().first {
                throw ConvertError.noTargetRow(layout: table.name, what: lost.description)
            }
        }
        return entries
    }

    private static func entry(_ rule: MappingRule, layer: Int, expert: Int?, units: [[any TensorSource]], dims: [Dim: Int]) throws -> TensorEntry {
        let source = try AssembledTensor(rule: rule, units: units, dims: dims)
        let file = (units.first?.first as? CanonicalTensor)?.native.file ?? ""
        return TensorEntry(key: rule.pattern.render(layer: layer, expert: expert), source: source, file: file)
    }
}
