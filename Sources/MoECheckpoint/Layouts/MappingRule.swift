/// One row of a layout table: how a native key holds canonical tensors.
///
/// The same row serves reading (native → canonical) and writing (canonical → native). The
/// transformation is declared, never coded per layout, and its parts compose in this order:
///
///     parts ──join──▶ unit ──transpose?──▶ ──stack experts?──▶ ──stack layers?──▶ logical ──reshape──▶ stored
///
/// - `join`: `.single` (one role), `.concatRows` (`[G; U]`: gate rows, then up rows, as Megatron's
///   `linear_fc1` and NeMo's `gate_and_up_projs` before its transpose), `.interleaveRows`
///   (`[g0, u0, g1, u1, …]`, GPT-OSS).
/// - `transposed`: the unit is stored input-major (`x @ W`), e.g. NeMo's grouped tensors and
///   OLMo's `w2`.
/// - `experts`: `.perKey` (`{expert}` in the key), `.stacked` (a leading `E` axis: NeMo grouped,
///   OLMo `w1/w2/w3`, Megatron GroupedMLP and torch_dist), or `.none` (router, bias, shared).
/// - `layers`: `.perKey` (`{layer}` in the key) or `.stacked` (Megatron torch_dist's leading `L`).
/// - `storedShape`: the on-disk shape when it is a reshape of the logical one, which costs no
///   byte movement: OLMo's flat router `[E·D]`, OLMo's `w1` `[E·F, D]`, GroupedMLP's `[D, E·2F]`.
///
/// A row is a shared, immutable object: detection matches every key against every row of every
/// table, and each matched tensor keeps its row, so a row costs one reference, not a copy of its
/// six arrays and strings (that copying was a quarter of `inspect`'s time at 2,000 tensors).
public final class MappingRule: Sendable, CustomStringConvertible {
    public enum Join: String, Sendable {
        case single
        case concatRows = "concat_rows"
        case interleaveRows = "interleave_rows"
    }
    public enum ExpertPacking: String, Sendable {
        case none
        case perKey = "per_key"
        case stacked
    }
    public enum LayerPacking: String, Sendable {
        case perKey = "per_key"
        case stacked
    }

    public let pattern: KeyPattern
    public let parts: [TensorRole]
    public let join: Join
    public let transposed: Bool
    public let experts: ExpertPacking
    public let layers: LayerPacking
    public let storedShape: [DimExpr]?
    /// Where the fact was checked (a `mapping-facts.md` section or a framework file).
    public let provenance: String
    /// Shape of one unit (one expert of one layer) after join and transpose.
    public let unitShape: [DimExpr]
    /// The logical shape: the unit with its stacking axes.
    public let logicalShape: [DimExpr]
    /// The shape as stored.
    public let shape: [DimExpr]
    /// Whether the rule carries per-expert tensors.
    public let isExpertRule: Bool

    public init(
        _ pattern: KeyPattern, _ parts: [TensorRole], join: Join = .single, transposed: Bool = false,
        experts: ExpertPacking? = nil, layers: LayerPacking? = nil, storedShape: [DimExpr]? = nil,
        provenance: String
    ) {
        precondition(!parts.isEmpty && parts.count <= 2, "a rule joins one or two roles")
        precondition((parts.count == 2) == (join != .single), "two parts need a join, one part none")
        let captures = pattern.captures
        self.pattern = pattern
        self.parts = parts
        self.join = join
        self.transposed = transposed
        self.experts = experts ?? (captures.contains(.expert) ? .perKey : .none)
        self.layers = layers ?? (captures.contains(.layer) ? .perKey : .stacked)
        self.storedShape = storedShape
        self.provenance = provenance
        var unit = parts[0].canonicalShape
        if parts.count == 2 { unit[0] = 2 * unit[0] }
        if transposed { unit.reverse() }
        unitShape = unit
        var logical = unit
        if self.experts == .stacked { logical.insert(.e, at: 0) }
        if self.layers == .stacked { logical.insert(.l, at: 0) }
        logicalShape = logical
        shape = storedShape ?? logical
        isExpertRule = parts.allSatisfy(\.isPerExpert)
        precondition((self.experts == .perKey) == captures.contains(.expert), "{expert} iff per-key experts: \(pattern)")
        precondition((self.layers == .perKey) == captures.contains(.layer), "{layer} iff per-key layers: \(pattern)")
        precondition(parts.allSatisfy { $0.isPerExpert } || self.experts == .none, "only expert roles stack over experts: \(pattern)")
    }

    public var description: String {
        "\(pattern) ⇄ \(parts.map(\.rawValue).joined(separator: "+")) \(TensorShape.describeSymbolic(shape))"
    }
}

extension TensorShape {
    /// `[E, 2F, D]`.
    static func describeSymbolic(_ shape: [DimExpr]) -> String {
        "[" + shape.map(\.description).joined(separator: ", ") + "]"
    }
}
