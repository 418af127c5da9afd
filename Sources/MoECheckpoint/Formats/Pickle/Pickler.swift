/// Writes `PickleValue`s as protocol-2 pickles, the protocol `torch.save` uses and the only one
/// torch's `weights_only=True` loader accepts (`formats.md` §1.4, §1.8).
///
/// Opcode shapes follow CPython's pickler: GLOBAL (never STACK_GLOBAL), BINUNICODE, BINPUT after
/// every string, global and container, APPENDS/SETITEMS in batches of 1000, OrderedDict as
/// GLOBAL + EMPTY_TUPLE + REDUCE, bytes as `_codecs.encode(s, 'latin1')`. Opaque values are
/// written back with the opcodes that built them, and a box reached twice is written once and
/// then fetched with BINGET, so sharing survives.
public struct Pickler: Sendable {
    /// Deepest nesting written (values from the machine are already within it).
    public var maxNesting = PickleLimits().maxNesting

    public init() {}

    /// The pickle of `value`, from PROTO to STOP.
    public func pickle(_ value: PickleValue) throws -> [UInt8] {
        var encoder = PickleEncoder(maxNesting: maxNesting)
        try encoder.emit(value, depth: 0)
        encoder.out.append(PickleOpcode.stop.rawValue)
        return encoder.out
    }
}

/// One pickling pass: the output and the memo.
private struct PickleEncoder {
    let maxNesting: Int
    var out: [UInt8] = [PickleOpcode.proto.rawValue, 2]
    var memoCount = 0
    var boxes: [ObjectIdentifier: Int] = [:]
    var globals: [String: Int] = [:]
    var strings: [String: Int] = [:]
    static let batchSize = 1000

    init(maxNesting: Int) {
        self.maxNesting = maxNesting
    }

    mutating func op(_ opcode: PickleOpcode) {
        out.append(opcode.rawValue)
    }

    /// BINPUT / LONG_BINPUT of the value just written; returns its memo index.
    @discardableResult
    mutating func put() -> Int {
        let index = memoCount
        memoCount += 1
        if index < 256 {
            op(.binPut)
            out.append(UInt8(index))
        } else {
            op(.longBinPut)
            out.appendLE(UInt32(index))
        }
        return index
    }

    mutating func get(_ index: Int) {
        if index < 256 {
            op(.binGet)
            out.append(UInt8(index))
        } else {
            op(.longBinGet)
            out.appendLE(UInt32(index))
        }
    }

    mutating func emit(_ value: PickleValue, depth: Int) throws {
        guard depth <= maxNesting else { throw PickleError.unpicklable(kind: value.kindName, reason: "nested deeper than \(maxNesting) levels") }
        if let id = PickleWalk.boxIdentity(value), let index = boxes[id] {
            get(index)
            return
        }
        switch value {
        case .none: op(.none)
        case .bool(let b): op(b ? .newTrue : .newFalse)
        case .int(let i): emitInt(i)
        case .bigInt(let bytes):
            if bytes.count < 256 {
                op(.long1)
                out.append(UInt8(bytes.count))
            } else {
                op(.long4)
                out.appendLE(Int32(bytes.count))
            }
            out += bytes
        case .float(let bits):
            op(.binFloat)
            out.appendLE(bits.bigEndian)
        case .string(let s): emitString(s)
        case .bytes(let bytes):
            emitGlobal("_codecs", "encode")
            emitString(String(bytes.map { Character(Unicode.Scalar($0)) }))
            emitString("latin1")
            op(.tuple2)
            op(.reduce)
            put()
        case .tuple(let items): try emitTuple(items, depth: depth)
        case .list(let list):
            op(.emptyList)
            boxes[ObjectIdentifier(list)] = put()
            try emitAppends(list.items, depth: depth)
        case .set(let list):
            try emitCollection("set", list.items, depth: depth)
            boxes[ObjectIdentifier(list)] = put()
        case .frozenSet(let items):
            try emitCollection("frozenset", items, depth: depth)
            put()
        case .dict(let dict):
            if dict.ordered {
                emitGlobal("collections", "OrderedDict")
                op(.emptyTuple)
                op(.reduce)
            } else {
                op(.emptyDict)
            }
            boxes[ObjectIdentifier(dict)] = put()
            try emitSetItems(dict.items, depth: depth)
            if let state = dict.state {
                try emit(state, depth: depth + 1)
                op(.build)
            }
        case .global(let module, let name): emitGlobal(module, name)
        case .reduce(let instance):
            try emit(instance.callable, depth: depth + 1)
            try emit(instance.args, depth: depth + 1)
            op(.reduce)
            try finishInstance(instance, depth: depth)
        case .object(let instance):
            try emit(instance.callable, depth: depth + 1)
            try emit(instance.args, depth: depth + 1)
            if let kwargs = instance.kwargs {
                try emit(kwargs, depth: depth + 1)
                op(.newObjEx)
            } else {
                op(.newObj)
            }
            try finishInstance(instance, depth: depth)
        case .tensor(let tensor): try emitTensor(tensor, depth: depth)
        case .storage(let storage): emitPersistentID(storage)
        }
    }

