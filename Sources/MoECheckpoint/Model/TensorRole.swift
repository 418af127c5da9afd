/// The canonical vocabulary of MoE tensors. Every layout table maps its keys to and from these
/// roles, so N layouts need N tables rather than N² converters.
///
/// Shapes follow `nn.Linear` (out × in): `E` experts, `D` hidden, `F` expert FFN, `Fs` shared FFN.
public enum TensorRole: String, CaseIterable, Sendable, Codable, Comparable {
    /// Router weight `[E, D]`.
    case routerWeight = "router"
    /// Expert bias `[E]`, float32, used for expert selection only.
    case expertBias = "expert_bias"
    /// Per-expert gate projection `[F, D]` (absent for non-gated activations).
    case expertGate = "gate"
    /// Per-expert up projection `[F, D]` (the only fc1 of non-gated activations).
    case expertUp = "up"
    /// Per-expert down projection `[D, F]`.
    case expertDown = "down"
    /// Shared expert gate projection `[Fs, D]`.
    case sharedGate = "shared_gate_proj"
    /// Shared expert up projection `[Fs, D]`.
    case sharedUp = "shared_up_proj"
    /// Shared expert down projection `[D, Fs]`.
    case sharedDown = "shared_down_proj"
    /// Sigmoid gate on the shared expert's output `[1, D]`.
    case sharedExpertGate = "shared_expert_gate"

    /// Whether there is one tensor per expert.
    public var isPerExpert: Bool { self == .expertGate || self == .expertUp || self == .expertDown }

    /// Whether the role belongs to the shared expert.
    public var isShared: Bool { [.sharedGate, .sharedUp, .sharedDown, .sharedExpertGate].contains(self) }

    /// The canonical shape, in the symbols of `Dim`.
    var canonicalShape: [DimExpr] {
        switch self {
        case .routerWeight: return [.e, .d]
        case .expertBias: return [.e]
        case .expertGate, .expertUp: return [.f, .d]
        case .expertDown: return [.d, .f]
        case .sharedGate, .sharedUp: return [.fs, .d]
        case .sharedDown: return [.d, .fs]
        case .sharedExpertGate: return [.one, .d]
        }
    }

    public static func < (lhs: TensorRole, rhs: TensorRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Where one canonical tensor sits: its role, its layer and (for per-expert roles) its expert.
public struct CanonicalKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let role: TensorRole
    public let layer: Int
    public let expert: Int?

    public init(_ role: TensorRole, layer: Int, expert: Int? = nil) {
        self.role = role
        self.layer = layer
        self.expert = expert
    }

    public static func < (lhs: CanonicalKey, rhs: CanonicalKey) -> Bool {
        (lhs.layer, lhs.role, lhs.expert ?? -1) < (rhs.layer, rhs.role, rhs.expert ?? -1)
    }

    public var description: String {
        "layer \(layer) \(role.rawValue)" + (expert.map { " expert \($0)" } ?? "")
    }
}
