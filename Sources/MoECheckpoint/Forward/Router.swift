import Foundation

/// The routing decisions for a batch of tokens.
public struct Routing: Sendable {
    public let tokens: Int
    public let numExperts: Int
    public let topK: Int
    /// Router logits `[T, E]`, float32.
    public let logits: [Float]
    /// The values the top-k ranked, `[T, E]`: biased sigmoid scores, probabilities or logits.
    public let selectionScores: [Float]
    /// Chosen experts `[T, k]`, per token sorted by weight, largest first.
    public let indices: [Int]
    /// Their weights `[T, k]`, after normalisation and scale.
    public let weights: [Float]

    /// Token `t`'s chosen experts as a set, for comparing two routings.
    public func expertSet(_ t: Int) -> Set<Int> { Set(indices[(t * topK)..<((t + 1) * topK)]) }
}

/// The MoE router: float32 logits from the stored router weight, then each framework's score
/// function, selection, normalisation and scale.
///
/// Reproduces Megatron-Core 0.16.1 `moe_utils.topk_routing_with_score_function`, OLMo-core 3.0.0
/// `MoERouter.forward`/`get_top_k` and NeMo AutoModel 0.7.0 `Gate._route_scores`; the
/// differences between them are `RoutingFlavor` fields (`mapping-facts.md` §Router math).
/// The expert bias is float32 and only ever changes which experts are chosen, never their weights.
public struct Router: Sendable {
    /// `[E, D]`, widened to float32.
    public let weight: [Float]
    /// `[E]` float32 selection bias, if the checkpoint has one.
    public let bias: [Float]?
    public let numExperts: Int
    public let hiddenSize: Int
    public let settings: RoutingSettings
    public let flavor: RoutingFlavor

    /// Fails when `flavor`'s framework cannot run `settings` (OLMo-core v1 has no group routing,
    /// NeMo none for softmax).
    public init(weight: [Float], bias: [Float]?, numExperts: Int, hiddenSize: Int, settings: RoutingSettings, flavor: RoutingFlavor) throws {
        precondition(weight.count == numExperts * hiddenSize, "router weight is [E, D]")
        precondition(bias.map { $0.count == numExperts } ?? true, "bias is [E]")
        if let groups = settings.groups, settings.assignment == .learned {
            guard let rule = flavor.groupRule, rule.scoreFunctions.contains(settings.scoreFunction) else {
                throw ForwardError.unsupportedRouting(
                    flavor: flavor.name.rawValue,
                    reason: "group-limited routing (\(groups.count) groups, keep \(groups.kept)) with \(settings.scoreFunction.rawValue) scores")
            }
        }
        self.weight = weight
        self.bias = bias
        self.numExperts = numExperts
        self.hiddenSize = hiddenSize
        self.settings = settings
        self.flavor = flavor
    }

    /// Routes `tokens` rows of `x` (`[T, D]`, float32).
    public func route(_ x: [Float], tokens: Int) -> Routing {
        route(logits: Matmul.multiplyTransposed(x, rows: tokens, weight, rows: numExperts, inner: hiddenSize), tokens: tokens)
    }

    /// Routes from precomputed logits `[T, E]`.
    public func route(logits: [Float], tokens: Int) -> Routing {
        let k = settings.topK
        var selection = [Float](repeating: 0, count: tokens * numExperts)
        var indices = [Int](repeating: 0, count: tokens * k)
        var weights = [Float](repeating: 0, count: tokens * k)
        logits.withUnsafeBufferPointer { all in
            for t in 0..<tokens {
                let row = UnsafeBufferPointer(rebasing: all[(t * numExperts)..<((t + 1) * numExperts)])
                let choice = routeToken(row, token: t)
                selection.replaceSubrange((t * numExperts)..<((t + 1) * numExperts), with: choice.selection)
                indices.replaceSubrange((t * k)..<((t + 1) * k), with: choice.experts)
                weights.replaceSubrange((t * k)..<((t + 1) * k), with: choice.weights)
            }
        }
        return Routing(tokens: tokens, numExperts: numExperts, topK: k, logits: logits, selectionScores: selection, indices: indices, weights: weights)
    }

    /// One token: scores, selection, weights, normalisation, scale, then sorted by weight.
    func routeToken(_ logits: UnsafeBufferPointer<Float>, token t: Int) -> (selection: [Float], experts: [Int], weights: [Float]) {
        let k = settings.topK
        // Megatron's normalised softmax ranks the raw logits and softmaxes over the k chosen.
        let onLogits = settings.scoreFunction == .softmax && settings.normalize && flavor.softmaxSelection == .logitsWhenNormalized
        let scores: [Float]
        switch settings.scoreFunction {
        case .softmax: scores = onLogits ? Array(logits) : Self.softmax(logits)
        case .sigmoid: scores = logits.map { 1 / (1 + Foundation.exp(-$0)) + flavor.sigmoidEpsilon }
        }
        var selection = scores
        if let bias { for e in selection.indices { selection[e] += bias[e] } }

        let experts: [Int]
        switch settings.assignment {
        case .learned:
            if let groups = settings.groups, let rule = flavor.groupRule {
                experts = selection.withUnsafeBufferPointer {
                    GroupLimitedTopK.indices($0, topK: k, groups: groups, rule: rule, hasBias: bias != nil)
                }
            } else {
                experts = TopK.indices(selection, k)
            }
        case .uniform:
            experts = (0..<k).map { (t * k + $0) % numExperts }
        case .fakeBalanced(let skip):
            let chosen = (0..<k).map { ((t * k + $0) % (numExperts - skip)) + skip }
            return (selection, chosen, [Float](repeating: 1 / Float(k), count: k))
        }

        var weights = onLogits ? Self.softmax(experts.map { scores[$0] }) : experts.map { scores[$0] }
        let normalizes = settings.normalize || (settings.scoreFunction == .sigmoid && flavor.sigmoidAlwaysNormalizes)
        if normalizes && !onLogits {
            switch flavor.normalization {
            case .sum(let epsilon):
                if k > 1 {
                    let total = weights.reduce(0, +) + epsilon
                    weights = weights.map { $0 / total }
                }
            case .pNorm(let p):
                let norm = p == 1 ? weights.reduce(0) { $0 + abs($1) } : Foundation.pow(weights.reduce(0) { $0 + Foundation.pow(abs($1), p) }, 1 / p)
                weights = weights.map { $0 / norm }
            }
        }
        weights = weights.map { $0 * settings.scale }
        // Sorted by weight, largest first (stable: equal weights keep selection order).
        let order = weights.indices.sorted { a, b in
            weights[a] != weights[b] ? TopK.ranksAbove(weights[a], weights[b]) : a < b
        }
        return (selection, order.map { experts[$0] }, order.map { weights[$0] })
    }

    /// Softmax in float32 with the maximum subtracted, as torch computes it.
    static func softmax<C: Collection>(_ values: C) -> [Float] where C.Element == Float {
        let top = values.max() ?? 0
        let shifted = top.isFinite ? top : 0
        let exps = values.map { Foundation.exp($0 - shifted) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }
}
