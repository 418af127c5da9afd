import Foundation

/// Load statistics of one routing, for the given tokens only (no training state is involved).
///
/// Definitions, all unscaled (loss coefficient 1):
/// - `tokensPerExpert[e]`: the (token, slot) assignments routed to expert `e`; they sum to `T·k`.
/// - `loadImbalance`: `max(counts) / mean(counts)`, OLMo-core 3.0.0 `MoERouter.compute_metrics`
///   "load imbalance" (1 is perfectly balanced, `E/k`·… the worst).
/// - `auxLoss`: the Switch-style load-balancing loss `E/(k·T) · Σ_e counts_e · mean_t p[t,e]`,
///   where `p` is the softmax of the logits over all experts, or for sigmoid routing the sigmoid
///   scores divided by their sum per token. OLMo-core `load_balancing_loss` (`local_batch`),
///   Megatron-Core `switch_load_balancing_loss_func` and NeMo `Gate` aux loss all reduce to this
///   formula for one micro-batch without TP/CP/sequence splitting; the counts are the actual
///   routed counts (with bias and groups), as in OLMo-core and NeMo.
/// - `zLoss`: `mean_t logsumexp(l_t)²`, OLMo-core `router_z_loss` and Megatron-Core `z_loss_func`.
public struct RoutingDiagnostics: Equatable, Sendable {
    public let tokensPerExpert: [Int]
    public let loadImbalance: Double
    public let auxLoss: Double
    public let zLoss: Double

    public init(_ routing: Routing, scoreFunction: ScoreFunction) {
        let e = routing.numExperts
        let t = routing.tokens
        var counts = [Int](repeating: 0, count: e)
        for expert in routing.indices { counts[expert] += 1 }
        tokensPerExpert = counts
        let mean = Double(routing.indices.count) / Double(max(e, 1))
        loadImbalance = mean > 0 ? Double(counts.max() ?? 0) / mean : 0

        var meanScores = [Double](repeating: 0, count: e)
        var z = 0.0
        for token in 0..<t {
            let row = routing.logits[(token * e)..<((token + 1) * e)].map(Double.init)
            let top = row.max() ?? 0
            let shifted = top.isFinite ? top : 0
            let logSumExp = shifted + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - shifted) })
            z += logSumExp * logSumExp
            let scores: [Double]
            switch scoreFunction {
            case .softmax: scores = row.map { Foundation.exp($0 - logSumExp) }
            case .sigmoid:
                let sig = row.map { 1 / (1 + Foundation.exp(-$0)) }
                let total = sig.reduce(0, +)
                scores = sig.map { $0 / total }
            }
            for i in 0..<e { meanScores[i] += scores[i] / Double(t) }
        }
        zLoss = t > 0 ? z / Double(t) : 0
        let k = Double(routing.topK)
        auxLoss = t > 0 ? Double(e) / (k * Double(t)) * zip(counts, meanScores).reduce(0) { $0 + Double($1.0) * $1.1 } : 0
    }

    /// The JSON object `forward --json` and `verify --json` print.
    public var json: JSONValue {
        .object(JSONObject([
            ("tokens_per_expert", .array(tokensPerExpert.map(JSONValue.int))),
            ("load_imbalance", .double(loadImbalance)),
            ("aux_loss", .double(auxLoss)),
            ("z_loss", .double(zLoss)),
        ]))
    }
}
