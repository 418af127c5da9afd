/// Megatron-LM's `args` (an `argparse.Namespace`) as pickle data: its fields as JSON for
/// `MegatronArgs`.
enum MegatronArgsPickle {
    /// The attribute dict of a pickled `argparse.Namespace`.
    static func attributes(_ value: PickleValue?) -> PickleDict? {
        guard case .object(let instance)? = value, instance.callable.className == "argparse.Namespace" else { return nil }
        return instance.state?.dictValue
    }

    /// The Namespace's fields that have a JSON form (numbers, strings, lists of them, enum
    /// values, dtype names); opaque ones are left out, and so is everything after the first
    /// `PickleJSON.defaultTextBudget` bytes of text (a memoized string can be reached many times).
    static func fields(_ namespace: PickleValue?) -> JSONObject? {
        guard let attributes = attributes(namespace) else { return nil }
        var entries: [(key: String, value: JSONValue)] = []
        var text = PickleJSON.defaultTextBudget
        for (key, value) in attributes.items {
            guard let name = key.stringValue, let json = json(value, depth: 0, text: &text) else { continue }
            entries.append((name, json))
        }
        return JSONObject(entries)
    }

    static func json(_ value: PickleValue, depth: Int, text: inout Int) -> JSONValue? {
        guard depth < 8, text >= 0 else { return nil }
        switch value {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(String(i))
        case .float(let bits): return .double(Double(bitPattern: bits))
        case .string(let s):
            text -= s.utf8.count
            return text >= 0 ? .string(s) : nil
        case .tuple(let items): return .array(items.compactMap { json($0, depth: depth + 1, text: &text) })
        case .list(let list): return .array(list.items.compactMap { json($0, depth: depth + 1, text: &text) })
        case .global(let module, let name):
            text -= module.utf8.count + name.utf8.count + 1
            return text >= 0 ? .string(module + "." + name) : nil
        case .reduce(let instance):
            // Enum members pickle as `EnumClass(value)`: keep the value.
            if let args = instance.args.sequenceItems, args.count == 1 { return json(args[0], depth: depth + 1, text: &text) }
            return nil
        default: return nil
        }
    }
}
