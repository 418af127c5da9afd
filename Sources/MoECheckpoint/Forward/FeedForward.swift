/// One feed-forward unit, `W_d · act(W_g·x, W_u·x)`, computed for a block of token rows with
/// three matrix products. Routed experts and the shared expert are both this; only where a
/// routing weight multiplies differs.
///
/// The weights stay lazy canonical tensors: each product widens one block of rows at a time
/// into the caller's scratch, so a layer never holds a float32 copy of its weights.
struct FeedForward: Sendable {
    let gate: (any TensorSource)?
    let up: any TensorSource
    let down: any TensorSource
    let hidden: Int
    let ffn: Int

    /// Checks the shapes (`[F, D]`, `[F, D]`, `[D, F]`) and that the activation fits the tensors.
    init(
        gate: (any TensorSource)?, up: any TensorSource, down: any TensorSource, hidden: Int, activation: Activation,
        checkpoint: String, layer: Int, subject: String
    ) throws {
        let ffn = up.shape.first ?? 0
        for (name, tensor, expected) in [("gate", gate, [ffn, hidden]), ("up", up, [ffn, hidden]), ("down", down, [hidden, ffn])] as [(String, (any TensorSource)?, [Int])] {
            if let tensor, tensor.shape != expected {
                throw ForwardError.weightShape(checkpoint: checkpoint, key: "layer \(layer) \(subject) \(name)", expected: expected, found: tensor.shape)
            }
        }
        if activation.isGated && gate == nil {
            throw ForwardError.activationMismatch(
                checkpoint: checkpoint, layer: layer, subject: subject, activation: activation, reason: "needs a gate projection, and there is none")
        }
        if !activation.isGated && gate != nil {
            throw ForwardError.activationMismatch(
                checkpoint: checkpoint, layer: layer, subject: subject, activation: activation, reason: "takes no gate projection, but there is one")
        }
        self.gate = gate
        self.up = up
        self.down = down
        self.hidden = hidden
        self.ffn = ffn
    }

    /// `out[n, D] = unit(rows[n, D])`. `rowWeights` (one per row) multiply at `placement`;
    /// `nil` leaves the rows unweighted.
    func run(
        _ rows: UnsafeBufferPointer<Float>, count n: Int, activation: ExpertActivation, rowWeights: [Float]?,
        placement: RoutingFlavor.WeightPlacement, weights: inout WeightFloats, into out: UnsafeMutableBufferPointer<Float>
    ) throws {
        guard n > 0, let x = rows.baseAddress, let o = out.baseAddress else { return }
        var gated = [Float](repeating: 0, count: gate == nil ? 0 : n * ffn)
        var hiddenUnits = [Float](repeating: 0, count: n * ffn)
        if let gate {
            try gated.withUnsafeMutableBufferPointer { try weights.multiply(x, rows: n, by: gate, into: $0.baseAddress!) }
        }
        try hiddenUnits.withUnsafeMutableBufferPointer { try weights.multiply(x, rows: n, by: up, into: $0.baseAddress!) }
        hiddenUnits.withUnsafeMutableBufferPointer { units in
            gated.withUnsafeBufferPointer { activation.apply(gate: gate == nil ? nil : $0, up: units) }
        }
        if let rowWeights, placement == .beforeDown { Self.scaleRows(&hiddenUnits, width: ffn, by: rowWeights) }
        try hiddenUnits.withUnsafeBufferPointer { try weights.multiply($0.baseAddress!, rows: n, by: down, into: o) }
        if let rowWeights, placement == .afterDown {
            for r in 0..<n {
                for c in 0..<hidden { o[r * hidden + c] *= rowWeights[r] }
            }
        }
    }

    /// Multiplies row `r` of a `[n, width]` matrix by `factors[r]`.
    static func scaleRows(_ matrix: inout [Float], width: Int, by factors: [Float]) {
        for r in factors.indices {
            for c in (r * width)..<((r + 1) * width) { matrix[c] *= factors[r] }
        }
    }
}
