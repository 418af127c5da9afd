/// One row of `verify`'s table: how closely B's layer reproduces A's.
public struct VerifyLayerRow: Sendable {
    public let layer: Int
    public let tokens: Int
    /// `max|yA − yB|` over the compared tokens.
    public let maxAbsErr: Double
    /// `max|yA − yB| / max|yA|`.
    public let relErr: Double
    /// Share of tokens whose top-k expert sets are equal in A and B.
    public let sameTopK: Double
    /// Tokens whose sets differ only through a near-tie in A's selection scores; their `y` is
    /// left out of the errors above.
    public let nearTies: Int
    public let tolerance: Double
    public let passed: Bool
    public let diagnosticsA: RoutingDiagnostics
    public let diagnosticsB: RoutingDiagnostics

    public var json: JSONValue {
        .object(JSONObject([
            ("layer", .int(layer)),
            ("tokens", .int(tokens)),
            ("max_abs_err", jsonNumber(maxAbsErr)),
            ("rel_err", jsonNumber(relErr)),
            ("same_topk", .double(sameTopK)),
            ("near_ties", .int(nearTies)),
            ("tolerance", .double(tolerance)),
            ("passed", .bool(passed)),
            ("diagnostics", .object(JSONObject([("a", diagnosticsA.json), ("b", diagnosticsB.json)]))),
        ]))
    }
}

/// JSON has no infinity or NaN; such errors are written as strings.
func jsonNumber(_ value: Double) -> JSONValue { value.isFinite ? .double(value) : .string(String(value)) }

/// The numeric half of `verify` for one layer: the whole MoE forward on seeded tokens, then the
/// router, every expert and the shared expert on a few probe tokens, so that a difference is
/// named by the expert or key that causes it, even in an expert no token was routed to.
enum LayerComparison {
    /// Probe tokens per expert: enough to expose a wrong matrix, cheap for wide layers.
    static let probeTokens = 4

    static func compare(
        _ a: MoELayerForward, _ b: MoELayerForward, tokens x: [Float], count: Int, tolerance: Double
    ) throws -> (row: VerifyLayerRow, findings: [VerifyFinding]) {
        let layer = a.layer
        let d = a.hiddenSize
        let resultA = try a.run(x, tokens: count)
        let resultB = try b.run(x, tokens: count)
        var findings: [VerifyFinding] = []

        // Router: logits column by column, so swapped or wrong rows are named.
        let logits = ErrorSize(reference: resultA.routing.logits, candidate: resultB.routing.logits)
        if logits.relative > tolerance {
            findings.append(VerifyFinding(
                .numbers, layer: layer, subject: "router",
                detail: "logits \(logits.text); rows of experts \(differingColumns(resultA.routing, resultB.routing, tolerance: tolerance)) differ",
                size: logits.relative))
        }

        // Routing choices, allowing near-ties.
        var same = 0
        var ties = 0
        var changed: [Int] = []
        var compared = [Bool](repeating: true, count: count)
        for t in 0..<count {
            if resultA.routing.expertSet(t) == resultB.routing.expertSet(t) {
                same += 1
            } else if isNearTie(t, resultA.routing, resultB.routing, tolerance: tolerance) {
                ties += 1
                compared[t] = false
            } else {
                changed.append(t)
            }
        }
        if let t = changed.first {
            let k = resultA.routing.topK
            findings.append(VerifyFinding(
                .numbers, layer: layer, subject: "routing",
                detail: "\(changed.count) of \(count) tokens choose different experts (token \(t): A \(Array(resultA.routing.indices[(t * k)..<((t + 1) * k)])), B \(Array(resultB.routing.indices[(t * k)..<((t + 1) * k)])))",
                size: Double(changed.count) / Double(count)))
        }

        // y over the compared tokens.
        var maxDiff = 0.0
        var maxRef = 0.0
        for t in 0..<count {
            for c in (t * d)..<((t + 1) * d) {
                maxRef = max(maxRef, abs(Double(resultA.y[c])))
                guard compared[t] else { continue }
                let diff = abs(Double(resultA.y[c]) - Double(resultB.y[c]))
                maxDiff = diff.isNaN ? .infinity : max(maxDiff, diff)
            }
        }
        let relErr = maxDiff == 0 ? 0 : (maxRef > 0 ? maxDiff / maxRef : .infinity)
        if relErr > tolerance {
            findings.append(VerifyFinding(
                .numbers, layer: layer, subject: "y",
                detail: "rel_err \(ErrorSize.format(relErr)) (max_abs_err \(ErrorSize.format(maxDiff))) above tolerance \(ErrorSize.format(tolerance))",
                size: relErr))
        }

        findings += try expertFindings(a, b, probes: Array(x.prefix(min(count, probeTokens) * d)), count: min(count, probeTokens), tolerance: tolerance)

        let row = VerifyLayerRow(
            layer: layer, tokens: count, maxAbsErr: maxDiff, relErr: relErr, sameTopK: count > 0 ? Double(same) / Double(count) : 1,
            nearTies: ties, tolerance: tolerance, passed: findings.isEmpty, diagnosticsA: resultA.diagnostics, diagnosticsB: resultB.diagnostics)
        return (row, findings)
    }

