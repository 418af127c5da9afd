/// The symbolic dimensions of an MoE layer.
public enum Dim: String, CaseIterable, Sendable {
    /// Stacked layers (Megatron torch_dist's leading axis).
    case l = "L"
    /// Experts.
    case e = "E"
    /// Hidden size.
    case d = "D"
    /// Expert FFN width.
    case f = "F"
    /// Shared-expert FFN width.
    case fs = "Fs"
}

/// A dimension written as `coefficient × product(symbols)`, e.g. `2F`, `E·F`, `E·D`, `1`.
///
/// Layout tables state each stored shape with these, so one solver can both check a
/// checkpoint's shapes and recover `E`, `D`, `F` and `Fs` from them.
public struct DimExpr: Hashable, Sendable, CustomStringConvertible {
    public let coefficient: Int
    public let symbols: [Dim]

    public init(_ coefficient: Int = 1, _ symbols: [Dim]) {
        self.coefficient = coefficient
        self.symbols = symbols
    }

    public static let one = DimExpr(1, [])
    public static let e = DimExpr(1, [.e])
    public static let d = DimExpr(1, [.d])
    public static let f = DimExpr(1, [.f])
    public static let fs = DimExpr(1, [.fs])
    public static let l = DimExpr(1, [.l])

    /// `self · other`.
    public static func * (lhs: DimExpr, rhs: DimExpr) -> DimExpr {
        DimExpr(lhs.coefficient * rhs.coefficient, lhs.symbols + rhs.symbols)
    }

    /// `k · self`.
    public static func * (lhs: Int, rhs: DimExpr) -> DimExpr {
        DimExpr(lhs * rhs.coefficient, rhs.symbols)
    }

    /// The value under `bindings`, or `nil` when a symbol is unbound.
    public func evaluate(_ bindings: [Dim: Int]) -> Int? {
        var value = coefficient
        for symbol in symbols {
            guard let bound = bindings[symbol] else { return nil }
            value *= bound
        }
        return value
    }

    /// Outcome of matching an observed size against this expression.
    enum Unification: Equatable {
        case consistent
        case bound(Dim, Int)
        case contradiction
        case undetermined
    }

    /// Checks `observed` against this expression, binding its one unknown symbol if there is one.
    func unify(_ observed: Int, _ bindings: [Dim: Int]) -> Unification {
        var known = coefficient
        var unknown: [Dim] = []
        for symbol in symbols {
            if let bound = bindings[symbol] { known *= bound } else { unknown.append(symbol) }
        }
        if unknown.isEmpty { return known == observed ? .consistent : .contradiction }
        guard Set(unknown).count == 1 else { return .undetermined }
        let power = unknown.count
        guard known > 0, observed % known == 0 else { return .contradiction }
        let remainder = observed / known
        if power == 1 { return remainder > 0 ? .bound(unknown[0], remainder) : .contradiction }
        let root = Int(Double(remainder).squareRoot().rounded())
        return power == 2 && root * root == remainder && root > 0 ? .bound(unknown[0], root) : .undetermined
    }

    public var description: String {
        let product = symbols.map(\.rawValue).joined(separator: "·")
        if symbols.isEmpty { return String(coefficient) }
        return coefficient == 1 ? product : "\(coefficient)\(product)"
    }
}
