/// The MoE part of an OLMo-core experiment `config.json` (`layouts-olmo.md` §3.3): the model
/// sits under `model`, the MoE under `model.block.feed_forward_moe`.
public struct OLMoConfig: Equatable, Sendable {
    public var moeType: String?
    public var numExperts: Int?
    public var topK: Int?
    public var gatingFunction: String?
    /// `normalize_expert_weights`: the p of the p-norm, or `nil` for raw weights.
    public var normalizeExpertWeights: Double?
    public var hasBias: Bool

    public init(_ object: JSONObject) {
        let moe = object["model"]?.objectValue?["block"]?.objectValue?["feed_forward_moe"]?.objectValue
        let router = moe?["router"]?.objectValue
        moeType = moe?["name"]?.stringValue
        numExperts = moe?["num_experts"]?.intValue
        topK = router?["top_k"]?.intValue
        gatingFunction = router?["gating_function"]?.stringValue
        normalizeExpertWeights = router?["normalize_expert_weights"]?.doubleValue
        hasBias = router?["bias_gamma"].map { !$0.isNull } ?? false
    }

    /// OLMo-core's v1 router has no scale and no groups; a missing gating function is softmax.
    public var moeConfig: MoEConfig {
        MoEConfig(
            topK: topK, scoreFunction: ScoreFunction(rawValue: gatingFunction ?? "softmax"),
            normalizeTopK: normalizeExpertWeights == 1, scalingFactor: 1.0, activation: .swiglu, sharedCombine: .olmo)
    }
}
