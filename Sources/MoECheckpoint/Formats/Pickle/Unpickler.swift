/// The allow-list pickle machine for protocols 2–5 (`formats.md` §1.6–§1.8, §6.2).
///
/// It executes pickle opcodes iteratively over an explicit stack and builds `PickleValue`s. It
/// never calls anything: a small allow-list is interpreted (OrderedDict, tensor rebuilds,
/// storages, `_codecs.encode`), every other GLOBAL stays an opaque reference whose REDUCE,
/// NEWOBJ and BUILD become data, and references to the system or to code loading are refused.
/// `strict` refuses every GLOBAL that torch's `weights_only=True` loader would refuse.
public struct Unpickler: Sendable {
    /// How messages name the pickle (`/path/model_optim_rng.pt: data.pkl`).
    public var source: String
    public var limits: PickleLimits
    /// Refuse GLOBALs that are not on torch's weights-only allow-list.
    public var strict: Bool
    /// Accept bytes after STOP (torch itself ignores them; `data.pkl` never has any).
    public var allowTrailingBytes = false

    public init(source: String, limits: PickleLimits = PickleLimits(), strict: Bool = false) {
        self.source = source
        self.limits = limits
        self.strict = strict
    }

    /// Runs the pickle in `bytes` and returns its value.
    public func unpickle(_ bytes: UnsafeRawBufferPointer) throws -> PickleValue {
        var machine = PickleMachine(bytes: bytes, settings: self)
        return try machine.run()
    }

    /// Runs the pickle in `bytes` and returns its value.
    public func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
        try bytes.withUnsafeBytes { try unpickle($0) }
    }
}

/// A stack or memo entry: the value and its nesting depth (boxes keep theirs live).
private struct Slot {
    var value: PickleValue
    var depth: Int

    /// Leaves have depth 0, containers 1 + their deepest child.
    var currentDepth: Int { value.box?.nestingDepth ?? depth }
}

/// The state of one run: the stack, the marks and the memo.
private struct PickleMachine {
    let settings: Unpickler
    var reader: ByteReader
    var stack: [Slot] = []
    /// Stack heights at each open MARK.
    var marks: [Int] = []
    /// A dictionary, never an array sized by the largest index.
    var memo: [Int: Slot] = [:]
    var objects = 0
    var stringBytes = 0
    let objectBudget: Int
    let stringBudget: Int
    /// Where the current opcode starts (every message names it).
    var at = 0
    var opcode = PickleOpcode.proto

    init(bytes: UnsafeRawBufferPointer, settings: Unpickler) {
        self.settings = settings
        reader = ByteReader(bytes)
        objectBudget = settings.limits.objectBudget(inputSize: bytes.count)
        stringBudget = settings.limits.stringBudget(inputSize: bytes.count)
    }

    var source: String { settings.source }

    // MARK: - Main loop

    mutating func run() throws -> PickleValue {
        while true {
            at = reader.offset
            guard !reader.isAtEnd else { throw PickleError.missingStop(source: source, offset: at) }
            let byte = try reader.readByte()
            guard let op = PickleOpcode(rawValue: byte) else {
                if let refused = PickleOpcode.refused[byte] {
                    throw PickleError.refusedOpcode(source: source, offset: at, opcode: refused.name, reason: refused.reason)
                }
                throw PickleError.unknownOpcode(source: source, offset: at, byte: byte)
            }
            opcode = op
            if op == .stop { return try finish() }
            try execute(op)
        }
    }

