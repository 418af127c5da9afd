/// A JSON value that keeps object order and the exact text of numbers.
///
/// Foundation's `JSONSerialization` silently keeps the last of two duplicate keys, loses key
/// order and rounds large integers through `Double`; safetensors headers and `--json` output need
/// all three, so headers, indexes and configs go through `JSONParser` instead.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number exactly as written, so `UInt64` offsets parse without rounding.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// Convenience for integers.
    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }
    /// Convenience for doubles, printed the way Python's `json` prints them (`1.0`, `0.001`).
    public static func double(_ value: Double) -> JSONValue { .number(JSONWriter.format(value)) }

    /// The object, if this is one.
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    /// The array, if this is one.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    /// The string, if this is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The bool, if this is one.
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// Whether this is `null`.
    public var isNull: Bool { self == .null }
    /// The number as `Double`, if this is a number.
    public var doubleValue: Double? { if case .number(let n) = self { return Double(n) } else { return nil } }
    /// The number as an exact `Int`, if it is an integer that fits.
    public var intValue: Int? {
        guard case .number(let n) = self else { return nil }
        if let i = Int(n) { return i }
        if let d = Double(n), d.rounded() == d, abs(d) < 9.0e15 { return Int(d) }
        return nil
    }
    /// The number as an exact `UInt64`, if it is a non-negative integer written without fraction.
    public var uint64Value: UInt64? { if case .number(let n) = self { return UInt64(n) } else { return nil } }
}

/// An ordered JSON object.
public struct JSONObject: Equatable, Sendable, Sequence {
    /// Key–value pairs in file order.
    public private(set) var entries: [(key: String, value: JSONValue)]

    public init(_ entries: [(key: String, value: JSONValue)] = []) {
        self.entries = entries
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// The value of `key`, or `nil`.
    public subscript(key: String) -> JSONValue? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    /// Keys in order.
    public var keys: [String] { entries.map(\.key) }
    /// Number of keys.
    public var count: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        entries.makeIterator()
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}
