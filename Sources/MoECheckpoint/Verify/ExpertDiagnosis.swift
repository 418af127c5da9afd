/// Names the likely cause when experts of B disagree with A's: two experts exchanged, gate
/// and up exchanged, or a down projection stored transposed. Each guess is tested by
/// recomputing B's expert read that way and comparing it with A's, so a hint is only given
/// when it explains the outputs within the tolerance.
enum ExpertDiagnosis {
    /// A hint per failing expert of B, or nothing when no simple cause explains it.
    static func hints(
        failing: [Int], outputsA: [Int: [Float]], outputsB: [Int: [Float]], bankB: ExpertBank, probes: [Float], count: Int,
        tolerance: Double
    ) throws -> [Int: String] {
        var hints: [Int: String] = [:]
        // Exchanged experts: B's expert e computes what A's expert f computes.
        for e in failing {
            guard let outB = outputsB[e] else { continue }
            if let f = failing.first(where: { $0 != e && outputsA[$0].map { ErrorSize(reference: $0, candidate: outB).relative <= tolerance } == true }) {
                hints[e] = "B's expert \(e) computes A's expert \(f) (experts exchanged)"
            }
        }
        for e in failing where hints[e] == nil {
            guard let outA = outputsA[e] else { continue }
            for reading in ExpertBank.Reading.allCases {
                let alternative = try bankB.output(ofExpert: e, probes, count: count, reading: reading)
                guard alternative.count == outA.count, ErrorSize(reference: outA, candidate: alternative).relative <= tolerance else { continue }
                switch reading {
                case .gateAndUpSwapped: hints[e] = "B's gate and up projections are exchanged"
                case .downTransposed: hints[e] = "B's down projection holds the transposed matrix"
                }
                break
            }
        }
        return hints
    }
}
