import Foundation

/// The result of `verify`: one row per compared layer and every difference found.
public struct VerifyReport: Sendable {
    public let request: VerifyRequest
    public let flavorA: RoutingFlavor
    public let flavorB: RoutingFlavor
    public let rows: [VerifyLayerRow]
    public let findings: [VerifyFinding]

    /// The checkpoints agree: no structural, routing-config or numeric difference.
    public var passed: Bool { findings.isEmpty && rows.allSatisfy(\.passed) }

    /// The human table, then one line per difference, then the verdict.
    public var text: String {
        var lines = ["A  \(request.a)  (\(flavorA) routing)", "B  \(request.b)  (\(flavorB) routing)"]
        lines.append("layer  max_abs_err  rel_err    same_topk  tolerance  result")
        for row in rows {
            lines.append(
                String(format: "%-5d  ", row.layer) + pad(ErrorSize.format(row.maxAbsErr), 11) + "  " + pad(ErrorSize.format(row.relErr), 9)
                    + "  " + pad(String(format: "%.1f%%", row.sameTopK * 100), 9) + "  " + pad(String(format: "%.0e", row.tolerance), 9) + "  "
                    + (row.passed ? "ok" : "FAIL") + (row.nearTies > 0 ? " (\(row.nearTies) near-tie tokens)" : ""))
        }
        for finding in findings { lines.append("mismatch: \(finding)") }
        lines.append(
            passed
                ? "verify: A and B agree (\(rows.count) MoE layer\(rows.count == 1 ? "" : "s"), \(request.tokens) tokens, seed \(request.seed))"
                : "verify: A and B differ (\(findings.count) mismatch\(findings.count == 1 ? "" : "es"))")
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("passed", .bool(passed)),
            ("a", .object(JSONObject([("path", .string(request.a)), ("flavor", .string(flavorA.name.rawValue))]))),
            ("b", .object(JSONObject([("path", .string(request.b)), ("flavor", .string(flavorB.name.rawValue))]))),
            ("tokens", .int(request.tokens)),
            ("seed", .number(String(request.seed))),
            ("layers", .array(rows.map(\.json))),
            ("mismatches", .array(findings.map(\.json))),
        ]))
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
