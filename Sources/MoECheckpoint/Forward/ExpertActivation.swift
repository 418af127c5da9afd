import Foundation

/// An expert's element-wise activation in float32: `act(g, u)` for gated units, `act(u)` for the
/// others. The GELU form and the quick-GeGLU offset and clamp follow the framework.
///
/// Megatron-Core 0.16.1 `megatron/core/activations.py`, `fused_bias_geglu.quick_gelu`,
/// `mlp.MLP.forward` (`glu`); NeMo AutoModel 0.7.0 `components/moe/experts.py`
/// (`get_expert_activation_for_deepep`); `layouts-megatron.md` §3.3, `layouts-nemo-hf.md` §1.4.
struct ExpertActivation: Sendable {
    let activation: Activation
    let gelu: RoutingFlavor.GELUForm
    let quickGeGLU: RoutingFlavor.QuickGeGLU

    init(_ activation: Activation, flavor: RoutingFlavor) {
        self.activation = activation
        self.gelu = flavor.gelu
        self.quickGeGLU = flavor.quickGeGLU
    }

    /// Overwrites `up` with the activation of each element (`gate` is `nil` for non-gated units).
    func apply(gate: UnsafeBufferPointer<Float>?, up: UnsafeMutableBufferPointer<Float>) {
        switch activation {
        case .swiglu:
            guard let gate else { return }
            for i in up.indices { up[i] = Self.silu(gate[i]) * up[i] }
        case .geglu:
            guard let gate else { return }
            for i in up.indices { up[i] = geluValue(gate[i]) * up[i] }
        case .quickGeGLU:
            guard let gate else { return }
            let limit = quickGeGLU.clamp
            for i in up.indices {
                var g = gate[i]
                var u = up[i]
                if let limit {
                    g = min(g, limit)
                    u = min(max(u, -limit), limit)
                }
                up[i] = Self.quickGELU(g) * (u + quickGeGLU.upOffset)
            }
        case .relu2:
            for i in up.indices {
                let r = max(up[i], 0)
                up[i] = r * r
            }
        case .gelu:
            for i in up.indices { up[i] = geluValue(up[i]) }
        case .silu:
            for i in up.indices { up[i] = Self.silu(up[i]) }
        }
    }

    @inline(__always)
    static func silu(_ z: Float) -> Float { z / (1 + Foundation.exp(-z)) }

    @inline(__always)
    static func quickGELU(_ z: Float) -> Float { z / (1 + Foundation.exp(-1.702 * z)) }

    @inline(__always)
    func geluValue(_ z: Float) -> Float {
        switch gelu {
        case .erf: return 0.5 * z * (1 + Foundation.erf(z * 0.707_106_77))
        case .tanh: return 0.5 * z * (1 + Foundation.tanh(0.797_884_56 * (z + 0.044_715 * z * z * z)))
        }
    }
}
