import Foundation

/// What `moe-ckpt inspect` tells about a checkpoint, built from metadata only.
public struct InspectReport: Sendable {
    public let checkpoint: Checkpoint
    public let layout: ResolvedLayout
    /// Routing settings: metadata, then options.
    public let moe: MoEConfig
    /// The file the routing settings came from, if any.
    public let configSource: String?

    /// Opens nothing itself: `checkpoint` was opened by a reader, which read headers only.
    public init(checkpoint: Checkpoint, forcedLayout: Layout? = nil, overrides: MoEConfig = MoEConfig()) throws {
        self.checkpoint = checkpoint
        layout = try LayoutCatalog.detect(checkpoint, forced: forcedLayout)
        let (metadata, source) = MoEConfigResolver.fromMetadata(checkpoint, layout: layout)
        moe = metadata.overridden(by: overrides)
        configSource = source
    }

    /// Bytes per dtype, largest first.
    var bytesByDType: [(DType, Int)] {
        var totals: [DType: Int] = [:]
        for entry in checkpoint.stateDict.entries { totals[entry.dtype, default: 0] += entry.source.byteCount }
        return totals.sorted { ($0.value, $0.key.rawValue) > ($1.value, $1.key.rawValue) }
    }

    var parameterCount: Int { checkpoint.stateDict.entries.reduce(0) { $0 + $1.source.elementCount } }

    // MARK: - JSON

    /// The `--json` object: `cli.md`'s required fields first, then extras.
    public func json(includeTensors: Bool) -> JSONValue {
        var object = JSONObject([
            ("framework", .string(layout.table.layout.rawValue)),
            ("format", .string(checkpoint.format.rawValue)),
            ("ep_size", .int(checkpoint.parallelism.expertParallel)),
            ("moe", moe.json),
            ("moe_layers", .array(layout.layers.map(layerJSON))),
            ("tensors", .int(checkpoint.stateDict.count)),
            ("bytes", .int(checkpoint.stateDict.totalBytes)),
        ])
        object["variant"] = .string(layout.table.variant)
        object["tp_size"] = .int(checkpoint.parallelism.tensorParallel)
        object["pp_size"] = .int(checkpoint.parallelism.pipelineParallel)
        object["config_source"] = configSource.map(JSONValue.string) ?? .null
        object["parameters"] = .int(parameterCount)
        object["bytes_by_dtype"] = .object(JSONObject(bytesByDType.map { ($0.0.rawValue, JSONValue.int($0.1)) }))
        object["other_tensors"] = .int(layout.otherKeys.count)
        object["files"] = .int(checkpoint.files.count)
        object["notes"] = .array(checkpoint.notes.map(JSONValue.string))
        if includeTensors {
            object["tensor_list"] = .array(
                checkpoint.stateDict.entries.map { entry in
                    .object(JSONObject([
                        ("key", .string(entry.key)), ("dtype", .string(entry.dtype.rawValue)),
                        ("shape", .array(entry.shape.map(JSONValue.int))), ("file", .string(entry.file)),
                    ]))
                })
        }
        return .object(object)
    }

    private func tensorJSON(_ tensor: MatchedTensor?) -> JSONValue {
        guard let tensor else { return .null }
        return .object(JSONObject([
            ("key", .string(tensor.key)),
            ("shape", .array(tensor.entry.shape.map(JSONValue.int))),
            ("dtype", .string(tensor.entry.dtype.rawValue)),
        ]))
    }

    private func layerJSON(_ layer: ResolvedMoELayer) -> JSONValue {
        var object = JSONObject([
            ("layer", .int(layer.layer)),
            ("num_experts", .int(layer.dims.numExperts)),
            ("hidden_size", .int(layer.dims.hiddenSize)),
            ("ffn_hidden_size", layer.dims.ffnHiddenSize.map(JSONValue.int) ?? .null),
            ("router", tensorJSON(layer.tensor(for: .routerWeight))),
            ("expert_bias", tensorJSON(layer.tensor(for: .expertBias))),
        ])
        if layer.hasSharedExpert {
            object["shared_experts"] = .object(JSONObject([
                ("ffn_hidden_size", layer.dims.sharedFFNHiddenSize.map(JSONValue.int) ?? .null),
                ("gate", tensorJSON(layer.tensor(for: .sharedExpertGate))),
            ]))
        } else {
            object["shared_experts"] = .null
        }
        object["gated"] = .bool(layer.tensor(for: .expertGate) != nil)
        object["expert_storage"] = .string(layer.tensor(for: .expertDown)?.rule.experts.rawValue ?? "none")
        return .object(object)
    }

