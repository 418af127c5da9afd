/// The routing settings one MoE layer's forward runs with: an `MoEConfig` with every needed
/// value known and checked against the layer's expert count.
///
/// `top_k`, `score_function` and `normalize_topk` change the result and have no safe default, so
/// a missing one is `ConfigError.missingSetting`. A missing scale means 1 and missing groups mean
/// none, as in every framework's own defaults.
public struct RoutingSettings: Equatable, Sendable {
    /// Group-limited routing: `count` groups of `E / count` experts, `kept` of them per token.
    public struct Groups: Equatable, Sendable {
        public let count: Int
        public let kept: Int
        public init(count: Int, kept: Int) {
            self.count = count
            self.kept = kept
        }
    }

    /// Who chooses the experts.
    public enum Assignment: Equatable, Sendable {
        /// The router (the normal case).
        case learned
        /// OLMo-core `uniform_expert_assignment`: slot `j` of token `t` goes to expert `(t·k + j) mod E`;
        /// the weights are still gathered from the scores, then normalised and scaled.
        case uniform
        /// NeMo `FakeBalancedGate` (noise 0): expert `((t·k + j) mod (E − skip)) + skip`, weight `1/k`.
        case fakeBalanced(skip: Int)
    }

    public var topK: Int
    public var scoreFunction: ScoreFunction
    public var normalize: Bool
    public var scale: Float
    public var groups: Groups?
    public var assignment: Assignment

    public init(
        topK: Int, scoreFunction: ScoreFunction, normalize: Bool, scale: Float = 1, groups: Groups? = nil,
        assignment: Assignment = .learned
    ) {
        self.topK = topK
        self.scoreFunction = scoreFunction
        self.normalize = normalize
        self.scale = scale
        self.groups = groups
        self.assignment = assignment
    }

    /// Resolves `config` for a layer of `numExperts` experts; `checkpoint` names the source in errors.
    public init(_ config: MoEConfig, numExperts: Int, checkpoint: String) throws {
        guard let topK = config.topK else { throw ConfigError.missingSetting(setting: "top_k", checkpoint: checkpoint) }
        guard let score = config.scoreFunction else { throw ConfigError.missingSetting(setting: "score", checkpoint: checkpoint) }
        guard let normalize = config.normalizeTopK else { throw ConfigError.missingSetting(setting: "normalize", checkpoint: checkpoint) }
        var groups: Groups?
        if let count = config.numGroups, count > 1 {
            guard let kept = config.groupTopK else { throw ConfigError.missingSetting(setting: "group_topk", checkpoint: checkpoint) }
            groups = Groups(count: count, kept: kept)
        }
        self.init(topK: topK, scoreFunction: score, normalize: normalize, scale: Float(config.scalingFactor ?? 1), groups: groups)
        try validate(numExperts: numExperts, checkpoint: checkpoint)
    }

    /// Rejects settings the layer cannot run: more experts per token than it has, groups that
    /// do not divide the experts, or kept groups holding fewer than `k` experts.
    public func validate(numExperts: Int, checkpoint: String) throws {
        guard topK >= 1, topK <= numExperts else {
            throw ConfigError.inconsistent(file: checkpoint, reason: "top_k \(topK) must be between 1 and the expert count \(numExperts)")
        }
        guard scale.isFinite else { throw ConfigError.inconsistent(file: checkpoint, reason: "scaling_factor \(scale) is not finite") }
        if let groups {
            guard numExperts % groups.count == 0 else {
                throw ConfigError.inconsistent(file: checkpoint, reason: "num_groups \(groups.count) does not divide the expert count \(numExperts)")
            }
            guard groups.kept >= 1, groups.kept <= groups.count else {
                throw ConfigError.inconsistent(file: checkpoint, reason: "group_topk \(groups.kept) must be between 1 and num_groups \(groups.count)")
            }
            guard groups.kept * (numExperts / groups.count) >= topK else {
                throw ConfigError.inconsistent(
                    file: checkpoint, reason: "group_topk \(groups.kept) groups of \(numExperts / groups.count) experts cannot hold top_k \(topK)")
            }
        }
        if case .fakeBalanced(let skip) = assignment, skip < 0 || skip >= numExperts {
            throw ConfigError.inconsistent(file: checkpoint, reason: "fake-balanced skip \(skip) must be below the expert count \(numExperts)")
        }
    }
}
