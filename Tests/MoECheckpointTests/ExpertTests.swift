import Foundation
import Testing
@testable import MoECheckpoint

/// Activations, weight placement, dispatch and diagnostics on tiny inputs.
@Suite("Experts and diagnostics")
struct ExpertTests {
    static func activate(_ activation: Activation, flavor: RoutingFlavor = .megatron, gate: Float?, up: Float) -> Float {
        var u = [up]
        let g = gate.map { [$0] }
        u.withUnsafeMutableBufferPointer { units in
            if let g {
                g.withUnsafeBufferPointer { ExpertActivation(activation, flavor: flavor).apply(gate: $0, up: units) }
            } else {
                ExpertActivation(activation, flavor: flavor).apply(gate: nil, up: units)
            }
        }
        return u[0]
    }

    @Test("each activation gives its known value")
    func activations() {
        #expect(abs(Self.activate(.swiglu, gate: 1, up: 2) - 2 * 0.731_058_6) < 1e-6)
        #expect(abs(Self.activate(.geglu, flavor: .megatron, gate: 1, up: 1) - 0.841_344_7) < 1e-6)
        #expect(abs(Self.activate(.geglu, flavor: .nemoHF, gate: 1, up: 1) - 0.841_192_0) < 1e-6)
        #expect(abs(Self.activate(.quickGeGLU, flavor: .megatron, gate: 1, up: 1) - 0.845_795_9) < 1e-6)
        // NeMo's quick-GeGLU adds 1 to the up half and clamps both halves at 7.
        #expect(abs(Self.activate(.quickGeGLU, flavor: .nemoHF, gate: 10, up: 1) - 7 * 2) < 1e-4)
        #expect(Self.activate(.relu2, gate: nil, up: -1) == 0)
        #expect(Self.activate(.relu2, gate: nil, up: 3) == 9)
        #expect(abs(Self.activate(.gelu, gate: nil, up: 1) - 0.841_344_7) < 1e-6)
        #expect(abs(Self.activate(.silu, gate: nil, up: 1) - 0.731_058_6) < 1e-6)
    }

    /// A layer of `e` random SwiGLU experts (D=6, F=4), in canonical form.
    static func layer(experts e: Int, seed: UInt64 = 1) -> CanonicalMoELayer {
        var random = SeededTokens(seed: seed)
        let d = 6, f = 4
        func tensor(_ shape: [Int]) -> InMemoryTensor { InMemoryTensor(floats: random.normal(count: shape.reduce(1, *)), shape: shape) }
        let experts = (0..<e).map { _ in CanonicalExpert(gate: tensor([f, d]), up: tensor([f, d]), down: tensor([d, f])) }
        return CanonicalMoELayer(
            layer: 0, dims: MoELayerDims(numExperts: e, hiddenSize: d, ffnHiddenSize: f, sharedFFNHiddenSize: nil),
            router: tensor([e, d]), expertBias: nil, experts: experts, shared: nil)
    }

    @Test("dropless dispatch equals running every token through its experts one by one, wherever the weight multiplies")
    func dispatchMatchesPerToken() throws {
        let layer = Self.layer(experts: 5)
        var random = SeededTokens(seed: 9)
        let tokens = 7
        let x = random.normal(count: tokens * 6)
        let config = MoEConfig(topK: 2, scoreFunction: .softmax, normalizeTopK: true)
        let megatron = try MoELayerForward(layer, config: config, flavor: .megatron, checkpoint: "test")
        let olmo = try MoELayerForward(layer, config: config, flavor: .olmo, checkpoint: "test")
        let result = try megatron.run(x, tokens: tokens)
        var reference = [Float](repeating: 0, count: tokens * 6)
        for t in 0..<tokens {
            let row = Array(x[(t * 6)..<((t + 1) * 6)])
            for j in 0..<2 {
                let out = try megatron.experts.output(ofExpert: result.routing.indices[t * 2 + j], row, count: 1)
                for c in 0..<6 { reference[t * 6 + c] += result.routing.weights[t * 2 + j] * out[c] }
            }
        }
        #expect(ErrorSize(reference: reference, candidate: result.y).relative < 1e-6)
        #expect(ErrorSize(reference: reference, candidate: try olmo.run(x, tokens: tokens).y).relative < 1e-6)
    }

    @Test("a gated activation without gate projections is an error naming the option")
    func activationMismatch() throws {
        let layer = Self.layer(experts: 2)
        let config = MoEConfig(topK: 1, scoreFunction: .softmax, normalizeTopK: true, activation: .relu2)
        #expect(throws: ForwardError.self) { try MoELayerForward(layer, config: config, flavor: .megatron, checkpoint: "test") }
    }

    @Test("diagnostics: counts, OLMo's load imbalance, aux loss 1 and z-loss log(E)² for uniform logits")
    func diagnostics() {
        let routing = Routing(
            tokens: 2, numExperts: 4, topK: 2, logits: [Float](repeating: 0, count: 8), selectionScores: [Float](repeating: 0, count: 8),
            indices: [0, 1, 0, 2], weights: [0.5, 0.5, 0.5, 0.5])
        let diagnostics = RoutingDiagnostics(routing, scoreFunction: .softmax)
        #expect(diagnostics.tokensPerExpert == [2, 1, 1, 0])
        #expect(abs(diagnostics.loadImbalance - 2) < 1e-12)
        #expect(abs(diagnostics.auxLoss - 1) < 1e-9)
        #expect(abs(diagnostics.zLoss - Foundation.log(4.0) * Foundation.log(4.0)) < 1e-9)
        #expect(abs(RoutingDiagnostics(routing, scoreFunction: .sigmoid).auxLoss - 1) < 1e-9)
    }

    @Test("seeded tokens are reproducible and standard normal")
    func seededTokens() {
        var a = SeededTokens(seed: 42)
        var b = SeededTokens(seed: 42)
        let x = a.normal(count: 20_000)
        #expect(x == b.normal(count: 20_000))
        let mean = x.reduce(0, +) / Float(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(x.count)
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05)
    }
}
