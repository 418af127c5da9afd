/// A tensor-key template with typed captures, parsed once: `"model.layers.{layer}.mlp.gate.weight"`.
///
/// `{layer}` and `{expert}` match decimal indices (no sign, no leading zeros); a trailing `*`
/// matches any rest (for ignore lists such as `…_extra_state/shard_*`). Every key shape
/// of a layout lives in exactly one table as a `KeyPattern`; the rest of the code speaks in roles.
public struct KeyPattern: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// What a `{…}` placeholder stands for.
    public enum Capture: String, Sendable, Hashable {
        case layer
        case expert
    }

    /// The template as a matching program over one byte buffer, with no reference-counted
    /// payload: detection matches every key against every row of every table, and a `String`
    /// per literal was retained and released on every step.
    private enum Step: Hashable, Sendable {
        /// `literalBytes[start..<start + count]`.
        case literal(start: Int, count: Int)
        case capture(Capture)
        case anyTail
    }

    private let steps: [Step]
    private let literalBytes: [UInt8]

    /// The template text.
    public let template: String

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// Parses a template; a malformed placeholder is a programming error in a table.
    public init(_ template: String) {
        self.template = template
        var steps: [Step] = []
        var bytes: [UInt8] = []
        func literal(_ text: Substring) {
            steps.append(.literal(start: bytes.count, count: text.utf8.count))
            bytes += text.utf8
        }
        var rest = Substring(template)
        let wildcardTail = rest.hasSuffix("*")
        if wildcardTail { rest = rest.dropLast() }
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { literal(rest[..<open]) }
            guard let close = rest[open...].firstIndex(of: "}"),
                let capture = Capture(rawValue: String(rest[rest.index(after: open)..<close]))
            else { preconditionFailure("bad placeholder in key pattern \(template)") }
            if case .capture = steps.last { preconditionFailure("adjacent captures in \(template)") }
            steps.append(.capture(capture))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { literal(rest) }
        if wildcardTail { steps.append(.anyTail) }
        self.steps = steps
        literalBytes = bytes
    }

    /// Which captures the pattern has.
    public var captures: Set<Capture> {
        Set(steps.compactMap { if case .capture(let c) = $0 { return c } else { return nil } })
    }

    /// Indices captured from a key.
    public struct Match: Equatable, Sendable {
        public var layer: Int?
        public var expert: Int?
    }

    /// Matches `key` against the whole template.
    public func match(_ key: String) -> Match? {
        var key = key
        return key.withUTF8 { match(utf8: $0) }
    }

    /// Matches a key's UTF-8 bytes (callers trying many patterns get the bytes once).
    func match(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Match? {
        steps.withUnsafeBufferPointer { steps in
            literalBytes.withUnsafeBufferPointer { literals in
                Self.run(steps, literals: literals, on: bytes)
            }
        }
    }

    private static func run(_ steps: UnsafeBufferPointer<Step>, literals: UnsafeBufferPointer<UInt8>, on bytes: UnsafeBufferPointer<UInt8>) -> Match? {
        var index = 0
        var result = Match()
        for step in steps {
            switch step {
            case .literal(let start, let count):
                guard bytes.count - index >= count else { return nil }
                for offset in 0..<count where bytes[index + offset] != literals[start + offset] { return nil }
                index += count
            case .anyTail:
                return result
            case .capture(let capture):
                var digits = 0
                var value = 0
                while index + digits < bytes.count, bytes[index + digits] >= 0x30, bytes[index + digits] <= 0x39 {
                    if digits == 1 && value == 0 { return nil }  // leading zero
                    guard digits < 9 else { return nil }
                    value = value * 10 + Int(bytes[index + digits] - 0x30)
                    digits += 1
                }
                guard digits > 0 else { return nil }
                index += digits
                switch capture {
                case .layer: result.layer = value
                case .expert: result.expert = value
                }
            }
        }
        return index == bytes.count ? result : nil
    }

    /// The key for concrete indices.
    public func render(layer: Int? = nil, expert: Int? = nil) -> String {
        var out = ""
        for step in steps {
            switch step {
            case .literal(let start, let count): out += String(decoding: literalBytes[start..<(start + count)], as: UTF8.self)
            case .capture(.layer): out += String(layer ?? 0)
            case .capture(.expert): out += String(expert ?? 0)
            case .anyTail: break
            }
        }
        return out
    }

    public var description: String { template }
}