    /// Every expert and the shared expert of B against A's, on the probe tokens.
    static func expertFindings(_ a: MoELayerForward, _ b: MoELayerForward, probes: [Float], count: Int, tolerance: Double) throws -> [VerifyFinding] {
        guard count > 0 else { return [] }
        // Every expert of A and B on the probes, experts in parallel.
        let experts = min(a.experts.count, b.experts.count)
        let size = count * a.hiddenSize
        var allA = [Float](repeating: 0, count: experts * size)
        var allB = [Float](repeating: 0, count: experts * size)
        try allA.withUnsafeMutableBufferPointer { pa in
            try allB.withUnsafeMutableBufferPointer { pb in
                let (sharedA, sharedB) = (ParallelExperts.SharedBuffer(base: pa.baseAddress!), ParallelExperts.SharedBuffer(base: pb.baseAddress!))
                try ParallelExperts.forEach(experts) { e, _ in
                    let outA = try a.experts.output(ofExpert: e, probes, count: count)
                    let outB = try b.experts.output(ofExpert: e, probes, count: count)
                    (sharedA.base + e * size).update(from: outA, count: size)
                    (sharedB.base + e * size).update(from: outB, count: size)
                }
            }
        }
        var outputsA: [Int: [Float]] = [:]
        var outputsB: [Int: [Float]] = [:]
        var failing: [(Int, ErrorSize)] = []
        for e in 0..<experts {
            let outA = Array(allA[(e * size)..<((e + 1) * size)])
            let outB = Array(allB[(e * size)..<((e + 1) * size)])
            let size = ErrorSize(reference: outA, candidate: outB)
            if size.relative > tolerance {
                failing.append((e, size))
                outputsA[e] = outA
                outputsB[e] = outB
            }
        }
        let hints = try ExpertDiagnosis.hints(
            failing: failing.map(\.0), outputsA: outputsA, outputsB: outputsB, bankB: b.experts, probes: probes, count: count, tolerance: tolerance)
        var out = failing.map { e, size in
            VerifyFinding(.numbers, layer: a.layer, subject: "expert \(e)", detail: "output \(size.text)" + (hints[e].map { "; \($0)" } ?? ""), size: size.relative)
        }
        if let sharedA = a.shared, let sharedB = b.shared {
            let size = ErrorSize(reference: try sharedA.apply(probes, tokens: count), candidate: try sharedB.apply(probes, tokens: count))
            if size.relative > tolerance {
                out.append(VerifyFinding(.numbers, layer: a.layer, subject: "shared expert", detail: "output \(size.text)", size: size.relative))
            }
        }
        return out
    }

    /// Whether token `t`'s different choice in B is a near-tie in A: every expert B chose that A
    /// did not scores, in A's selection, within `tolerance × max|score|` of A's weakest choice.
    static func isNearTie(_ t: Int, _ a: Routing, _ b: Routing, tolerance: Double) -> Bool {
        let e = a.numExperts
        let scores = a.selectionScores[(t * e)..<((t + 1) * e)]
        let chosenA = a.expertSet(t)
        guard let weakest = chosenA.map({ scores[t * e + $0] }).min() else { return false }
        let slack = Float(tolerance) * (scores.map { abs($0) }.max() ?? 0)
        return b.expertSet(t).subtracting(chosenA).allSatisfy { $0 < e && scores[t * e + $0] >= weakest - slack }
    }

    /// The experts whose logit column differs beyond the tolerance, as text.
    static func differingColumns(_ a: Routing, _ b: Routing, tolerance: Double) -> String {
        let e = a.numExperts
        let reference = a.logits.map { abs(Double($0)) }.max() ?? 0
        var columns: [Int] = []
        for column in 0..<e {
            var worst = 0.0
            for t in 0..<a.tokens { worst = max(worst, abs(Double(a.logits[t * e + column]) - Double(b.logits[t * e + column]))) }
            if reference > 0 ? worst / reference > tolerance : worst > 0 { columns.append(column) }
        }
        let shown = columns.prefix(8).map(String.init).joined(separator: ", ")
        return columns.count > 8 ? shown + ", … (\(columns.count) in all)" : shown
    }
}
