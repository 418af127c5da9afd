/// The routed experts of one MoE layer, with capacity-free (dropless) dispatch: every
/// (token, slot) assignment is computed, tokens are grouped per expert so each expert runs as
/// one block of matrix products (experts run in parallel, one per core), and the weighted
/// outputs are summed back per token in ascending expert order, so results are deterministic.
///
/// Reproduces Megatron-Core 0.16.1 `SequentialMLP.forward` + `unpermute`, OLMo-core 3.0.0
/// `ParallelDroplessMLP.permute_and_compute` + `DroplessMoEMLP`, and NeMo AutoModel 0.7.0
/// `GroupedExperts._forward_loop`. The routing weight multiplies where the framework applies it
/// (`RoutingFlavor.WeightPlacement`): before the down projection (Megatron, NeMo) or on the expert
/// output (OLMo-core). The two agree in exact arithmetic; they differ only in rounding.
public struct ExpertBank: Sendable {
    let experts: [FeedForward]
    let activation: ExpertActivation
    let placement: RoutingFlavor.WeightPlacement
    public let hiddenSize: Int

    /// The experts of `layer`, checked against `activation`.
    public init(_ layer: CanonicalMoELayer, activation: Activation, flavor: RoutingFlavor, checkpoint: String) throws {
        experts = try layer.experts.enumerated().map { e, expert in
            try FeedForward(
                gate: expert.gate, up: expert.up, down: expert.down, hidden: layer.dims.hiddenSize, activation: activation,
                checkpoint: checkpoint, layer: layer.layer, subject: "expert \(e)")
        }
        self.activation = ExpertActivation(activation, flavor: flavor)
        placement = flavor.weightPlacement
        hiddenSize = layer.dims.hiddenSize
    }

    public var count: Int { experts.count }

    /// The routed output `[T, D]`: `y_t = Σ_j w[t,j] · expert_{idx[t,j]}(x_t)`.
    public func apply(_ x: [Float], routing: Routing) throws -> [Float] {
        let d = hiddenSize
        var rowsOf = [[Int]](repeating: [], count: experts.count)
        var weightsOf = [[Float]](repeating: [], count: experts.count)
        for t in 0..<routing.tokens {
            for j in 0..<routing.topK {
                let e = routing.indices[t * routing.topK + j]
                rowsOf[e].append(t)
                weightsOf[e].append(routing.weights[t * routing.topK + j])
            }
        }
        // Expert-major output rows: expert e's rows start at offsets[e].
        var offsets = [Int](repeating: 0, count: experts.count + 1)
        for e in experts.indices { offsets[e + 1] = offsets[e] + rowsOf[e].count }
        let used = experts.indices.filter { !rowsOf[$0].isEmpty }
        var outputs = [Float](repeating: 0, count: offsets[experts.count] * d)
        try outputs.withUnsafeMutableBufferPointer { buffer in
            let shared = ParallelExperts.SharedBuffer(base: buffer.baseAddress!)
            let (rowsOf, weightsOf, offsets) = (rowsOf, weightsOf, offsets)
            try ParallelExperts.forEach(used.count) { i, scratch in
                let e = used[i]
                let rows = rowsOf[e]
                var gathered = [Float](repeating: 0, count: rows.count * d)
                for (r, t) in rows.enumerated() {
                    gathered.replaceSubrange((r * d)..<((r + 1) * d), with: x[(t * d)..<((t + 1) * d)])
                }
                let output = UnsafeMutableBufferPointer(start: shared.base + offsets[e] * d, count: rows.count * d)
                try gathered.withUnsafeBufferPointer { input in
                    try experts[e].run(
                        input, count: rows.count, activation: activation, rowWeights: weightsOf[e], placement: placement,
                        weights: &scratch, into: output)
                }
            }
        }
        var y = [Float](repeating: 0, count: routing.tokens * d)
        for e in used {
            for (r, t) in rowsOf[e].enumerated() {
                let row = (offsets[e] + r) * d
                for c in 0..<d { y[t * d + c] += outputs[row + c] }
            }
        }
        return y
    }

    /// Expert `e`'s unweighted output for `count` rows of `x` (`[count, D]`): what `verify`
    /// compares expert by expert.
    public func output(ofExpert e: Int, _ x: [Float], count: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: count * hiddenSize)
        var scratch = WeightFloats()
        try x.withUnsafeBufferPointer { input in
            try out.withUnsafeMutableBufferPointer { output in
                try experts[e].run(input, count: count, activation: activation, rowWeights: nil, placement: placement, weights: &scratch, into: output)
            }
        }
        return out
    }
}

extension ExpertBank {
    /// Ways to read an expert other than as stored, used by `verify` to name a conversion bug.
    enum Reading: CaseIterable, Sendable {
        /// Gate and up projections exchanged.
        case gateAndUpSwapped
        /// The down projection's bytes hold `W_dᵀ` (a missed transpose), read back transposed.
        case downTransposed
    }

    /// Expert `e`'s unweighted output when its tensors are read as `reading` says.
    func output(ofExpert e: Int, _ x: [Float], count: Int, reading: Reading) throws -> [Float] {
        let unit = experts[e]
        var gate = unit.gate
        var up = unit.up
        var down = unit.down
        switch reading {
        case .gateAndUpSwapped:
            guard let g = gate else { return [] }
            (gate, up) = (up, g)
        case .downTransposed:
            // Stored bytes read as [F, D] row-major are W_dᵀ; transposing them back gives [D, F].
            let stored = try WeightFloats.array(down)
            var fixed = [Float](repeating: 0, count: stored.count)
            for f in 0..<unit.ffn {
                for d in 0..<unit.hidden { fixed[d * unit.ffn + f] = stored[f * unit.hidden + d] }
            }
            down = InMemoryTensor(floats: fixed, shape: [unit.hidden, unit.ffn])
        }
        let variant = try FeedForward(
            gate: gate, up: up, down: down, hidden: unit.hidden, activation: activation.activation, checkpoint: "", layer: 0, subject: "")
        var out = [Float](repeating: 0, count: count * hiddenSize)
        var scratch = WeightFloats()
        try x.withUnsafeBufferPointer { input in
            try out.withUnsafeMutableBufferPointer { output in
                try variant.run(input, count: count, activation: activation, rowWeights: nil, placement: placement, weights: &scratch, into: output)
            }
        }
        return out
    }
}
