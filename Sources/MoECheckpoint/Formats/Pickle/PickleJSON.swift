/// Shows pickle values as JSON, for `inspect` and for reading settings out of objects such as
/// Megatron's `args` Namespace.
///
/// The mapping is lossy on purpose (it is a view, never written back): an enum member
/// `signal.Signals(15)` shows its value `15`, a GLOBAL such as `torch.float32` shows its dotted
/// name, an object shows its state, a tensor a short description. Shared values are expanded, so
/// the walk counts nodes and bytes of text against
/// budgets.
public enum PickleJSON {
    /// Most nodes one conversion visits.
    public static let defaultBudget = 1_000_000
    /// Most bytes of strings one conversion produces: a memoized 1 MB string reached 100 000
    /// times is one object to the pickle machine and 100 GB to a view that expands it.
    public static let defaultTextBudget = 64 << 20

    /// What one conversion may still produce.
    struct Allowance {
        let source: String
        let key: String
        let budget: Int
        var nodes: Int
        var textBytes = PickleJSON.defaultTextBudget

        init(source: String, key: String, budget: Int) {
            self.source = source
            self.key = key
            self.budget = budget
            nodes = budget
        }

        mutating func spend(nodes count: Int = 1, text: Int = 0) throws {
            nodes -= count
            textBytes -= text
            guard nodes >= 0 else { throw PickleError.viewTooLarge(source: source, key: key, limit: "\(budget) nodes") }
            guard textBytes >= 0 else { throw PickleError.viewTooLarge(source: source, key: key, limit: "\(PickleJSON.defaultTextBudget) bytes of text") }
        }
    }

    /// The JSON view of `value`; `source` and `key` name it when it is too large to show.
    public static func convert(_ value: PickleValue, budget: Int = defaultBudget, source: String = "pickle", key: String = "") throws -> JSONValue {
        var allowance = Allowance(source: source, key: key, budget: budget)
        return try convert(value, &allowance)
    }

    /// The fields of an object's dict state (`argparse.Namespace`), or of a dict with string keys.
    public static func fields(of value: PickleValue, budget: Int = defaultBudget, source: String = "pickle", key: String = "args") throws -> JSONObject? {
        let dict: PickleDict?
        switch value {
        case .object(let instance), .reduce(let instance): dict = instance.state?.dictValue
        case .dict(let d): dict = d
        default: dict = nil
        }
        guard let dict else { return nil }
        var allowance = Allowance(source: source, key: key, budget: budget)
        var entries: [(key: String, value: JSONValue)] = []
        for (key, item) in dict.items {
            guard let name = key.stringValue else { continue }
            entries.append((name, try convert(item, &allowance)))
        }
        return JSONObject(entries)
    }

    private static func convert(_ value: PickleValue, _ allowance: inout Allowance) throws -> JSONValue {
        try allowance.spend()
        switch value {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(String(i))
        case .bigInt(let bytes): return .number(decimal(bytes))
        case .float(let bits):
            let d = Double(bitPattern: bits)
            return d.isFinite ? .double(d) : .string(d.isNaN ? "nan" : (d > 0 ? "inf" : "-inf"))
        case .string(let s):
            try allowance.spend(nodes: 0, text: s.utf8.count)
            return .string(s)
        case .bytes(let b):
            try allowance.spend(nodes: 0, text: b.count)
            return .string(String(b.map { Character(Unicode.Scalar($0)) }))
        case .tuple(let items), .frozenSet(let items):
            return .array(try items.map { try convert($0, &allowance) })
        case .list(let list), .set(let list):
            return .array(try list.items.map { try convert($0, &allowance) })
        case .dict(let dict):
            var entries: [(key: String, value: JSONValue)] = []
            for (key, item) in dict.items {
                let name: String
                switch key {
                case .string(let s):
                    try allowance.spend(nodes: 0, text: s.utf8.count)
                    name = s
                default: name = JSONWriter.compact(try convert(key, &allowance))
                }
                entries.append((name, try convert(item, &allowance)))
            }
            return .object(JSONObject(entries))
        case .global(let module, let name):
            try allowance.spend(nodes: 0, text: module.utf8.count + name.utf8.count + 1)
            return .string(module + "." + name)
        case .reduce(let instance):
            // Enum members and similar one-argument calls show their argument.
            if case .global = instance.callable, let args = instance.args.sequenceItems, args.count == 1, instance.state == nil {
                return try convert(args[0], &allowance)
            }
            return try convertInstance(instance, &allowance)
        case .object(let instance):
            return try convertInstance(instance, &allowance)
        case .tensor(let t): return .string("tensor \(t.dtype.rawValue) \(TensorShape.describe(t.shape))")
        case .storage(let s): return .string("storage \(s.typeName) '\(s.key)'")
        }
    }

    private static func convertInstance(_ instance: PickleInstance, _ allowance: inout Allowance) throws -> JSONValue {
        if let state = instance.state { return try convert(state, &allowance) }
        return .string("\(instance.callable.className ?? "object")(…)")
    }

    /// Decimal text of little-endian two's-complement bytes.
    static func decimal(_ bytes: [UInt8]) -> String {
        let negative = (bytes.last ?? 0) & 0x80 != 0
        // Magnitude as little-endian bytes.
        var magnitude = bytes
        if negative {
            var carry = 1
            for i in magnitude.indices {
                let v = Int(~magnitude[i]) & 0xFF
                let sum = v + carry
                magnitude[i] = UInt8(sum & 0xFF)
                carry = sum >> 8
            }
        }
        var digits: [Character] = []
        while magnitude.contains(where: { $0 != 0 }) {
            var remainder = 0
            for i in magnitude.indices.reversed() {
                let current = remainder << 8 | Int(magnitude[i])
                magnitude[i] = UInt8(current / 10)
                remainder = current % 10
            }
            digits.append(Character(String(remainder)))
        }
        if digits.isEmpty { return "0" }
        return (negative ? "-" : "") + String(digits.reversed())
    }
}
