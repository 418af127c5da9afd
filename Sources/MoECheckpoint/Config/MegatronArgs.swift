/// The MoE fields of Megatron-LM's `args` Namespace (`layouts-megatron.md` §4.1), and their
/// meaning in `MoEConfig` terms.
public struct MegatronArgs: Equatable, Sendable {
    public var numExperts: Int?
    public var topK: Int?
    public var scoreFunction: String?
    public var preSoftmax: Bool?
    public var scalingFactor: Double?
    public var numGroups: Int?
    public var groupTopK: Int?
    public var swiglu: Bool?
    public var squaredReLU: Bool?
    public var quickGeGLU: Bool?
    public var expertBias: Bool?

    /// The Namespace field behind each property: one list serves reading and writing.
    static var fieldNames: [(String, WritableKeyPath<MegatronArgs, Int?>)] { [
        ("num_experts", \.numExperts), ("moe_router_topk", \.topK),
        ("moe_router_num_groups", \.numGroups), ("moe_router_group_topk", \.groupTopK),
    ] }
    static var boolFieldNames: [(String, WritableKeyPath<MegatronArgs, Bool?>)] { [
        ("moe_router_pre_softmax", \.preSoftmax), ("swiglu", \.swiglu), ("squared_relu", \.squaredReLU),
        ("quick_geglu", \.quickGeGLU), ("moe_router_enable_expert_bias", \.expertBias),
    ] }

    public init(fields: JSONObject) {
        for (name, path) in Self.fieldNames { self[keyPath: path] = fields[name]?.intValue }
        for (name, path) in Self.boolFieldNames { self[keyPath: path] = fields[name]?.boolValue }
        scoreFunction = fields["moe_router_score_function"]?.stringValue
        scalingFactor = fields["moe_router_topk_scaling_factor"]?.doubleValue
    }

    /// Megatron's routing semantics (`mapping-facts.md` §Router math): softmax renormalises unless
    /// `pre_softmax`; sigmoid always normalises when k > 1; no scaling factor means 1.
    public var moeConfig: MoEConfig {
        var config = MoEConfig(topK: topK)
        config.scoreFunction = scoreFunction.flatMap(ScoreFunction.init(rawValue:))
        switch config.scoreFunction {
        case .softmax: config.normalizeTopK = Self.softmaxRenormalises(preSoftmax: preSoftmax ?? false)
        case .sigmoid: config.normalizeTopK = (topK ?? 1) > 1
        case nil: break
        }
        config.scalingFactor = scalingFactor ?? 1.0
        if let groups = numGroups, groups > 1 {
            config.numGroups = groups
            config.groupTopK = groupTopK
        }
        if swiglu == true { config.activation = .swiglu } else if squaredReLU == true { config.activation = .relu2 } else if quickGeGLU == true { config.activation = .quickGeGLU }
        config.sharedCombine = .sum
        return config
    }

    /// `pre_softmax=False` takes top-k of the logits and softmaxes over those k, which is the
    /// renormalised form; `pre_softmax=True` softmaxes over all experts and does not renormalise.
    static func softmaxRenormalises(preSoftmax: Bool) -> Bool { !preSoftmax }
}
