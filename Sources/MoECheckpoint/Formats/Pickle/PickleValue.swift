/// A value rebuilt by the allow-list pickle machine: data only, never code.
///
/// Python containers that can be shared or mutated after creation (lists, dicts, sets, objects)
/// are reference boxes, so a `BINGET` of a memoised list yields the same box and the pickler
/// can re-emit the sharing with `BINPUT`/`BINGET`. Dicts are ordered arrays of pairs (Python
/// keeps insertion order, and keys may be arbitrary values). Floats keep their exact bits and
/// integers beyond 64 bits keep their exact bytes, so re-pickling loses nothing.
///
/// The machine finishes every value before handing it out: it has no cycles, its nesting is at
/// most `PickleLimits.maxNesting`, and its expanded size is within the object budget, so
/// recursive walks over a `PickleValue` are bounded.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer outside `Int64`: minimal little-endian two's-complement bytes (as LONG1 stores it).
    case bigInt([UInt8])
    /// A Python float, as its IEEE-754 bit pattern.
    case float(UInt64)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    /// A `dict`, or an `OrderedDict` (`ordered`), with the state a BUILD attached.
    case dict(PickleDict)
    /// A mutable `set` (EMPTY_SET / ADDITEMS).
    case set(PickleList)
    case frozenSet([PickleValue])
    /// A reference to `module.name`; never resolved to code.
    case global(module: String, name: String)
    /// REDUCE of something not interpreted: `callable(*args)`, kept as data.
    case reduce(PickleInstance)
    /// NEWOBJ: `cls.__new__(cls, *args)` plus the state of a later BUILD, kept as data.
    case object(PickleInstance)
    /// A tensor rebuilt by `_rebuild_tensor_v2/v3` (or wrapped by `_rebuild_parameter`).
    case tensor(TorchTensorRef)
    /// A storage persistent id not consumed by a tensor rebuild.
    case storage(TorchStorageRef)

    /// A Python float.
    public static func double(_ value: Double) -> PickleValue { .float(value.bitPattern) }

    /// An `int` of any size that fits `Int`.
    public static func integer(_ value: Int) -> PickleValue { .int(Int64(value)) }
}

/// A Python list or set: a box, so sharing survives a round trip.
public final class PickleList: @unchecked Sendable {
    /// The items. Mutated only by the pickle machine while it builds the value.
    public internal(set) var items: [PickleValue]

    public init(_ items: [PickleValue] = []) {
        self.items = items
    }
}

/// A Python `dict` or `collections.OrderedDict`: ordered pairs, keys of any pickle value.
///
/// String keys are merged as Python merges them (a second SETITEM of `'a'` replaces the value
/// in place), through an index so building a dict of many keys stays linear.
public final class PickleDict: @unchecked Sendable {
    /// Key–value pairs in insertion order.
    public private(set) var items: [(key: PickleValue, value: PickleValue)] = []
    /// Whether this is an `OrderedDict` (re-emitted through its GLOBAL).
    public let ordered: Bool
    /// The state a BUILD attached (module state dicts carry `{'_metadata': …}`).
    public internal(set) var state: PickleValue?
    private var stringIndex: [String: Int] = [:]

    public init(_ items: [(key: PickleValue, value: PickleValue)] = [], ordered: Bool = false, state: PickleValue? = nil) {
        self.ordered = ordered
        self.state = state
        for item in items { insert(key: item.key, value: item.value) }
    }

    /// The value for the string key `key`.
    public subscript(key: String) -> PickleValue? {
        stringIndex[key].map { items[$0].value }
    }

    /// `d[key] = value`: replaces the value of an existing string key, otherwise appends.
    public func insert(key: PickleValue, value: PickleValue) {
        if case .string(let text) = key {
            if let index = stringIndex[text] {
                items[index].value = value
                return
            }
            stringIndex[text] = items.count
        }
        items.append((key, value))
    }

    /// `d[key] = value` for a string key.
    public func set(_ key: String, _ value: PickleValue) {
        insert(key: .string(key), value: value)
    }
}