    mutating func execute(_ op: PickleOpcode) throws {
        switch op {
        case .proto:
            let version = try operand(UInt8.self)
            guard at == 0 else { throw PickleError.unsupportedProtocol(source: source, offset: at, found: "PROTO \(version) after the first opcode") }
            guard (2...5).contains(version) else { throw PickleError.unsupportedProtocol(source: source, offset: at, found: "protocol \(version)") }
        case .frame:
            let length = try operand(UInt64.self)
            guard length <= UInt64(reader.remaining) else {
                throw PickleError.truncated(source: source, offset: at, opcode: op.name, needed: Int(min(length, UInt64(Int.max))), available: reader.remaining)
            }
        case .stop:
            break
        case .mark:
            guard marks.count < settings.limits.maxMarkDepth else { throw PickleError.markTooDeep(source: source, offset: at, limit: settings.limits.maxMarkDepth) }
            marks.append(stack.count)
        case .none: try push(.none)
        case .newTrue: try push(.bool(true))
        case .newFalse: try push(.bool(false))
        case .binInt: try push(.int(Int64(try operand(Int32.self))))
        case .binInt1: try push(.int(Int64(try operand(UInt8.self))))
        case .binInt2: try push(.int(Int64(try operand(UInt16.self))))
        case .long1: try push(try long(length: Int(try operand(UInt8.self))))
        case .long4:
            let length = try operand(Int32.self)
            guard length >= 0 else { throw PickleError.integerTooLarge(source: source, offset: at, bytes: Int(length), limit: settings.limits.maxLongBytes) }
            try push(try long(length: Int(length)))
        case .binFloat:
            try push(.float(UInt64(bigEndian: try operand(UInt64.self).littleEndian)))
        case .binUnicode: try push(.string(try utf8(try payload(Int(try operand(UInt32.self))))))
        case .shortBinUnicode: try push(.string(try utf8(try payload(Int(try operand(UInt8.self))))))
        case .binUnicode8: try push(.string(try utf8(try payload(try length64()))))
        case .shortBinString: try push(.string(try utf8(try payload(Int(try operand(UInt8.self))))))
        case .binString:
            let length = try operand(Int32.self)
            guard length >= 0 else { throw PickleError.truncated(source: source, offset: at, opcode: op.name, needed: Int(length), available: reader.remaining) }
            try push(.string(try utf8(try payload(Int(length)))))
        case .shortBinBytes: try push(.bytes(Array(try payload(Int(try operand(UInt8.self))))))
        case .binBytes: try push(.bytes(Array(try payload(Int(try operand(UInt32.self))))))
        case .binBytes8: try push(.bytes(Array(try payload(try length64()))))
        case .emptyTuple: try push(.tuple([]))
        case .tuple1: try pushSequence(try pop(1), frozen: false)
        case .tuple2: try pushSequence(try pop(2), frozen: false)
        case .tuple3: try pushSequence(try pop(3), frozen: false)
        case .tuple: try pushSequence(try popMark(), frozen: false)
        case .frozenSet: try pushSequence(try popMark(), frozen: true)
        case .emptyList: try push(.list(PickleList()))
        case .append:
            let items = try pop(1)
            try append(items)
        case .appends:
            let items = try popMark()
            try append(items)
        case .emptyDict: try push(.dict(PickleDict()))
        case .setItem:
            let items = try pop(2)
            try setItems(items)
        case .setItems:
            let items = try popMark()
            try setItems(items)
        case .emptySet: try push(.set(PickleList()))
        case .addItems:
            let items = try popMark()
            let target = try mutableTop()
            guard case .set(let set) = target.value else { throw wrongType("a set below the MARK", target.value) }
            try nest(items, into: set)
            set.items += items.map(\.value)
        case .binPut: try put(Int(try operand(UInt8.self)))
        case .longBinPut: try put(Int(try operand(UInt32.self)))
        case .memoize: try put(memo.count)
        case .binGet: try get(Int(try operand(UInt8.self)))
        case .longBinGet: try get(Int(try operand(UInt32.self)))
        case .global:
            let module = try line()
            let name = try line()
            try push(try global(module: module, name: name))
        case .stackGlobal:
            let parts = try pop(2)
            guard let module = parts[0].value.stringValue, let name = parts[1].value.stringValue else {
                throw wrongType("two strings (module, name)", .tuple(parts.map(\.value)))
            }
            try push(try global(module: module, name: name))
        case .reduce:
            let parts = try pop(2)
            let depth = try childDepth(parts)
            try push(try reduce(callable: parts[0].value, args: parts[1].value), depth: depth)
        case .newObj:
            let parts = try pop(2)
            let depth = try childDepth(parts)
            try push(try newObject(cls: parts[0].value, args: parts[1].value, kwargs: nil), depth: depth)
        case .newObjEx:
            let parts = try pop(3)
            let depth = try childDepth(parts)
            try push(try newObject(cls: parts[0].value, args: parts[1].value, kwargs: parts[2].value), depth: depth)
        case .build:
            let state = try pop(1)
            try build(state: state[0])
        case .binPersID:
            let pid = try pop(1)
            _ = try childDepth(pid)
            try push(try persistentLoad(pid[0].value))
        }
    }

