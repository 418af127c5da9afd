/// One native tensor of an MoE layer, matched to its table row.
public struct MatchedTensor: Sendable {
    public let rule: MappingRule
    public let entry: TensorEntry
    /// The layer, from the key or (for layer-stacked tensors) the index on the leading axis.
    public let layer: Int
    /// The expert, for per-key expert rows.
    public let expert: Int?

    public var key: String { entry.key }
}

/// The dimensions of one MoE layer, recovered from its tensors' shapes.
public struct MoELayerDims: Equatable, Sendable {
    public let numExperts: Int
    public let hiddenSize: Int
    public let ffnHiddenSize: Int?
    public let sharedFFNHiddenSize: Int?
}

/// One MoE layer of a checkpoint, with every tensor the table recognised.
public struct ResolvedMoELayer: Sendable {
    public let layer: Int
    public let dims: MoELayerDims
    public let tensors: [MatchedTensor]
    /// Number of stacked layers when the table stacks layers (torch_dist), else `nil`.
    public let stackedLayerCount: Int?

    /// The tensors holding `role` (several for per-expert keys).
    public func tensors(for role: TensorRole) -> [MatchedTensor] {
        tensors.filter { $0.rule.parts.contains(role) }
    }

    /// The first tensor holding `role`.
    public func tensor(for role: TensorRole) -> MatchedTensor? {
        tensors.first { $0.rule.parts.contains(role) }
    }

    /// Whether the layer has a shared expert.
    public var hasSharedExpert: Bool { tensors.contains { $0.rule.parts.contains(where: \.isShared) } }
}

/// A checkpoint's keys read through one layout table.
public struct ResolvedLayout: Sendable {
    public let table: LayoutTable
    public let layers: [ResolvedMoELayer]
    /// Keys that are not MoE tensors (embeddings, attention, norms, dense MLPs).
    public let otherKeys: [String]
    /// MoE keys the table names as weightless (`_extra_state`).
    public let ignoredKeys: [String]
    /// How many (key, layer) pairs the table recognised: the detection score. A layer-stacked
    /// key counts once per layer it holds. Stored: detection compares it for every table.
    public let matchedCount: Int

    init(table: LayoutTable, layers: [ResolvedMoELayer], otherKeys: [String], ignoredKeys: [String]) {
        self.table = table
        self.layers = layers
        self.otherKeys = otherKeys
        self.ignoredKeys = ignoredKeys
        matchedCount = layers.reduce(0) { $0 + $1.tensors.count }
    }
}

/// Why a table does not fit a checkpoint.
public struct LayoutMismatch: Error, Sendable, CustomStringConvertible {
    public let table: String
    public let key: String
    public let reason: String
    public var description: String { "\(key): does not fit \(table): \(reason)" }
}

/// Reads a state dict through layout tables.
public enum LayoutResolver {
    /// Resolves `stateDict` through `table`, recovering every layer's dimensions from the shapes.
    public static func resolve(_ stateDict: StateDict, with table: LayoutTable) throws -> ResolvedLayout {
        var byLayer: [Int: [MatchedTensor]] = [:]
        var stacked: [(rule: MappingRule, entry: TensorEntry)] = []
        var others: [String] = []
        var ignored: [String] = []
        for entry in stateDict.entries {
            var key = entry.key
            let (found, isIgnored) = key.withUTF8 { bytes in
                let found = table.match(utf8: bytes)
                return (found, found == nil && table.isIgnored(utf8: bytes))
            }
            if let (rule, match) = found {
                if let layer = match.layer {
                    byLayer[layer, default: []].append(MatchedTensor(rule: rule, entry: entry, layer: layer, expert: match.expert))
                } else {
                    stacked.append((rule, entry))
                }
            } else if isIgnored {
                ignored.append(entry.key)
            } else {
                others.append(entry.key)
            }
        }
        var stackedCount: Int?
        for (rule, entry) in stacked {
            guard let count = entry.shape.first, rule.layers == .stacked else {
                throw LayoutMismatch(table: table.name, key: entry.key, reason: "expected a leading layer axis")
            }
            if let known = stackedCount, known != count {
                throw LayoutMismatch(table: table.name, key: entry.key, reason: "stacks \(count) layers, other tensors stack \(known)")
            }
            stackedCount = count
            for layer in 0..<count {
                byLayer[layer, default: []].append(MatchedTensor(rule: rule, entry: entry, layer: layer, expert: nil))
            }
        }
        var layers: [ResolvedMoELayer] = []
        for layer in byLayer.keys.sorted() {
            let tensors = byLayer[layer]!
            let dims = try solveDims(tensors, table: table)
            layers.append(ResolvedMoELayer(layer: layer, dims: dims, tensors: tensors, stackedLayerCount: stackedCount))
        }
        return ResolvedLayout(table: table, layers: layers, otherKeys: others, ignoredKeys: ignored)
    }