    mutating func finishInstance(_ instance: PickleInstance, depth: Int) throws {
        boxes[ObjectIdentifier(instance)] = put()
        try emitAppends(instance.listItems, depth: depth)
        try emitSetItems(instance.dictItems, depth: depth)
        if let state = instance.state {
            try emit(state, depth: depth + 1)
            op(.build)
        }
    }

    mutating func emitInt(_ i: Int64) {
        switch i {
        case 0..<256:
            op(.binInt1)
            out.append(UInt8(i))
        case 256..<65536:
            op(.binInt2)
            out.appendLE(UInt16(i))
        case Int64(Int32.min)...Int64(Int32.max):
            op(.binInt)
            out.appendLE(Int32(i))
        default:
            let bytes = PickleIntegers.encode(i)
            op(.long1)
            out.append(UInt8(bytes.count))
            out += bytes
        }
    }

    mutating func emitString(_ s: String) {
        if let index = strings[s] {
            get(index)
            return
        }
        op(.binUnicode)
        let utf8 = Array(s.utf8)
        out.appendLE(UInt32(utf8.count))
        out += utf8
        strings[s] = put()
    }

    mutating func emitGlobal(_ module: String, _ name: String) {
        let key = module + "\n" + name
        if let index = globals[key] {
            get(index)
            return
        }
        op(.global)
        out += Array((key + "\n").utf8)
        globals[key] = put()
    }

    mutating func emitTuple(_ items: [PickleValue], depth: Int) throws {
        switch items.count {
        case 0: op(.emptyTuple); return
        case 1...3:
            for item in items { try emit(item, depth: depth + 1) }
            op([PickleOpcode.tuple1, .tuple2, .tuple3][items.count - 1])
        default:
            op(.mark)
            for item in items { try emit(item, depth: depth + 1) }
            op(.tuple)
        }
    }

    /// `builtins.set([...])`, as CPython writes sets at protocol 2.
    mutating func emitCollection(_ name: String, _ items: [PickleValue], depth: Int) throws {
        emitGlobal("builtins", name)
        op(.emptyList)
        put()
        try emitAppends(items, depth: depth + 1)
        op(.tuple1)
        op(.reduce)
    }

    mutating func emitAppends(_ items: [PickleValue], depth: Int) throws {
        var start = 0
        while start < items.count {
            let batch = items[start..<min(start + Self.batchSize, items.count)]
            if batch.count == 1 {
                try emit(batch.first!, depth: depth + 1)
                op(.append)
            } else {
                op(.mark)
                for item in batch { try emit(item, depth: depth + 1) }
                op(.appends)
            }
            start += batch.count
        }
    }

    mutating func emitSetItems(_ items: [(key: PickleValue, value: PickleValue)], depth: Int) throws {
        var start = 0
        while start < items.count {
            let batch = items[start..<min(start + Self.batchSize, items.count)]
            if batch.count == 1 {
                try emit(batch.first!.key, depth: depth + 1)
                try emit(batch.first!.value, depth: depth + 1)
                op(.setItem)
            } else {
                op(.mark)
                for item in batch {
                    try emit(item.key, depth: depth + 1)
                    try emit(item.value, depth: depth + 1)
                }
                op(.setItems)
            }
            start += batch.count
        }
    }

    /// `('storage', torch.<Type>Storage, key, location, numel)` + BINPERSID.
    mutating func emitPersistentID(_ storage: TorchStorageRef) {
        op(.mark)
        emitString("storage")
        emitGlobal("torch", storage.typeName)
        emitString(storage.key)
        emitString(storage.location)
        emitInt(Int64(storage.numel))
        op(.tuple)
        put()
        op(.binPersID)
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())`, wrapped in
    /// `_rebuild_parameter` for parameters, as `torch.Tensor.__reduce_ex__` writes it.
    mutating func emitTensor(_ tensor: TorchTensorRef, depth: Int) throws {
        if tensor.parameterRequiresGrad != nil { emitGlobal("torch._utils", "_rebuild_parameter") }
        emitGlobal("torch._utils", tensor.rebuild.rawValue)
        op(.mark)
        emitPersistentID(tensor.storage)
        emitInt(Int64(tensor.storageOffset))
        try emitTuple(tensor.shape.map { .int(Int64($0)) }, depth: depth + 1)
        try emitTuple(tensor.stride.map { .int(Int64($0)) }, depth: depth + 1)
        op(tensor.requiresGrad ? .newTrue : .newFalse)
        emitEmptyOrderedDict()
        if tensor.rebuild == .v3 { emitGlobal("torch", tensor.dtype.rawValue) }
        if let metadata = tensor.metadata { try emit(metadata, depth: depth + 1) }
        op(.tuple)
        put()
        op(.reduce)
        put()
        if let requiresGrad = tensor.parameterRequiresGrad {
            op(requiresGrad ? .newTrue : .newFalse)
            emitEmptyOrderedDict()
            op(.tuple3)
            put()
            op(.reduce)
            put()
        }
    }

    mutating func emitEmptyOrderedDict() {
        emitGlobal("collections", "OrderedDict")
        op(.emptyTuple)
        op(.reduce)
        put()
    }
}