    // MARK: - Operands

    mutating func operand<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        do {
            return try reader.readLE(T.self)
        } catch {
            throw PickleError.truncated(source: source, offset: at, opcode: opcode.name, needed: MemoryLayout<T>.size, available: reader.remaining)
        }
    }

    mutating func length64() throws -> Int {
        let length = try operand(UInt64.self)
        guard length <= UInt64(reader.remaining) else {
            throw PickleError.truncated(source: source, offset: at, opcode: opcode.name, needed: Int(min(length, UInt64(Int.max))), available: reader.remaining)
        }
        return Int(length)
    }

    /// A length-prefixed payload, counted against the string budget.
    mutating func payload(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count <= reader.remaining else {
            throw PickleError.truncated(source: source, offset: at, opcode: opcode.name, needed: count, available: reader.remaining)
        }
        stringBytes += count
        guard stringBytes <= stringBudget else { throw PickleError.stringBudget(source: source, offset: at, limit: stringBudget) }
        return try reader.slice(count)
    }

    /// The payload as a string; one validating pass (comparing a decoded copy byte by byte cost
    /// an eighth of the machine's time on real pickles).
    func utf8(_ bytes: UnsafeRawBufferPointer) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PickleError.invalidString(source: source, offset: at, reason: "\(opcode.name) payload is not valid UTF-8")
        }
        return text
    }

    /// One newline-terminated ASCII line of a GLOBAL operand.
    mutating func line() throws -> String {
        let start = reader.offset
        let limit = min(reader.remaining, 257)
        for i in 0..<limit where reader.bytes[start + i] == 0x0A {
            let text = String(decoding: try reader.slice(i), as: UTF8.self)
            _ = try reader.readByte()
            return text
        }
        throw PickleError.truncated(source: source, offset: at, opcode: opcode.name, needed: limit + 1, available: reader.remaining)
    }

    /// LONG1/LONG4: little-endian two's complement of `length` bytes.
    mutating func long(length: Int) throws -> PickleValue {
        guard length <= settings.limits.maxLongBytes else {
            throw PickleError.integerTooLarge(source: source, offset: at, bytes: length, limit: settings.limits.maxLongBytes)
        }
        return PickleIntegers.decode(Array(try payload(length)))
    }

    // MARK: - Stack

    /// Pushes a new value of nesting `depth` (boxes track their own).
    mutating func push(_ value: PickleValue, depth: Int = 0) throws {
        objects += 1
        guard objects <= objectBudget else { throw PickleError.objectBudget(source: source, offset: at, limit: objectBudget) }
        guard stack.count < settings.limits.maxStackDepth else { throw PickleError.stackTooDeep(source: source, offset: at, limit: settings.limits.maxStackDepth) }
        if let box = value.box, box.nestingDepth < depth { box.nestingDepth = depth }
        stack.append(Slot(value: value, depth: depth))
    }

    /// Values above the most recent MARK: the only ones an opcode may touch.
    var available: Int { stack.count - (marks.last ?? 0) }

    mutating func pop(_ count: Int) throws -> [Slot] {
        guard available >= count else {
            throw PickleError.stackUnderflow(source: source, offset: at, opcode: opcode.name, needed: count, found: available)
        }
        let items = Array(stack[(stack.count - count)...])
        stack.removeLast(count)
        return items
    }

    func top() throws -> Slot {
        guard available >= 1, let slot = stack.last else {
            throw PickleError.stackUnderflow(source: source, offset: at, opcode: opcode.name, needed: 1, found: available)
        }
        return slot
    }

    /// The top of the stack, which an opcode is about to mutate: it must not be nested yet.
    func mutableTop() throws -> Slot {
        let slot = try top()
        if let box = slot.value.box, box.sealed {
            throw PickleError.mutatedAfterNesting(source: source, offset: at, opcode: opcode.name, kind: slot.value.kindName)
        }
        return slot
    }

    mutating func popMark() throws -> [Slot] {
        guard let mark = marks.popLast() else { throw PickleError.missingMark(source: source, offset: at, opcode: opcode.name) }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    func wrongType(_ expected: String, _ found: PickleValue) -> PickleError {
        .wrongType(source: source, offset: at, opcode: opcode.name, expected: expected, found: found.kindName)
    }

    /// Seals `children` (they are being nested) and returns the depth of a container holding them.
    func childDepth(_ children: [Slot]) throws -> Int {
        var deepest = 0
        for child in children {
            child.value.box?.sealed = true
            deepest = max(deepest, child.currentDepth)
        }
        let depth = deepest + 1
        guard depth <= settings.limits.maxNesting else {
            throw PickleError.nestingTooDeep(source: source, offset: at, limit: settings.limits.maxNesting)
        }
        return depth
    }

    /// Seals `children` and deepens `box` to hold them.
    func nest(_ children: [Slot], into box: PickleBox) throws {
        if let child = children.first(where: { $0.value.box === box }) {
            throw PickleError.cycle(source: source, kind: child.value.kindName)
        }
        box.nestingDepth = max(box.nestingDepth, try childDepth(children))
    }

    mutating func pushSequence(_ items: [Slot], frozen: Bool) throws {
        let depth = try childDepth(items)
        let values = items.map(\.value)
        try push(frozen ? .frozenSet(values) : .tuple(values), depth: depth)
    }

    // MARK: - Memo

    mutating func put(_ index: Int) throws {
        guard index < settings.limits.maxMemoIndex else {
            throw PickleError.memoIndexTooLarge(source: source, offset: at, index: UInt64(index), limit: settings.limits.maxMemoIndex)
        }
        memo[index] = try top()
    }

    mutating func get(_ index: Int) throws {
        guard let slot = memo[index] else { throw PickleError.memoMissing(source: source, offset: at, index: UInt64(index)) }
        try push(slot.value, depth: slot.depth)
    }

    // MARK: - Containers

    func append(_ items: [Slot]) throws {
        let target = try mutableTop()
        switch target.value {
        case .list(let list):
            try nest(items, into: list)
            list.items += items.map(\.value)
        case .object(let instance), .reduce(let instance):
            try nest(items, into: instance)
            instance.listItems += items.map(\.value)
        case let other: throw wrongType("a list below the items", other)
        }
    }

    func setItems(_ flat: [Slot]) throws {
        guard flat.count % 2 == 0 else { throw wrongType("key/value pairs", .tuple(flat.map(\.value))) }
        let target = try mutableTop()
        guard let box = target.value.box else { throw wrongType("a dict below the items", target.value) }
        try nest(flat, into: box)
        for i in stride(from: 0, to: flat.count, by: 2) {
            switch target.value {
            case .dict(let dict): dict.insert(key: flat[i].value, value: flat[i + 1].value)
            case .object(let instance), .reduce(let instance): instance.dictItems.append((flat[i].value, flat[i + 1].value))
            case let other: throw wrongType("a dict below the items", other)
            }
        }
    }

    // MARK: - Globals and calls (interpreted, never executed)

    func global(module: String, name: String) throws -> PickleValue {
        guard PickleGlobals.isDottedIdentifier(module), PickleGlobals.isDottedIdentifier(name) else {
            throw PickleError.invalidGlobal(source: source, offset: at, found: "\(module) \(name)")
        }
        switch PickleGlobals.treatment(module: module, name: name) {
        case .forbidden(let reason):
            throw PickleError.forbiddenGlobal(source: source, offset: at, module: module, name: name, reason: reason)
        case .unknown where settings.strict:
            throw PickleError.forbiddenGlobal(source: source, offset: at, module: module, name: name, reason: "not on the weights-only allow-list (strict mode)")
        default:
            return .global(module: module, name: name)
        }
    }

    func reduce(callable: PickleValue, args: PickleValue) throws -> PickleValue {
        guard case .tuple(let items) = args else { throw wrongType("an argument tuple", args) }
        if case .global(let module, let name) = callable {
            switch module + "." + name {
            case "collections.OrderedDict":
                if items.isEmpty { return .dict(PickleDict(ordered: true)) }
            case "torch._utils._rebuild_tensor_v2":
                return .tensor(try rebuildTensor(items, rebuild: .v2))
            case "torch._utils._rebuild_tensor_v3":
                return .tensor(try rebuildTensor(items, rebuild: .v3))
            case "torch._utils._rebuild_parameter":
                guard items.count == 3, case .tensor(let tensor) = items[0], let requiresGrad = items[1].boolValue else {
                    throw PickleError.invalidTensor(source: source, offset: at, expected: "_rebuild_parameter(tensor, bool, hooks)", found: "\(items.count) arguments")
                }
                return .tensor(tensor.asParameter(requiresGrad: requiresGrad))
            case "_codecs.encode":
                if items.count == 2, let text = items[0].stringValue, let encoding = items[1].stringValue, encoding == "latin1" || encoding == "latin-1" {
                    return .bytes(try latin1(text))
                }
            default:
                break
            }
        }
        return .reduce(PickleInstance(callable: callable, args: args))
    }

    func latin1(_ text: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard scalar.value <= 0xFF else {
                throw PickleError.invalidString(source: source, offset: at, reason: "_codecs.encode(…, 'latin1') of a character above U+00FF")
            }
            out.append(UInt8(scalar.value))
        }
        return out
    }

    func newObject(cls: PickleValue, args: PickleValue, kwargs: PickleValue?) throws -> PickleValue {
        guard case .global = cls else { throw wrongType("a class GLOBAL", cls) }
        guard case .tuple = args else { throw wrongType("an argument tuple", args) }
        return .object(PickleInstance(callable: cls, args: args, kwargs: kwargs))
    }

    func build(state: Slot) throws {
        let target = try mutableTop()
        switch target.value {
        case .dict(let dict) where dict.ordered && dict.state == nil:
            try nest([state], into: dict)
            dict.state = state.value
        case .object(let instance) where instance.state == nil, .reduce(let instance) where instance.state == nil:
            try nest([state], into: instance)
            instance.state = state.value
        default:
            throw wrongType("an object, or an OrderedDict without state", target.value)
        }
    }

    // MARK: - Storages and tensors (`formats.md` §1.5, §6.3)

    func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        let expected = "('storage', torch.<Type>Storage, key, location, numel)"
        guard case .tuple(let items) = pid, items.count == 5, items[0].stringValue == "storage" else {
            throw PickleError.invalidPersistentID(source: source, offset: at, expected: expected, found: pid.kindName)
        }
        guard case .global(let module, let typeName) = items[1], module == "torch" || module == "torch.storage",
            TorchStorageTypes.isStorage(typeName)
        else {
            throw PickleError.invalidPersistentID(source: source, offset: at, expected: "a known storage type", found: items[1].kindName)
        }
        guard let key = items[2].stringValue, !key.isEmpty, key.utf8.count <= 64,
            key.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F })
        else {
            throw PickleError.invalidPersistentID(source: source, offset: at, expected: "a storage key of letters, digits or '_'", found: items[2].stringValue.map { "'\($0)'" } ?? items[2].kindName)
        }
        guard let location = items[3].stringValue else {
            throw PickleError.invalidPersistentID(source: source, offset: at, expected: "a location string", found: items[3].kindName)
        }
        guard let numel = items[4].intValue, numel >= 0 else {
            throw PickleError.invalidPersistentID(source: source, offset: at, expected: "a non-negative element count", found: items[4].kindName)
        }
        let storage = TorchStorageRef(typeName: typeName, dtype: TorchStorageTypes.dtype(of: typeName), key: key, location: location, numel: numel)
        guard storage.byteCount != nil else {
            throw PickleError.invalidPersistentID(source: source, offset: at, expected: "a storage size that fits in memory", found: "\(numel) elements")
        }
        return .storage(storage)
    }

    func rebuildTensor(_ items: [PickleValue], rebuild: TorchTensorRef.Rebuild) throws -> TorchTensorRef {
        func bad(_ expected: String, _ found: String) -> PickleError {
            .invalidTensor(source: source, offset: at, expected: expected, found: found)
        }
        let base = rebuild == .v2 ? 6 : 7
        guard items.count == base || items.count == base + 1 else {
            throw bad("\(base) or \(base + 1) arguments to \(rebuild.rawValue)", "\(items.count)")
        }
        guard case .storage(let storage) = items[0] else { throw bad("a storage persistent id first", items[0].kindName) }
        guard let offset = items[1].intValue, offset >= 0 else { throw bad("a non-negative storage offset", items[1].kindName) }
        guard let shape = items[2].intTuple, let stride = items[3].intTuple else { throw bad("size and stride tuples of ints", "\(items[2].kindName), \(items[3].kindName)") }
        guard let requiresGrad = items[4].boolValue else { throw bad("requires_grad as a bool", items[4].kindName) }
        guard case .dict = items[5] else { throw bad("backward hooks as an OrderedDict", items[5].kindName) }
        let dtype: DType
        if rebuild == .v3 {
            guard let explicit = items[6].torchDType else { throw bad("a torch dtype as the 7th argument", items[6].kindName) }
            guard storage.dtype == nil || storage.dtype == explicit else { throw bad("storage type of \(explicit.rawValue)", storage.typeName) }
            dtype = explicit
        } else {
            guard let typed = storage.dtype else { throw bad("a typed storage for _rebuild_tensor_v2", storage.typeName) }
            dtype = typed
        }
        guard shape.count == stride.count, shape.count <= TensorShape.maxRank else {
            throw bad("size and stride of the same rank ≤ \(TensorShape.maxRank)", "\(shape.count) and \(stride.count)")
        }
        guard shape.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
            throw bad("non-negative sizes and strides", "\(TensorShape.describe(shape)) stride \(TensorShape.describe(stride))")
        }
        guard TensorShape.byteCount(shape, dtype: dtype) != nil else { throw bad("a size that fits in memory", TensorShape.describe(shape)) }
        let elements: Int
        if storage.dtype == nil {
            guard storage.numel % dtype.byteSize == 0 else { throw bad("an untyped storage of whole \(dtype.rawValue) elements", "\(storage.numel) bytes") }
            elements = storage.numel / dtype.byteSize
        } else {
            elements = storage.numel
        }
        if !shape.contains(0) {
            var last = offset
            for (size, step) in zip(shape, stride) {
                let (span, o1) = (size - 1).multipliedReportingOverflow(by: step)
                let (sum, o2) = last.addingReportingOverflow(span)
                guard !o1, !o2 else { throw bad("a view inside the storage", "an element index that overflows") }
                last = sum
            }
            guard last < elements else {
                throw bad("a view inside storage '\(storage.key)' of \(elements) elements",
                          "\(TensorShape.describe(shape)) stride \(TensorShape.describe(stride)) offset \(offset) reaching element \(last)")
            }
        } else if offset > elements {
            throw bad("an offset inside storage '\(storage.key)' of \(elements) elements", "\(offset)")
        }
        return TorchTensorRef(
            storage: storage, dtype: dtype, storageOffset: offset, shape: shape, stride: stride, requiresGrad: requiresGrad,
            rebuild: rebuild, metadata: items.count == base + 1 ? items[base] : nil)
    }

    // MARK: - STOP

    mutating func finish() throws -> PickleValue {
        guard marks.isEmpty, stack.count == 1 else {
            throw PickleError.invalidStop(
                source: source, offset: at, expected: "one value and no open MARK", found: "\(stack.count) value(s) and \(marks.count) open MARK(s)")
        }
        if !settings.allowTrailingBytes, reader.remaining > 0 {
            throw PickleError.trailingBytes(source: source, offset: at, count: reader.remaining)
        }
        let value = stack[0].value
        try PickleWalk.checkFinished(value, source: source, offset: at, limits: settings.limits, budget: objectBudget)
        return value
    }
}