    /// Picks the table that explains the most keys without contradiction. `preferred` (for
    /// example an HF `model_type`) breaks ties between tables that fit equally well.
    public static func detect(_ stateDict: StateDict, among tables: [LayoutTable], preferredVariant: String? = nil) -> ResolvedLayout? {
        var best: ResolvedLayout?
        for table in tables {
            guard let resolved = try? resolve(stateDict, with: table), resolved.matchedCount > 0 else { continue }
            guard let current = best else {
                best = resolved
                continue
            }
            if resolved.matchedCount > current.matchedCount
                || (resolved.matchedCount == current.matchedCount && resolved.table.variant == preferredVariant
                    && current.table.variant != preferredVariant)
            {
                best = resolved
            }
        }
        return best
    }

    /// Unifies every tensor's stored shape with its row's symbolic shape until `E`, `D`, `F`
    /// and `Fs` are known, and checks every shape against them.
    static func solveDims(_ tensors: [MatchedTensor], table: LayoutTable) throws -> MoELayerDims {
        var bindings: [Dim: Int] = [:]
        let experts = Set(tensors.compactMap(\.expert))
        var progress = true
        var pending = tensors
        while progress {
            progress = false
            var stillPending: [MatchedTensor] = []
            for tensor in pending {
                let expected = tensor.rule.shape
                let found = tensor.entry.shape
                guard expected.count == found.count else {
                    throw LayoutMismatch(
                        table: table.name, key: tensor.key,
                        reason: "expected rank \(expected.count) \(TensorShape.describeSymbolic(expected)), found \(TensorShape.describe(found))")
                }
                var settled = true
                for (expr, size) in zip(expected, found) {
                    switch expr.unify(size, bindings) {
                    case .consistent: continue
                    case .bound(let dim, let value):
                        bindings[dim] = value
                        progress = true
                    case .undetermined: settled = false
                    case .contradiction:
                        throw LayoutMismatch(
                            table: table.name, key: tensor.key,
                            reason: "expected \(TensorShape.describeSymbolic(expected)) with \(describe(bindings)), found \(TensorShape.describe(found))")
                    }
                }
                if !settled { stillPending.append(tensor) }
            }
            pending = stillPending
            if !progress, !pending.isEmpty, bindings[.e] == nil, let maxExpert = experts.max() {
                // Per-expert keys alone cannot give E; the router usually does. Fall back to the keys.
                bindings[.e] = maxExpert + 1
                progress = true
            }
        }
        if let unresolved = pending.first {
            throw LayoutMismatch(
                table: table.name, key: unresolved.key,
                reason: "cannot determine \(TensorShape.describeSymbolic(unresolved.rule.shape)) from \(TensorShape.describe(unresolved.entry.shape))")
        }
        guard let e = bindings[.e], let d = bindings[.d] else {
            throw LayoutMismatch(table: table.name, key: tensors.first?.key ?? "?", reason: "no router or expert tensor gives the expert count and hidden size")
        }
        if let maxExpert = experts.max(), maxExpert >= e {
            throw LayoutMismatch(table: table.name, key: tensors.first { $0.expert == maxExpert }!.key, reason: "expert index \(maxExpert) but the layer has \(e) experts")
        }
        return MoELayerDims(numExperts: e, hiddenSize: d, ffnHiddenSize: bindings[.f], sharedFFNHiddenSize: bindings[.fs])
    }

    private static func describe(_ bindings: [Dim: Int]) -> String {
        let known = Dim.allCases.compactMap { dim in bindings[dim].map { "\(dim.rawValue)=\($0)" } }
        return known.isEmpty ? "nothing known yet" : known.joined(separator: ", ")
    }
}
