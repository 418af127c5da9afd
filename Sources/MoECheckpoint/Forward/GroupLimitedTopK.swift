/// Group-limited top-k (DeepSeek-V3 style): experts sit in `G` equal groups, each token keeps
/// the `g` best groups, and the top-k runs over the experts of those groups only.
///
/// Reproduces Megatron-Core 0.16.1 `moe_utils.group_limited_topk` (group score = sum of the top
/// `k / g` entries, dropped groups `-inf`) and NeMo AutoModel 0.7.0 `Gate._route_scores`,
/// `sigmoid` branch (group score = sum of the top 2 entries with a correction bias, the max
/// without one; dropped groups multiplied by 0). Which rule runs is `RoutingFlavor.GroupRule`.
enum GroupLimitedTopK {
    /// The chosen experts for one token, best first. `selection` are the values the final top-k
    /// ranks (biased scores, probabilities or logits).
    static func indices(
        _ selection: UnsafeBufferPointer<Float>, topK: Int, groups: RoutingSettings.Groups,
        rule: RoutingFlavor.GroupRule, hasBias: Bool
    ) -> [Int] {
        let size = selection.count / groups.count
        let summed = rule.entriesPerGroup(topK: topK, keptGroups: groups.kept, hasBias: hasBias)
        var groupScores = [Float](repeating: 0, count: groups.count)
        for group in 0..<groups.count {
            let members = UnsafeBufferPointer(rebasing: selection[(group * size)..<((group + 1) * size)])
            groupScores[group] = TopK.indices(members, min(summed, size)).reduce(Float(0)) { $0 + members[$1] }
        }
        var kept = [Bool](repeating: false, count: groups.count)
        for group in TopK.indices(groupScores, groups.kept) { kept[group] = true }
        var masked = Array(selection)
        for e in masked.indices where !kept[e / size] {
            switch rule.mask {
            case .negativeInfinity: masked[e] = -.infinity
            case .zero: masked[e] = 0
            }
        }
        return TopK.indices(masked, topK)
    }
}