/// Integer encodings shared by the machine and the pickler.
enum PickleIntegers {
    /// Decodes LONG1/LONG4 bytes: `.int` when the value fits, otherwise `.bigInt` of minimal bytes.
    static func decode(_ bytes: [UInt8]) -> PickleValue {
        guard let last = bytes.last else { return .int(0) }
        let negative = last & 0x80 != 0
        var minimal = bytes
        // Drop sign-extension bytes that do not change the value.
        while minimal.count > 1 {
            let top = minimal[minimal.count - 1]
            let next = minimal[minimal.count - 2]
            if (top == 0x00 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) { minimal.removeLast() } else { break }
        }
        guard minimal.count <= 8 else { return .bigInt(minimal) }
        var value: UInt64 = negative ? UInt64.max : 0
        for (i, byte) in minimal.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * UInt64(i)))
            value |= UInt64(byte) << (8 * UInt64(i))
        }
        return .int(Int64(bitPattern: value))
    }

    /// Minimal two's-complement little-endian bytes of `value` (what CPython's `encode_long` writes).
    static func encode(_ value: Int64) -> [UInt8] {
        if value == 0 { return [] }
        var bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) }
        while bytes.count > 1 {
            let top = bytes[bytes.count - 1]
            let next = bytes[bytes.count - 2]
            if (top == 0x00 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) { bytes.removeLast() } else { break }
        }
        return bytes
    }
}
