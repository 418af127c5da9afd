/// One routed expert: `W_d · act(W_g·x, W_u·x)`; `gate` is absent for non-gated activations.
public struct CanonicalExpert: Sendable {
    public let gate: (any TensorSource)?
    public let up: any TensorSource
    public let down: any TensorSource
}

/// The shared expert, with its optional sigmoid output gate `[1, D]`.
public struct CanonicalSharedExpert: Sendable {
    public let gate: (any TensorSource)?
    public let up: any TensorSource
    public let down: any TensorSource
    public let outputGate: (any TensorSource)?
}

/// One MoE layer in canonical form: router `[E, D]`, optional float32 bias `[E]`, experts in
/// global order, optional shared expert. Every tensor is a lazy view into the source files.
public struct CanonicalMoELayer: Sendable {
    public let layer: Int
    public let dims: MoELayerDims
    public let router: any TensorSource
    public let expertBias: (any TensorSource)?
    public let experts: [CanonicalExpert]
    public let shared: CanonicalSharedExpert?

    /// Every canonical tensor of the layer, keyed.
    public var tensors: [(key: CanonicalKey, source: any TensorSource)] {
        var out: [(CanonicalKey, any TensorSource)] = [(CanonicalKey(.routerWeight, layer: layer), router)]
        if let expertBias { out.append((CanonicalKey(.expertBias, layer: layer), expertBias)) }
        for (e, expert) in experts.enumerated() {
            if let gate = expert.gate { out.append((CanonicalKey(.expertGate, layer: layer, expert: e), gate)) }
            out.append((CanonicalKey(.expertUp, layer: layer, expert: e), expert.up))
            out.append((CanonicalKey(.expertDown, layer: layer, expert: e), expert.down))
        }
        if let shared {
            if let gate = shared.gate { out.append((CanonicalKey(.sharedGate, layer: layer), gate)) }
            out.append((CanonicalKey(.sharedUp, layer: layer), shared.up))
            out.append((CanonicalKey(.sharedDown, layer: layer), shared.down))
            if let outputGate = shared.outputGate { out.append((CanonicalKey(.sharedExpertGate, layer: layer), outputGate)) }
        }
        return out
    }
}

/// The one model every layout reads into and writes from.
public struct CanonicalModel: Sendable {
    /// MoE layers in layer order.
    public let layers: [CanonicalMoELayer]
    /// Routing settings (metadata, then options).
    public let config: MoEConfig
    /// The source as its table saw it.
    public let source: ResolvedLayout
    /// Tensors outside the MoE layers (embeddings, attention, norms, dense MLPs), in source naming.
    public let otherTensors: [TensorEntry]

    /// Reads `resolved` (the layout of `checkpoint`) into canonical form. This is the one place
    /// the completeness audit runs: it fails, naming the checkpoint, with a list when an expert
    /// or projection is missing or given twice.
    public init(_ resolved: ResolvedLayout, of checkpoint: Checkpoint, config: MoEConfig) throws {
        let problems = ExpertAudit.problems(in: resolved)
        guard problems.isEmpty else { throw ConvertError.incompleteExperts(path: checkpoint.path, problems: problems) }
        var layers: [CanonicalMoELayer] = []
        for layer in resolved.layers {
            var dims: [Dim: Int] = [.e: layer.dims.numExperts, .d: layer.dims.hiddenSize]
            dims[.f] = layer.dims.ffnHiddenSize
            dims[.fs] = layer.dims.sharedFFNHiddenSize
            dims[.l] = layer.stackedLayerCount
            var single: [TensorRole: any TensorSource] = [:]
            var perExpert: [TensorRole: [Int: any TensorSource]] = [:]
            for matched in layer.tensors {
                for role in matched.rule.parts {
                    let slot = matched.rule.layers == .stacked ? matched.layer : 0
                    if matched.rule.experts == .stacked {
                        for e in 0..<layer.dims.numExperts {
                            perExpert[role, default: [:]][e] = CanonicalTensor(
                                native: matched.entry, rule: matched.rule, role: role, layerSlot: slot, stackedExpert: e, dims: dims)
                        }
                    } else {
                        let tensor = CanonicalTensor(native: matched.entry, rule: matched.rule, role: role, layerSlot: slot, stackedExpert: nil, dims: dims)
                        if let e = matched.expert { perExpert[role, default: [:]][e] = tensor } else { single[role] = tensor }
                    }
                }
            }
            let experts = (0..<layer.dims.numExperts).map { e in
                CanonicalExpert(gate: perExpert[.expertGate]?[e], up: perExpert[.expertUp]![e]!, down: perExpert[.expertDown]![e]!)
            }
            var shared: CanonicalSharedExpert?
            if let up = single[.sharedUp], let down = single[.sharedDown] {
                shared = CanonicalSharedExpert(gate: single[.sharedGate], up: up, down: down, outputGate: single[.sharedExpertGate])
            }
            layers.append(CanonicalMoELayer(
                layer: layer.layer, dims: layer.dims, router: single[.routerWeight]!, expertBias: single[.expertBias],
                experts: experts, shared: shared))
        }
        self.layers = layers
        self.config = config
        self.source = resolved
        let other = Set(resolved.otherKeys)
        otherTensors = checkpoint.stateDict.entries.filter { other.contains($0.key) }
    }

    /// The layer with index `layer`, or the first MoE layer.
    public func layer(_ index: Int?) -> CanonicalMoELayer? {
        guard let index else { return layers.first }
        return layers.first { $0.layer == index }
    }
}
