import Foundation

/// One difference `verify` found: where (layer, and the expert or key) and how large.
public struct VerifyFinding: Equatable, Sendable, CustomStringConvertible {
    /// What kind of check failed.
    public enum Kind: String, Sendable {
        /// Layers, expert counts, dimensions, tensors present, expert bias values.
        case structure
        /// A routing setting differs.
        case routingConfig = "routing_config"
        /// Outputs or routing choices differ beyond the tolerance.
        case numbers
    }

    public let kind: Kind
    /// The MoE layer, or `nil` for checkpoint-wide findings.
    public let layer: Int?
    /// The expert or key: `expert 3`, `expert_bias`, `router`, `top_k`, `shared expert`, `y`.
    public let subject: String
    /// What differs, with its size.
    public let detail: String
    /// The size of the difference when it is a number (`rel_err` or a max absolute difference).
    public let size: Double?

    public init(_ kind: Kind, layer: Int?, subject: String, detail: String, size: Double? = nil) {
        self.kind = kind
        self.layer = layer
        self.subject = subject
        self.detail = detail
        self.size = size
    }

    public var description: String {
        (layer.map { "layer \($0) " } ?? "") + "\(subject): \(detail)"
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("kind", .string(kind.rawValue)),
            ("layer", layer.map(JSONValue.int) ?? .null),
            ("subject", .string(subject)),
            ("detail", .string(detail)),
            ("size", size.map { $0.isFinite ? JSONValue.double($0) : .string(String($0)) } ?? .null),
        ]))
    }
}

/// `max|a − b| / max|a|` and `max|a − b|`: the error measure of `cli.md`.
public struct ErrorSize: Equatable, Sendable {
    public let maxAbs: Double
    public let relative: Double

    public init(reference a: [Float], candidate b: [Float]) {
        precondition(a.count == b.count, "compared tensors have one shape")
        var maxDiff = 0.0
        var maxRef = 0.0
        for i in a.indices {
            let diff = abs(Double(a[i]) - Double(b[i]))
            maxDiff = diff.isNaN ? .infinity : max(maxDiff, diff)
            maxRef = max(maxRef, abs(Double(a[i])))
        }
        maxAbs = maxDiff
        relative = maxDiff == 0 ? 0 : (maxRef > 0 ? maxDiff / maxRef : .infinity)
    }

    /// `e.g. "rel_err 8.4e-01 (max_abs_err 1.2e-01)"`.
    public var text: String { "rel_err \(Self.format(relative)) (max_abs_err \(Self.format(maxAbs)))" }

    static func format(_ value: Double) -> String {
        value.isFinite ? String(format: "%.3e", value) : String(value)
    }
}
