/// Structural facts about finished `PickleValue`s: the check that makes them safe to walk
/// recursively, and value equality.
enum PickleWalk {
    /// Calls `body` with each direct child of a value, in pickle order. A callback rather than
    /// an array: the walks run over every node of a 400 KB DCP `.metadata`, and building a
    /// child array per node was an eighth of `inspect`'s time.
    static func forEachChild(of value: PickleValue, _ body: (PickleValue) throws -> Void) rethrows {
        switch value {
        case .none, .bool, .int, .bigInt, .float, .string, .bytes, .global, .storage: return
        case .tuple(let items), .frozenSet(let items): for item in items { try body(item) }
        case .list(let list), .set(let list): for item in list.items { try body(item) }
        case .dict(let dict):
            for (key, item) in dict.items {
                try body(key)
                try body(item)
            }
            if let state = dict.state { try body(state) }
        case .reduce(let o), .object(let o):
            try body(o.callable)
            try body(o.args)
            if let kwargs = o.kwargs { try body(kwargs) }
            if let state = o.state { try body(state) }
            for item in o.listItems { try body(item) }
            for (key, item) in o.dictItems {
                try body(key)
                try body(item)
            }
        case .tensor(let t): if let metadata = t.metadata { try body(metadata) }
        }
    }

    /// The identity of a value's box, for the containers that have one.
    static func boxIdentity(_ value: PickleValue) -> ObjectIdentifier? {
        switch value {
        case .list(let l), .set(let l): return ObjectIdentifier(l)
        case .dict(let d): return ObjectIdentifier(d)
        case .reduce(let o), .object(let o): return ObjectIdentifier(o)
        default: return nil
        }
    }

    /// Rejects cycles, nesting deeper than the limit and expansions beyond the object budget,
    /// without recursing. After this, any recursive walk is at most `maxNesting` deep and visits
    /// at most `budget` nodes, whatever sharing the memo created.
    static func checkFinished(_ root: PickleValue, source: String, offset: Int, limits: PickleLimits, budget: Int) throws {
        enum Step {
            case enter(PickleValue, depth: Int)
            case leave(ObjectIdentifier)
        }
        var work: [Step] = [.enter(root, depth: 0)]
        var onPath = Set<ObjectIdentifier>()
        var visits = 0
        while let step = work.popLast() {
            switch step {
            case .leave(let id):
                onPath.remove(id)
            case .enter(let value, let depth):
                visits += 1
                guard visits <= budget else { throw PickleError.objectBudget(source: source, offset: offset, limit: budget) }
                guard depth <= limits.maxNesting else { throw PickleError.nestingTooDeep(source: source, offset: offset, limit: limits.maxNesting) }
                if let id = boxIdentity(value) {
                    guard onPath.insert(id).inserted else { throw PickleError.cycle(source: source, kind: value.kindName) }
                    work.append(.leave(id))
                }
                forEachChild(of: value) { work.append(.enter($0, depth: depth + 1)) }
            }
        }
    }
}

extension PickleValue: Equatable {
    /// Structural equality: float bits, dict order, opaque objects field by field. Two boxes
    /// are equal when they are the same box or hold equal contents.
    public static func == (lhs: PickleValue, rhs: PickleValue) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.bigInt(let a), .bigInt(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.bytes(let a), .bytes(let b)): return a == b
        case (.tuple(let a), .tuple(let b)), (.frozenSet(let a), .frozenSet(let b)): return a == b
        case (.list(let a), .list(let b)), (.set(let a), .set(let b)): return a === b || a.items == b.items
        case (.dict(let a), .dict(let b)):
            return a === b || (a.ordered == b.ordered && a.state == b.state && pairsEqual(a.items, b.items))
        case (.global(let m1, let n1), .global(let m2, let n2)): return m1 == m2 && n1 == n2
        case (.reduce(let a), .reduce(let b)), (.object(let a), .object(let b)):
            return a === b
                || (a.callable == b.callable && a.args == b.args && a.kwargs == b.kwargs && a.state == b.state
                    && a.listItems == b.listItems && pairsEqual(a.dictItems, b.dictItems))
        case (.tensor(let a), .tensor(let b)): return a == b
        case (.storage(let a), .storage(let b)): return a == b
        default: return false
        }
    }

    static func pairsEqual(_ a: [(key: PickleValue, value: PickleValue)], _ b: [(key: PickleValue, value: PickleValue)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension TorchTensorRef: Equatable {
    public static func == (lhs: TorchTensorRef, rhs: TorchTensorRef) -> Bool {
        lhs.storage == rhs.storage && lhs.dtype == rhs.dtype && lhs.storageOffset == rhs.storageOffset && lhs.shape == rhs.shape
            && lhs.stride == rhs.stride && lhs.requiresGrad == rhs.requiresGrad && lhs.rebuild == rhs.rebuild
            && lhs.metadata == rhs.metadata && lhs.parameterRequiresGrad == rhs.parameterRequiresGrad
    }
}