    // MARK: - Text

    /// The human summary.
    public func text(includeTensors: Bool) -> String {
        var lines: [String] = []
        let p = checkpoint.parallelism
        lines.append("checkpoint  \(checkpoint.path)")
        lines.append(
            "layout      \(layout.table.layout.rawValue) (\(layout.table.variant)), format \(checkpoint.format.rawValue), "
                + "\(checkpoint.files.count) file\(checkpoint.files.count == 1 ? "" : "s"), EP \(p.expertParallel) TP \(p.tensorParallel) PP \(p.pipelineParallel)")
        lines.append("routing     \(describe(moe))" + (configSource.map { "  (from \($0))" } ?? "  (no routing metadata)"))
        lines.append("MoE layers  \(layout.layers.count)")
        for layer in layout.layers {
            let d = layer.dims
            var parts = ["\(d.numExperts) experts", "D=\(d.hiddenSize)"]
            if let f = d.ffnHiddenSize { parts.append("F=\(f)") }
            if layer.tensor(for: .expertGate) == nil { parts.append("non-gated") }
            lines.append("  layer \(layer.layer): " + parts.joined(separator: ", "))
            lines.append("    router       \(describe(layer.tensor(for: .routerWeight)))")
            lines.append("    expert bias  \(describe(layer.tensor(for: .expertBias)))")
            if layer.hasSharedExpert {
                let gate = layer.tensor(for: .sharedExpertGate).map { "gate \(describe($0))" } ?? "no gate"
                lines.append("    shared       Fs=\(d.sharedFFNHiddenSize.map(String.init) ?? "?"), \(gate)")
            } else {
                lines.append("    shared       —")
            }
            if let down = layer.tensor(for: .expertDown) {
                lines.append("    experts      \(down.rule.experts == .perKey ? "one key per expert" : "stacked"), e.g. \(down.key) \(TensorShape.describe(down.entry.shape)) \(down.entry.dtype.rawValue)")
            }
        }
        let dtypes = bytesByDType.map { "\($0.0.rawValue) \(formatBytes($0.1))" }.joined(separator: ", ")
        lines.append("tensors     \(checkpoint.stateDict.count), \(parameterCount) parameters, \(formatBytes(checkpoint.stateDict.totalBytes)) (\(dtypes))")
        if !layout.otherKeys.isEmpty { lines.append("other       \(layout.otherKeys.count) non-MoE tensors") }
        for note in checkpoint.notes { lines.append("note        \(note)") }
        if includeTensors {
            lines.append("")
            let width = checkpoint.stateDict.entries.map(\.key.count).max() ?? 0
            for entry in checkpoint.stateDict.entries {
                let key = entry.key.padding(toLength: max(width, 1), withPad: " ", startingAt: 0)
                lines.append("\(key)  \(entry.dtype.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)) \(TensorShape.describe(entry.shape).padding(toLength: 18, withPad: " ", startingAt: 0)) \(entry.file)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func describe(_ tensor: MatchedTensor?) -> String {
        guard let tensor else { return "—" }
        return "\(tensor.key) \(TensorShape.describe(tensor.entry.shape)) \(tensor.entry.dtype.rawValue)"
    }

    private func describe(_ config: MoEConfig) -> String {
        func show<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "?" }
        return "top_k=\(show(config.topK)) score=\(show(config.scoreFunction?.rawValue)) normalize=\(show(config.normalizeTopK)) "
            + "scale=\(show(config.scalingFactor)) groups=\(show(config.numGroups))/\(show(config.groupTopK)) "
            + "activation=\(show(config.activation?.rawValue)) shared=\(show(config.sharedCombine?.rawValue))"
    }

    private func formatBytes(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
