/// Writes `JSONValue`s compactly (as serde_json does, for byte-identical safetensors headers) or
/// indented (for `--json` output and config files).
public enum JSONWriter {
    /// Compact form: no spaces, serde_json's escaping.
    public static func compact(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, indent: nil, level: 0)
        return out
    }

    /// Indented with `indent` spaces per level, Python `json.dumps(indent=2)` style.
    public static func pretty(_ value: JSONValue, indent: Int = 2) -> String {
        var out = ""
        write(value, into: &out, indent: indent, level: 0)
        return out
    }

    /// Formats a double like Python's `repr`: integral values keep a `.0`.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "Infinity" : "-Infinity") }
        if value == value.rounded(), abs(value) < 1e16 { return String(format: value) }
        return "\(value)"
    }

    private static func write(_ value: JSONValue, into out: inout String, indent: Int?, level: Int) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): escape(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            if indent != nil, items.allSatisfy(\.isScalar) {
                // Shapes and offsets stay on one line: `[8, 32]`.
                out += "[" + items.map { compact($0) }.joined(separator: ", ") + "]"
                return
            }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent, level + 1)
                write(item, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out += "]"
        case .object(let object):
            if object.count == 0 { out += "{}"; return }
            out += "{"
            for (i, entry) in object.entries.enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent, level + 1)
                escape(entry.key, into: &out)
                out += indent == nil ? ":" : ": "
                write(entry.value, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: Int?, _ level: Int) {
        guard let indent else { return }
        out += "\n" + String(repeating: " ", count: indent * level)
    }

    /// serde_json's escaping: quote, backslash and control characters; everything else raw UTF-8.
    static func escape(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

private extension JSONValue {
    var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}

private extension String {
    init(format value: Double) {
        // Integral doubles print as "12.0", like Python.
        self = String(Int64(value)) + ".0"
    }
}
