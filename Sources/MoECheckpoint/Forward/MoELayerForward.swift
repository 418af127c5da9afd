/// The output of one MoE layer's forward.
public struct MoEForwardResult: Sendable {
    public let layer: Int
    public let tokens: Int
    public let hiddenSize: Int
    /// The MoE block output `[T, D]`, shared expert included.
    public let y: [Float]
    public let routing: Routing
    public let diagnostics: RoutingDiagnostics
}

/// The embedded forward of one MoE layer, in float32 from weights of any dtype:
/// router → dropless experts → shared expert → combination.
///
/// Reproduces Megatron-Core 0.16.1 `MoELayer.forward` (`routed + shared`), NeMo AutoModel 0.7.0
/// `MoE.forward` (`routed + sigmoid(x·S_gateᵀ)·shared`) and OLMo-core 3.0.0 `MoEBase.forward`
/// (`shared/(k+1) + routed·k/(k+1)`), in eval mode with no capacity dropping.
public struct MoELayerForward: Sendable {
    public let layer: Int
    public let router: Router
    public let experts: ExpertBank
    public let shared: SharedExpert?
    public let combine: SharedCombine
    public let hiddenSize: Int

    /// Builds the forward of `layer` with `config` (metadata and options already merged).
    /// Reads only the router and its bias; experts are read when they run.
    public init(_ layer: CanonicalMoELayer, config: MoEConfig, flavor: RoutingFlavor, checkpoint: String) throws {
        let e = layer.dims.numExperts
        let d = layer.dims.hiddenSize
        let settings = try RoutingSettings(config, numExperts: e, checkpoint: checkpoint)
        guard layer.router.shape == [e, d] else {
            throw ForwardError.weightShape(checkpoint: checkpoint, key: "layer \(layer.layer) router", expected: [e, d], found: layer.router.shape)
        }
        var bias: [Float]?
        if let expertBias = layer.expertBias {
            guard expertBias.elementCount == e else {
                throw ForwardError.weightShape(checkpoint: checkpoint, key: "layer \(layer.layer) expert bias", expected: [e], found: expertBias.shape)
            }
            bias = try WeightFloats.array(expertBias)
        }
        router = try Router(
            weight: try WeightFloats.array(layer.router), bias: bias, numExperts: e, hiddenSize: d, settings: settings, flavor: flavor)
        let activation = try config.activation ?? Self.defaultActivation(layer, checkpoint: checkpoint)
        experts = try ExpertBank(layer, activation: activation, flavor: flavor, checkpoint: checkpoint)
        shared = try layer.shared.map {
            // The shared expert runs the layer's activation; a gated shared unit in a layer of
            // non-gated experts is SwiGLU (NeMo's `shared_expert_activation` default).
            let sharedActivation: Activation = ($0.gate != nil) == activation.isGated ? activation : ($0.gate != nil ? .swiglu : .relu2)
            return try SharedExpert($0, layer: layer, activation: sharedActivation, flavor: flavor, checkpoint: checkpoint)
        }
        combine = config.sharedCombine ?? .sum
        self.layer = layer.layer
        hiddenSize = d
    }

    /// SwiGLU when the experts have gate projections; otherwise the activation must be given.
    static func defaultActivation(_ layer: CanonicalMoELayer, checkpoint: String) throws -> Activation {
        guard layer.experts.first?.gate != nil else { throw ConfigError.missingSetting(setting: "activation", checkpoint: checkpoint) }
        return .swiglu
    }

    /// Runs `tokens` rows of `x` (`[T, D]`, float32).
    public func run(_ x: [Float], tokens: Int) throws -> MoEForwardResult {
        precondition(x.count == tokens * hiddenSize, "x is [T, D]")
        try Matmul.requireBLAS()
        let routing = router.route(x, tokens: tokens)
        var y = try experts.apply(x, routing: routing)
        if let shared {
            let s = try shared.apply(x, tokens: tokens)
            switch combine {
            case .sum:
                for i in y.indices { y[i] += s[i] }
            case .olmo:
                let k = Float(routing.topK)
                for i in y.indices { y[i] = s[i] / (k + 1) + y[i] * k / (k + 1) }
            }
        }
        return MoEForwardResult(
            layer: layer, tokens: tokens, hiddenSize: hiddenSize, y: y, routing: routing,
            diagnostics: RoutingDiagnostics(routing, scoreFunction: router.settings.scoreFunction))
    }
}
