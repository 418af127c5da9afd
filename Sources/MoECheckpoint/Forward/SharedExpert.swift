import Foundation

/// The shared expert: one feed-forward unit every token goes through, optionally scaled per
/// token by `sigmoid(x·S_gateᵀ)`.
///
/// Megatron-Core 0.16.1 `SharedExpertMLP.forward` (`moe_shared_expert_gate`), NeMo AutoModel 0.7.0
/// `MoE.forward` (`shared_expert_gate`), OLMo-core 3.0.0 `MoEBase.shared_mlp`. How its output
/// joins the routed output is `SharedCombine`, applied by `MoELayerForward`.
public struct SharedExpert: Sendable {
    let unit: FeedForward
    let activation: ExpertActivation
    /// `S_gate` `[D]`, widened to float32.
    let outputGate: [Float]?

    public init(_ shared: CanonicalSharedExpert, layer: CanonicalMoELayer, activation: Activation, flavor: RoutingFlavor, checkpoint: String) throws {
        let d = layer.dims.hiddenSize
        unit = try FeedForward(
            gate: shared.gate, up: shared.up, down: shared.down, hidden: d, activation: activation, checkpoint: checkpoint,
            layer: layer.layer, subject: "shared expert")
        self.activation = ExpertActivation(activation, flavor: flavor)
        if let gate = shared.outputGate {
            guard gate.elementCount == d else {
                throw ForwardError.weightShape(checkpoint: checkpoint, key: "layer \(layer.layer) shared expert gate", expected: [1, d], found: gate.shape)
            }
            outputGate = try WeightFloats.array(gate)
        } else {
            outputGate = nil
        }
    }

    /// The shared output `[T, D]`, gate included.
    public func apply(_ x: [Float], tokens: Int) throws -> [Float] {
        let d = unit.hidden
        var out = [Float](repeating: 0, count: tokens * d)
        var scratch = WeightFloats()
        try x.withUnsafeBufferPointer { input in
            try out.withUnsafeMutableBufferPointer { output in
                try unit.run(input, count: tokens, activation: activation, rowWeights: nil, placement: .afterDown, weights: &scratch, into: output)
            }
        }
        if let outputGate {
            let gates = Matmul.multiplyTransposed(x, rows: tokens, outputGate, rows: 1, inner: d).map { 1 / (1 + Foundation.exp(-$0)) }
            FeedForward.scaleRows(&out, width: d, by: gates)
        }
        return out
    }
}