/// An opaque object: the result of REDUCE or NEWOBJ on something the machine does not
/// interpret (`argparse.Namespace`, enums, numpy arrays), with whatever was added later.
public final class PickleInstance: @unchecked Sendable {
    /// The callable (REDUCE) or class (NEWOBJ), usually a `.global`.
    public let callable: PickleValue
    /// The argument tuple.
    public let args: PickleValue
    /// Keyword arguments of NEWOBJ_EX.
    public let kwargs: PickleValue?
    /// The state given by BUILD (`__setstate__` or `__dict__` update).
    public internal(set) var state: PickleValue?
    /// Items APPENDed to the object (list subclasses).
    public internal(set) var listItems: [PickleValue] = []
    /// Items SETITEMed into the object (dict subclasses such as `Counter`).
    public internal(set) var dictItems: [(key: PickleValue, value: PickleValue)] = []

    public init(callable: PickleValue, args: PickleValue, kwargs: PickleValue? = nil, state: PickleValue? = nil) {
        self.callable = callable
        self.args = args
        self.kwargs = kwargs
        self.state = state
    }
}

// MARK: - Accessors

extension PickleValue {
    /// The string, if this is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    /// The integer, if this is one that fits `Int`.
    public var intValue: Int? {
        if case .int(let i) = self { return Int(exactly: i) }
        return nil
    }

    /// The boolean, if this is one.
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// The float, if this is one.
    public var doubleValue: Double? { if case .float(let bits) = self { return Double(bitPattern: bits) } else { return nil } }

    /// Items of a tuple or list.
    public var sequenceItems: [PickleValue]? {
        switch self {
        case .tuple(let items): return items
        case .list(let list): return list.items
        default: return nil
        }
    }

    /// The dict box, if this is a dict or OrderedDict.
    public var dictValue: PickleDict? { if case .dict(let d) = self { return d } else { return nil } }

    /// The tensor, if this is one.
    public var tensorValue: TorchTensorRef? { if case .tensor(let t) = self { return t } else { return nil } }

    /// A tuple of ints, or a `torch.Size` of one (`torch.Size((8, 32))`).
    public var intTuple: [Int]? {
        if case .reduce(let instance) = self, case .global("torch", "Size") = instance.callable,
            let args = instance.args.sequenceItems, args.count == 1
        {
            return args[0].intTuple
        }
        guard let items = sequenceItems else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let value = item.intValue else { return nil }
            out.append(value)
        }
        return out
    }

    /// The dtype a GLOBAL such as `torch.float32` names.
    public var torchDType: DType? {
        guard case .global("torch", let name) = self else { return nil }
        return TorchDTypeNames.dtype(named: name)
    }

    /// The opaque instance of a NEWOBJ or REDUCE value.
    public var instance: PickleInstance? {
        switch self {
        case .object(let o), .reduce(let o): return o
        default: return nil
        }
    }

    /// `module.name` of a GLOBAL, or of the class/callable of an instance.
    public var className: String? {
        switch self {
        case .global(let module, let name): return module + "." + name
        case .object(let o), .reduce(let o): return o.callable.className
        default: return nil
        }
    }

    /// A short name of the kind of value, for messages.
    public var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict(let d): return d.ordered ? "OrderedDict" : "dict"
        case .set: return "set"
        case .frozenSet: return "frozenset"
        case .global(let module, let name): return "global \(module).\(name)"
        case .reduce(let o): return "\(o.callable.className ?? "?")(…)"
        case .object(let o): return "\(o.callable.className ?? "?") object"
        case .tensor: return "tensor"
        case .storage: return "storage"
        }
    }
}

/// torch's dtype names (`torch.float32`, and aliases such as `torch.float`).
enum TorchDTypeNames {
    static let aliases: [String: DType] = [
        "double": .float64, "float": .float32, "half": .float16, "long": .int64, "int": .int32, "short": .int16,
    ]

    static func dtype(named name: String) -> DType? {
        DType(rawValue: name) ?? aliases[name]
    }
}
