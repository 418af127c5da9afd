/// The four key families moe-ckpt reads and writes (`cli.md`).
public enum Layout: String, CaseIterable, Sendable, Codable {
    case megatron
    case olmo
    case nemo
    case hf
}

/// A declarative two-way table: the rows of one framework variant.
///
/// Variants of one framework (Megatron SequentialMLP vs GroupedMLP, OLMo dropless vs default,
/// HF families) are separate tables rather than `if` branches, so detection can weigh them.
public struct LayoutTable: Sendable {
    /// The framework.
    public let layout: Layout
    /// The variant's name, shown by `inspect` (`"sequential"`, `"dropless"`, `"deepseek_v3"`).
    public let variant: String
    /// The MoE rows.
    public let rules: [MappingRule]
    /// Keys that belong to MoE modules but carry no weights (`_extra_state`), named explicitly
    /// so that nothing is dropped silently.
    public let ignored: [KeyPattern]

    public init(layout: Layout, variant: String, rules: [MappingRule], ignored: [KeyPattern] = []) {
        var seen = Set<String>()
        for rule in rules {
            precondition(seen.insert(rule.pattern.template).inserted, "duplicate pattern \(rule.pattern) in \(layout)/\(variant)")
        }
        self.layout = layout
        self.variant = variant
        self.rules = rules
        self.ignored = ignored
    }

    /// The row and captures for `key`, if the key is an MoE tensor of this table.
    public func match(_ key: String) -> (rule: MappingRule, match: KeyPattern.Match)? {
        var key = key
        return key.withUTF8 { match(utf8: $0) }
    }

    /// `match` over a key's UTF-8 bytes, which detection gets once per key for every table.
    func match(utf8 key: UnsafeBufferPointer<UInt8>) -> (rule: MappingRule, match: KeyPattern.Match)? {
        for rule in rules {
            if let match = rule.pattern.match(utf8: key) { return (rule, match) }
        }
        return nil
    }

    /// Whether a key (its UTF-8 bytes) is an explicitly ignored MoE key.
    func isIgnored(utf8 key: UnsafeBufferPointer<UInt8>) -> Bool {
        ignored.contains { $0.match(utf8: key) != nil }
    }

    /// The row that holds `role`, if any.
    public func rule(for role: TensorRole) -> MappingRule? {
        rules.first { $0.parts.contains(role) }
    }

    /// `"megatron/sequential"`.
    public var name: String { "\(layout.rawValue)/\(variant)" }
}
