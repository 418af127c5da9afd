import Foundation

/// How a router turns logits into scores.
public enum ScoreFunction: String, Sendable, Codable, CaseIterable {
    case softmax
    case sigmoid
}

/// The expert activation (`cli.md`: swiglu is the default).
public enum Activation: String, Sendable, Codable, CaseIterable {
    case swiglu
    case geglu
    case quickGeGLU = "quick_geglu"
    case relu2
    case gelu
    case silu

    /// Whether fc1 holds a gate and an up half.
    public var isGated: Bool { self == .swiglu || self == .geglu || self == .quickGeGLU }
}

/// How the shared expert's output joins the routed output.
public enum SharedCombine: String, Sendable, Codable, CaseIterable {
    /// `routed + shared` (Megatron, NeMo, HF).
    case sum
    /// OLMo-core's `shared/(k+1) + routed·k/(k+1)`.
    case olmo
}

/// The routing settings, with the names of `cli.md`.
///
/// These are not in the weights: they come from the checkpoint's metadata (Megatron `args`, HF
/// `config.json`, OLMo-core `config.json`) and from options, which always win. A `nil` is an
/// unknown value, printed as JSON `null`.
public struct MoEConfig: Codable, Equatable, Sendable {
    public var topK: Int?
    public var scoreFunction: ScoreFunction?
    public var normalizeTopK: Bool?
    public var scalingFactor: Double?
    public var numGroups: Int?
    public var groupTopK: Int?
    public var activation: Activation?
    public var sharedCombine: SharedCombine?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case topK = "top_k"
        case scoreFunction = "score_function"
        case normalizeTopK = "normalize_topk"
        case scalingFactor = "scaling_factor"
        case numGroups = "num_groups"
        case groupTopK = "group_topk"
        case activation
        case sharedCombine = "shared_combine"
    }

    public init(
        topK: Int? = nil, scoreFunction: ScoreFunction? = nil, normalizeTopK: Bool? = nil, scalingFactor: Double? = nil,
        numGroups: Int? = nil, groupTopK: Int? = nil, activation: Activation? = nil, sharedCombine: SharedCombine? = nil
    ) {
        self.topK = topK
        self.scoreFunction = scoreFunction
        self.normalizeTopK = normalizeTopK
        self.scalingFactor = scalingFactor
        self.numGroups = numGroups
        self.groupTopK = groupTopK
        self.activation = activation
        self.sharedCombine = sharedCombine
    }

    /// Values of `overrides` win over `self` wherever they are set.
    public func overridden(by overrides: MoEConfig) -> MoEConfig {
        MoEConfig(
            topK: overrides.topK ?? topK,
            scoreFunction: overrides.scoreFunction ?? scoreFunction,
            normalizeTopK: overrides.normalizeTopK ?? normalizeTopK,
            scalingFactor: overrides.scalingFactor ?? scalingFactor,
            numGroups: overrides.numGroups ?? numGroups,
            groupTopK: overrides.groupTopK ?? groupTopK,
            activation: overrides.activation ?? activation,
            sharedCombine: overrides.sharedCombine ?? sharedCombine)
    }

    /// The JSON names of the settings a framework's metadata cannot leave out (Megatron `args`,
    /// an HF `config.json`): without them the target would load with another routing.
    public var missingRequiredSettings: [String] {
        [(CodingKeys.topK, topK == nil), (.scoreFunction, scoreFunction == nil), (.normalizeTopK, normalizeTopK == nil)]
            .filter(\.1).map(\.0.rawValue)
    }

    /// The command-line option that sets the JSON setting `name` (`cli.md`).
    public static func option(for name: String) -> String {
        switch CodingKeys(rawValue: name) {
        case .topK: return "--top-k K"
        case .scoreFunction: return "--score softmax|sigmoid"
        case .normalizeTopK: return "--normalize/--no-normalize"
        case .scalingFactor: return "--scale S"
        case .numGroups: return "--groups G"
        case .groupTopK: return "--group-topk N"
        case .activation: return "--activation A"
        case .sharedCombine: return "--shared-combine sum|olmo"
        case nil: return name
        }
    }

    /// Parses the compact JSON written by `json` (the recorded config).
    public init(json text: String) throws {
        self = try JSONDecoder().decode(MoEConfig.self, from: Data(text.utf8))
    }

    /// The `moe` object of `inspect --json`, in `cli.md`'s field order.
    public var json: JSONValue {
        .object(
            JSONObject([
                ("top_k", topK.map(JSONValue.int) ?? .null),
                ("score_function", scoreFunction.map { .string($0.rawValue) } ?? .null),
                ("normalize_topk", normalizeTopK.map(JSONValue.bool) ?? .null),
                ("scaling_factor", scalingFactor.map(JSONValue.double) ?? .null),
                ("num_groups", numGroups.map(JSONValue.int) ?? .null),
                ("group_topk", groupTopK.map(JSONValue.int) ?? .null),
                ("activation", activation.map { .string($0.rawValue) } ?? .null),
                ("shared_combine", sharedCombine.map { .string($0.rawValue) } ?? .null),
            ]))
    }
}
