/// The completeness audit run before anything is written: every expert of every MoE layer must
/// be present exactly once, with every projection its layout needs.
public enum ExpertAudit {
    /// Problems found, as lines naming layer, expert and role; empty when complete.
    public static func problems(in layout: ResolvedLayout) -> [String] {
        var problems: [String] = []
        for layer in layout.layers {
            let experts = layer.dims.numExperts
            let gated = layer.tensor(for: .expertGate) != nil
            if layer.tensor(for: .routerWeight) == nil { problems.append("layer \(layer.layer): no router weight") }
            let roles: [TensorRole] = gated ? [.expertGate, .expertUp, .expertDown] : [.expertUp, .expertDown]
            for role in roles {
                let holders = layer.tensors(for: role)
                if holders.isEmpty {
                    problems.append("layer \(layer.layer): no \(role.rawValue) projection for any expert")
                    continue
                }
                if holders.contains(where: { $0.rule.experts == .stacked }) {
                    continue  // A stacked tensor holds all E experts; its shape was checked against E.
                }
                var counts = [Int](repeating: 0, count: experts)
                for holder in holders { if let e = holder.expert, e < experts { counts[e] += 1 } }
                let missing = counts.indices.filter { counts[$0] == 0 }
                let duplicated = counts.indices.filter { counts[$0] > 1 }
                if !missing.isEmpty { problems.append("layer \(layer.layer): \(role.rawValue) missing for experts \(ranges(missing))") }
                if !duplicated.isEmpty { problems.append("layer \(layer.layer): \(role.rawValue) duplicated for experts \(ranges(duplicated))") }
            }
        }
        return problems
    }

    /// `0-3, 7`.
    static func ranges(_ values: [Int]) -> String {
        var parts: [String] = []
        var start = values.first
        var previous = values.first
        for value in values.dropFirst() + [Int.min] {
            if let p = previous, value == p + 1 {
                previous = value
                continue
            }
            if let s = start, let p = previous { parts.append(s == p ? "\(s)" : "\(s)-\(p)") }
            start = value
            previous = value
        }
        return parts.joined(separator: ", ")
    }
}
