/// Local ↔ global expert numbering of Megatron keys, through the layout tables' `{expert}`
/// captures: `MegatronLayout` stays the only place that knows key shapes.
///
/// Legacy files number experts locally per EP rank (`local_experts.0 … E/EP−1`), and
/// `global = ep_rank · E/EP + local` (`layouts-megatron.md` gotcha 9). Weightless per-expert
/// keys (`_extra_state`) are renumbered through the tables' ignore patterns the same way.
public enum MegatronExpertKeys {
    /// The per-key tables (legacy files never stack layers).
    static let patterns: [KeyPattern] = {
        var seen = Set<String>()
        var out: [KeyPattern] = []
        for table in MegatronLayout.tables {
            for pattern in table.rules.map(\.pattern) + table.ignored
            where pattern.captures.contains(.expert) && seen.insert(pattern.template).inserted {
                out.append(pattern)
            }
        }
        return out
    }()

    /// A per-expert key's layer and expert, and how to write it with another expert index.
    public struct Match: Sendable {
        public let pattern: KeyPattern
        public let layer: Int?
        public let expert: Int
        /// What follows the pattern's fixed part (a wildcard tail, such as `/shard_0_1`).
        let tail: Substring

        /// The key with expert index `expert`.
        public func key(expert: Int) -> String {
            pattern.render(layer: layer, expert: expert) + tail
        }
    }

    /// The expert capture of `key`, or `nil` for keys that are not per expert.
    public static func match(_ key: String) -> Match? {
        for pattern in patterns {
            guard let match = pattern.match(key), let expert = match.expert else { continue }
            // The rendered fixed part is a prefix of the key (captures have no leading zeros);
            // anything after it is the wildcard tail.
            let fixed = pattern.render(layer: match.layer, expert: expert)
            guard key.hasPrefix(fixed) else { continue }
            return Match(pattern: pattern, layer: match.layer, expert: expert, tail: key.dropFirst(fixed.count))
        }
        return nil
    }
}
