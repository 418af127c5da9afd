/// How one framework turns router logits into expert choices and weights, and where it applies
/// them. Megatron-Core, OLMo-core and NeMo AutoModel agree on the canonical weights but not on
/// every routing rule; each difference is one field here, so `Router`, `ExpertBank` and
/// `MoELayerForward` have one code path and the frameworks are data.
///
/// Sources: `mapping-facts.md` (Router math, per library), `layouts-megatron.md` §1.4–1.5, §3.1,
/// §3.3; `layouts-olmo.md` §1.4, §2.3; `layouts-nemo-hf.md` §1.2, §1.4.
public struct RoutingFlavor: Equatable, Sendable, CustomStringConvertible {
    /// The frameworks whose routing moe-ckpt reproduces.
    public enum Name: String, CaseIterable, Sendable, Codable {
        /// Megatron-Core 0.16.1 `TopKRouter` + `SequentialMLP`.
        case megatron
        /// OLMo-core 3.0.0 v1 `MoELinearRouter` + `DroplessMoEMLP`.
        case olmo
        /// NeMo AutoModel 0.7.0 `Gate` + `GroupedExperts`, which also writes the HF per-expert keys.
        case nemoHF = "nemo-hf"
    }

    /// How softmax routing picks its experts.
    public enum SoftmaxSelection: Equatable, Sendable {
        /// Normalised softmax picks the top-k of the raw logits and softmaxes over those k
        /// (Megatron `pre_softmax=False`); unnormalised softmax is softmax over all, then top-k.
        /// The two give the same weights without groups, but groups then score raw logits.
        case logitsWhenNormalized
        /// Softmax over all experts, then top-k of the probabilities (OLMo-core, NeMo `softmax_before_topk`).
        case probabilities
    }

    /// The denominator of weight normalisation.
    public enum Normalization: Equatable, Sendable {
        /// `w / (Σw + epsilon)`, only when `k > 1` (Megatron, NeMo: epsilon 1e-20).
        case sum(epsilon: Float)
        /// `w / ‖w‖_p` with no epsilon, also for `k == 1` (OLMo-core `normalize_expert_weights = p`).
        case pNorm(p: Float)
    }

    /// Group-limited top-k: which entries score a group, and how dropped groups are masked.
    public struct GroupRule: Equatable, Sendable {
        /// How many of a group's largest selection scores add up to its group score.
        public enum Score: Equatable, Sendable {
            /// `k / group_topk` (integer division): Megatron's `group_limited_topk`.
            case topKOverKeptGroups
            /// 2 when an expert bias exists, else 1 (`amax`): NeMo's `Gate` `sigmoid` branch.
            case topTwoWithBiasElseMax
        }
        /// What a dropped group's experts become before the final top-k.
        public enum Mask: Equatable, Sendable {
            /// `masked_fill(-inf)` (Megatron): dropped experts are never chosen.
            case negativeInfinity
            /// Multiplied by 0 (NeMo): a dropped expert can win if kept scores go negative.
            case zero
        }
        public let score: Score
        public let mask: Mask
        /// Score functions that take the group stage (NeMo has no groups for softmax).
        public let scoreFunctions: Set<ScoreFunction>

        /// Entries summed per group for a token.
        func entriesPerGroup(topK: Int, keptGroups: Int, hasBias: Bool) -> Int {
            switch score {
            case .topKOverKeptGroups: return max(1, topK / keptGroups)
            case .topTwoWithBiasElseMax: return hasBias ? 2 : 1
            }
        }
    }

    /// Where the routing weight multiplies an expert.
    public enum WeightPlacement: Equatable, Sendable {
        /// On the activation, before the down projection (Megatron `SequentialMLP`, NeMo `GroupedExperts`).
        case beforeDown
        /// On the expert output (OLMo-core's un-permute scatter).
        case afterDown
    }

    /// The GELU of `geglu` and `gelu`.
    public enum GELUForm: Equatable, Sendable {
        /// Exact, `0.5·z·(1 + erf(z/√2))` (Megatron's `F.gelu`).
        case erf
        /// `gelu_tanh` (NeMo's `geglu`).
        case tanh
    }

    /// `quick_geglu`: `quick_gelu(min(g, c))·(clamp(u, −c, c) + offset)`.
    public struct QuickGeGLU: Equatable, Sendable {
        /// Added to the up half (Megatron `glu_linear_offset` 0; NeMo 1).
        public let upOffset: Float
        /// Clamp limit, `nil` for none (Megatron default; NeMo `activation_limit` 7).
        public let clamp: Float?
    }

    public let name: Name
    public let softmaxSelection: SoftmaxSelection
    /// Added to every sigmoid score (OLMo-core: 1e-7).
    public let sigmoidEpsilon: Float
    /// Sigmoid weights are normalised whenever `k > 1`, whatever `normalize_topk` says (Megatron).
    public let sigmoidAlwaysNormalizes: Bool
    public let normalization: Normalization
    /// `nil` when the framework has no group-limited routing (OLMo-core v1).
    public let groupRule: GroupRule?
    public let weightPlacement: WeightPlacement
    public let gelu: GELUForm
    public let quickGeGLU: QuickGeGLU

    /// Megatron-Core 0.16.1: `topk_routing_with_score_function`, `group_limited_topk`, `SequentialMLP`.
    public static let megatron = RoutingFlavor(
        name: .megatron, softmaxSelection: .logitsWhenNormalized, sigmoidEpsilon: 0, sigmoidAlwaysNormalizes: true,
        normalization: .sum(epsilon: 1e-20),
        groupRule: GroupRule(score: .topKOverKeptGroups, mask: .negativeInfinity, scoreFunctions: [.softmax, .sigmoid]),
        weightPlacement: .beforeDown, gelu: .erf, quickGeGLU: QuickGeGLU(upOffset: 0, clamp: nil))

    /// OLMo-core 3.0.0: `MoERouter.forward`/`get_top_k`, `DroplessMoEMLP`, `_padded_copy`.
    public static let olmo = RoutingFlavor(
        name: .olmo, softmaxSelection: .probabilities, sigmoidEpsilon: 1e-7, sigmoidAlwaysNormalizes: false,
        normalization: .pNorm(p: 1), groupRule: nil,
        weightPlacement: .afterDown, gelu: .tanh, quickGeGLU: QuickGeGLU(upOffset: 0, clamp: nil))

    /// NeMo AutoModel 0.7.0: `Gate._route_scores` (`sigmoid` branch), `GroupedExperts`.
    public static let nemoHF = RoutingFlavor(
        name: .nemoHF, softmaxSelection: .probabilities, sigmoidEpsilon: 0, sigmoidAlwaysNormalizes: false,
        normalization: .sum(epsilon: 1e-20),
        groupRule: GroupRule(score: .topTwoWithBiasElseMax, mask: .zero, scoreFunctions: [.sigmoid]),
        weightPlacement: .beforeDown, gelu: .tanh, quickGeGLU: QuickGeGLU(upOffset: 1, clamp: 7))

    /// The flavor named `name`.
    public static func named(_ name: Name) -> RoutingFlavor {
        switch name {
        case .megatron: return .megatron
        case .olmo: return .olmo
        case .nemoHF: return .nemoHF
        }
    }

    /// The flavor of the framework that writes `layout`: a checkpoint computes what its own
    /// framework computes. NeMo writes both its native keys and the HF per-expert keys.
    public static func `default`(for layout: Layout) -> RoutingFlavor {
        switch layout {
        case .megatron: return .megatron
        case .olmo: return .olmo
        case .nemo, .hf: return .nemoHF
        }
    }

    public var description: String { name.rawValue }
}
