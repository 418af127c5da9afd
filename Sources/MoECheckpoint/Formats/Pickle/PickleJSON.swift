/// Shows pickle values as JSON, for `inspect` and for reading settings out of objects such as
/// Megatron's `args` Namespace.
///
/// The mapping is lossy on purpose (it is a view, never written back): an enum member
/// `signal.Signals(15)` shows its value `15`, a GLOBAL such as `torch.float32` shows its dotted
/// name, an object shows its state, a tensor a short description. Shared values are expanded, so
/// the walk counts nodes against a budget.
public enum PickleJSON {
    /// Most nodes one conversion visits.
    public static let defaultBudget = 1_000_000

    /// The JSON view of `value`.
    public static func convert(_ value: PickleValue, budget: Int = defaultBudget) throws -> JSONValue {
        var remaining = budget
        return try convert(value, remaining: &remaining, budget: budget)
    }

    /// The fields of an object's dict state (`argparse.Namespace`), or of a dict with string keys.
    public static func fields(of value: PickleValue, budget: Int = defaultBudget) throws -> JSONObject? {
        let dict: PickleDict?
        switch value {
        case .object(let instance), .reduce(let instance): dict = instance.state?.dictValue
        case .dict(let d): dict = d
        default: dict = nil
        }
        guard let dict else { return nil }
        var remaining = budget
        var entries: [(key: String, value: JSONValue)] = []
        for (key, item) in dict.items {
            guard let name = key.stringValue else { continue }
            entries.append((name, try convert(item, remaining: &remaining, budget: budget)))
        }
        return JSONObject(entries)
    }

    private static func convert(_ value: PickleValue, remaining: inout Int, budget: Int) throws -> JSONValue {
        remaining -= 1
        guard remaining >= 0 else { throw PickleError.unpicklable(kind: value.kindName, reason: "more than \(budget) nodes to show") }
        switch value {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(String(i))
        case .bigInt(let bytes): return .number(decimal(bytes))
        case .float(let bits):
            let d = Double(bitPattern: bits)
            return d.isFinite ? .double(d) : .string(d.isNaN ? "nan" : (d > 0 ? "inf" : "-inf"))
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(String(b.map { Character(Unicode.Scalar($0)) }))
        case .tuple(let items), .frozenSet(let items):
            return .array(try items.map { try convert($0, remaining: &remaining, budget: budget) })
        case .list(let list), .set(let list):
            return .array(try list.items.map { try convert($0, remaining: &remaining, budget: budget) })
        case .dict(let dict):
            var entries: [(key: String, value: JSONValue)] = []
            for (key, item) in dict.items {
                let name: String
                switch key {
                case .string(let s): name = s
                default: name = JSONWriter.compact(try convert(key, remaining: &remaining, budget: budget))
                }
                entries.append((name, try convert(item, remaining: &remaining, budget: budget)))
            }
            return .object(JSONObject(entries))
        case .global(let module, let name): return .string(module + "." + name)
        case .reduce(let instance):
            // Enum members and similar one-argument calls show their argument.
            if case .global = instance.callable, let args = instance.args.sequenceItems, args.count == 1, instance.state == nil {
                return try convert(args[0], remaining: &remaining, budget: budget)
            }
            return try convertInstance(instance, remaining: &remaining, budget: budget)
        case .object(let instance):
            return try convertInstance(instance, remaining: &remaining, budget: budget)
        case .tensor(let t): return .string("tensor \(t.dtype.rawValue) \(TensorShape.describe(t.shape))")
        case .storage(let s): return .string("storage \(s.typeName) '\(s.key)'")
        }
    }

    private static func convertInstance(_ instance: PickleInstance, remaining: inout Int, budget: Int) throws -> JSONValue {
        if let state = instance.state { return try convert(state, remaining: &remaining, budget: budget) }
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
