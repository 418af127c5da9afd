/// A strict RFC 8259 parser with limits, for headers and configs that come from strangers.
///
/// It rejects duplicate keys (serde keeps the last one silently), nesting deeper than
/// `maxDepth`, and trailing garbage; an error names the byte offset and what was expected.
public struct JSONParser {
    /// Why parsing stopped.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        /// Byte offset in the input.
        public let offset: Int
        /// What was wrong there.
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Nesting limit (the safetensors hostile-input rules use 64).
    public var maxDepth = 64
    /// Whether spaces may follow the value (safetensors pads its header with spaces).
    public var allowTrailingWhitespace = true

    public init(maxDepth: Int = 64) {
        self.maxDepth = maxDepth
    }

    /// Parses one complete JSON document.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var state = State(bytes: bytes, maxDepth: maxDepth)
        state.skipWhitespace()
        let value = try state.parseValue(depth: 0)
        state.skipWhitespace()
        guard state.index == bytes.count else { throw state.fail("unexpected data after the JSON value") }
        return value
    }

    /// Parses a document held in a `String` or byte array.
    public func parse<S: Collection>(_ text: S) throws -> JSONValue where S.Element == UInt8 {
        try Array(text).withUnsafeBytes { try parse($0) }
    }

    /// Parses UTF-8 text.
    public func parse(string: String) throws -> JSONValue {
        try parse(Array(string.utf8))
    }

    private struct State {
        let bytes: UnsafeRawBufferPointer
        let maxDepth: Int
        var index = 0

        init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func fail(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 }
        }

        mutating func expect(_ literal: String, value: JSONValue) throws -> JSONValue {
            for byte in literal.utf8 {
                guard current == byte else { throw fail("expected '\(literal)'") }
                index += 1
            }
            return value
        }

        mutating func parseValue(depth: Int) throws -> JSONValue {
            guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
            guard let c = current else { throw fail("unexpected end of input") }
            switch c {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): return try expect("true", value: .bool(true))
            case UInt8(ascii: "f"): return try expect("false", value: .bool(false))
            case UInt8(ascii: "n"): return try expect("null", value: .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail("unexpected character '\(Character(Unicode.Scalar(c)))'")
            }
        }

        mutating func parseObject(depth: Int) throws -> JSONValue {
            index += 1
            var entries: [(key: String, value: JSONValue)] = []
            var seen = Set<String>()
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return .object(JSONObject(entries))
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyOffset = index
                let key = try parseString()
                guard seen.insert(key).inserted else {
                    throw Failure(offset: keyOffset, reason: "duplicate key \"\(key)\"")
                }
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipWhitespace()
                entries.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard current == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                index += 1
                return .object(JSONObject(entries))
            }
        }

        mutating func parseArray(depth: Int) throws -> JSONValue {
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard current == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                index += 1
                return .array(items)
            }
        }

        mutating func parseNumber() throws -> JSONValue {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                throw fail("expected a digit")
            }
            if first == UInt8(ascii: "0") {
                index += 1
            } else {
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { index += 1 }
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { throw fail("expected a digit after '.'") }
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { throw fail("expected an exponent digit") }
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { index += 1 }
            }
            guard index - start <= 400 else { throw Failure(offset: start, reason: "number too long") }
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        mutating func parseString() throws -> String {
            index += 1
            var runStart = index
            var result = ""
            func flushRun(_ end: Int) {
                if end > runStart {
                    result += String(decoding: UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]), as: UTF8.self)
                }
            }
            while true {
                guard let c = current else { throw fail("unterminated string") }
                if c == UInt8(ascii: "\"") {
                    flushRun(index)
                    index += 1
                    return result
                }
                if c < 0x20 { throw fail("control character in string") }
                if c == UInt8(ascii: "\\") {
                    flushRun(index)
                    index += 1
                    guard let e = current else { throw fail("unterminated escape") }
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""): result += "\""
                    case UInt8(ascii: "\\"): result += "\\"
                    case UInt8(ascii: "/"): result += "/"
                    case UInt8(ascii: "b"): result += "\u{08}"
                    case UInt8(ascii: "f"): result += "\u{0C}"
                    case UInt8(ascii: "n"): result += "\n"
                    case UInt8(ascii: "r"): result += "\r"
                    case UInt8(ascii: "t"): result += "\t"
                    case UInt8(ascii: "u"):
                        var code = try parseHex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired surrogate")
                            }
                            index += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid low surrogate") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw fail("unpaired surrogate")
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fail("invalid code point") }
                        result.unicodeScalars.append(scalar)
                    default: throw fail("invalid escape")
                    }
                    runStart = index
                    continue
                }
                if c >= 0x80 {
                    // Validate one UTF-8 sequence.
                    let length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0
                    guard length > 0, index + length <= bytes.count else { throw fail("invalid UTF-8") }
                    let sequence = UnsafeRawBufferPointer(rebasing: bytes[index..<index + length])
                    var decoder = UTF8()
                    var iterator = sequence.makeIterator()
                    guard case .scalarValue = decoder.decode(&iterator) else { throw fail("invalid UTF-8") }
                    index += length
                    continue
                }
                index += 1
            }
        }

        mutating func parseHex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw fail("invalid hex digit")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
