import Foundation

/// `--dtype`.
public enum DTypeChoice: String, Sendable, CaseIterable {
    case keep, bf16, fp16, fp32

    var dtype: DType? {
        switch self {
        case .keep: return nil
        case .bf16: return .bfloat16
        case .fp16: return .float16
        case .fp32: return .float32
        }
    }
}

/// What `convert` was asked to do.
public struct ConvertOptions: Sendable {
    public var source: String
    public var destination: String
    public var targetLayout: Layout
    public var targetFormat: ContainerFormat?
    public var expertParallel: Int?
    /// `--tp`, `--pp` (legacy targets only); default: the source's sizes for a legacy target, else 1.
    public var tensorParallel: Int?
    public var pipelineParallel: Int?
    public var dtype: DTypeChoice
    public var force: Bool
    public var sourceLayout: Layout?
    public var overrides: MoEConfig
    /// `--compress` (HDF5 targets).
    public var compress: Bool
    /// What this process does of a conversion spread over several (`--part`, `--finalize`).
    public var cluster: ClusterStep = .whole
    /// `--shard-size`: bytes after which a data file is full.
    public var maxShardBytes: Int?
    /// `--variant`: the target table variant, when the default choice is not the one wanted
    /// (OLMo-core's capacity-based `default` MoE, a particular HF family).
    public var targetVariant: String?

    public init(
        source: String, destination: String, targetLayout: Layout, targetFormat: ContainerFormat? = nil,
        expertParallel: Int? = nil, tensorParallel: Int? = nil, pipelineParallel: Int? = nil, dtype: DTypeChoice = .keep,
        force: Bool = false, sourceLayout: Layout? = nil, overrides: MoEConfig = MoEConfig(), compress: Bool = false,
        targetVariant: String? = nil
    ) {
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.targetVariant = targetVariant
        self.compress = compress
        self.source = source
        self.destination = destination
        self.targetLayout = targetLayout
        self.targetFormat = targetFormat
        self.expertParallel = expertParallel
        self.dtype = dtype
        self.force = force
        self.sourceLayout = sourceLayout
        self.overrides = overrides
    }
}

/// What a conversion did, for the CLI's summary line.
public struct ConvertSummary: Sendable {
    public let tensors: Int
    public let bytes: Int
    public let format: ContainerFormat
    /// Source tensors the target has no name for (listed in a warning).
    public let unmapped: [String]
    /// The source's notes (optimizer state not converted, ...), shown after the summary.
    public var notes: [String] = []
    /// Data files this process wrote for its `--part`.
    public var partFiles = 0
    /// What the target cannot represent faithfully, shown as warnings.
    public var warnings: [String] = []
}

/// Streams a checkpoint from any reader to any writer, tensor by tensor.
public enum Converter {
    public static func run(_ options: ConvertOptions, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> ConvertSummary {
        let checkpoint = try CheckpointReaders.open(options.source)
        let resolved = try LayoutCatalog.detect(checkpoint, forced: options.sourceLayout)
        let format = options.targetFormat ?? ContainerFormat.defaultFormat(for: options.targetLayout)
        guard let writer = CheckpointWriters.writer(for: format) else {
            throw ConvertError.unsupportedTarget(layout: options.targetLayout, format: format, reason: "no \(format.rawValue) writer in this build")
        }
        let ep = options.expertParallel ?? checkpoint.parallelism.expertParallel
        for layer in resolved.layers where layer.dims.numExperts % ep != 0 {
            throw ConvertError.expertParallelMismatch(experts: layer.dims.numExperts, ep: ep, layer: layer.layer)
        }
        let (metadata, _) = MoEConfigResolver.fromMetadata(checkpoint, layout: resolved)
        let moe = metadata.overridden(by: options.overrides)
        if [.megatron, .hf].contains(options.targetLayout), !moe.missingRequiredSettings.isEmpty {
            throw ConvertError.routingUnknown(path: checkpoint.path, layout: options.targetLayout, missing: moe.missingRequiredSettings)
        }
        let model = try CanonicalModel(resolved, of: checkpoint, config: moe)
        let heads = AttentionHeads(checkpoint.configSources, hiddenSize: model.layers.first?.dims.hiddenSize)
            ?? NonMoETable.inferHeads(model.otherTensors, layout: resolved.table.layout)
        let (native, table, unmapped) = try targetStateDict(
            checkpoint, model: model, heads: heads, layout: options.targetLayout, format: format, variant: options.targetVariant)
        let stateDict = try cast(native, to: options.dtype, biasKeys: biasKeys(native, table: table))
        var parallelism = try targetParallelism(options, source: checkpoint.parallelism, format: format)
        parallelism.expertParallel = ep
        var request = WriteRequest(
            layout: options.targetLayout, table: table, stateDict: stateDict, parallelism: parallelism,
            moe: moe, sourceConfig: checkpoint.configSources,
            singleFile: writer.writesSingleFile || Self.namesSingleFile(options.destination, format: format),
            progress: progress.map { Progress(totalBytes: stateDict.totalBytes, onUpdate: $0) },
            compress: options.compress, source: checkpoint.path)
        request.pickledObjects = checkpoint.pickledObjects
        if resolved.table.layout != options.targetLayout {
            // Non-tensor state-dict values (`_extra_state`) carry the source framework's key names.
            request.pickledObjects.stateDict = []
        }
        request.attentionHeads = heads
        request.maxShardBytes = options.maxShardBytes ?? WriteRequest.defaultMaxShardBytes
        var partFiles = 0
        if options.cluster == .whole {
            let output = try AtomicOutput(destination: options.destination, force: options.force, sources: [checkpoint.path])
            do {
                try writer.write(request, to: output.temporary)
                try output.commit()
            } catch {
                output.discard()
                throw error
            }
        } else {
            if request.singleFile { throw PartError.singleFileTarget(destination: options.destination, format: format) }
            partFiles = try ClusterStep.run(
                options.cluster, writer: writer, request: request, destination: options.destination, force: options.force, source: checkpoint.path)
        }
        var summary = ConvertSummary(tensors: stateDict.count, bytes: stateDict.totalBytes, format: format, unmapped: unmapped)
        summary.notes = checkpoint.notes
        summary.partFiles = partFiles
        if options.targetLayout == .olmo, resolved.table.layout != .olmo {
            summary.warnings = OLMoConfigBuilder.inexpressible(moe, model: model).map { "OLMo-core cannot express \($0): the converted model computes differently" }
        }
        return summary
    }

    /// The target's state dict: the source unchanged for the same layout; otherwise the canonical
    /// model rendered through the target table, plus the non-MoE tensors the target has names for.
    static func targetStateDict(
        _ checkpoint: Checkpoint, model: CanonicalModel, heads: AttentionHeads?, layout: Layout, format: ContainerFormat, variant: String? = nil
    ) throws -> (StateDict, LayoutTable, [String]) {
        let resolved = model.source
        let table = try variant.map { try TargetLayout.table(named: $0, for: layout, format: format, model: model) }
            ?? TargetLayout.table(for: layout, format: format, model: model)
        if table.name == resolved.table.name {
            return (checkpoint.stateDict, table, [])
        }
        let moeEntries = try TargetLayout.render(model, into: table)
        let gated = model.config.activation?.isGated ?? (model.layers.first?.experts.first?.gate != nil)
        func ownAttention(_ table: LayoutTable) -> Bool {
            TargetLayout.hfFamily(of: table, model: model).map(HFLayout.hasOwnAttention) ?? false
        }
        let (others, unmapped) = NonMoETable.translate(
            model.otherTensors, from: resolved.table.layout, to: layout, ownAttention: (ownAttention(resolved.table), ownAttention(table)),
            context: .init(heads: heads, gated: gated))
        var stateDict = StateDict()
        // Keep the source's order: non-MoE tensors first, then each MoE layer's tensors.
        for entry in others + moeEntries { try stateDict.add(entry) }
        return (stateDict, table, unmapped)
    }

    /// The target's TP and PP: the options, else the source's for a legacy target (the only
    /// format whose files are split by them), else 1.
    static func targetParallelism(_ options: ConvertOptions, source: Parallelism, format: ContainerFormat) throws -> Parallelism {
        let keepsSource = format == .legacy && options.targetLayout == .megatron
        var out = source
        out.tensorParallel = options.tensorParallel ?? (keepsSource ? source.tensorParallel : 1)
        out.pipelineParallel = options.pipelineParallel ?? (keepsSource ? source.pipelineParallel : 1)
        if !keepsSource, out.tensorParallel > 1 || out.pipelineParallel > 1 {
            throw ConvertError.unsupportedTarget(
                layout: options.targetLayout, format: format, reason: "--tp and --pp split only Megatron legacy output (--to megatron --format legacy)")
        }
        return out
    }

    /// Keys of the target that hold the expert bias.
    static func biasKeys(_ stateDict: StateDict, table: LayoutTable) -> Set<String> {
        Set(stateDict.keys.filter { key in table.match(key)?.rule.parts == [.expertBias] })
    }

    /// Whether a destination path names one file for a folder-or-file format.
    static func namesSingleFile(_ destination: String, format: ContainerFormat) -> Bool {
        format == .safetensors && destination.hasSuffix(".safetensors")
    }

    /// Applies `--dtype` to float weights. The expert bias and norm weights the frameworks keep in
    /// float32 (`mapping-facts.md` quirk 5) are never cast.
    static func cast(_ stateDict: StateDict, to choice: DTypeChoice, biasKeys: Set<String>) throws -> StateDict {
        guard let target = choice.dtype else { return stateDict }
        var out = StateDict()
        for entry in stateDict.entries {
            let keepFloat32 = biasKeys.contains(entry.key) || (entry.dtype == .float32 && isNormWeight(entry.key))
            if entry.dtype.isFloatingPoint && !keepFloat32 && entry.dtype != target {
                try out.add(TensorEntry(key: entry.key, source: CastTensor(entry.source, to: target), file: entry.file))
            } else {
                try out.add(entry)
            }
        }
        return out
    }

    static func isNormWeight(_ key: String) -> Bool {
        key.contains("layernorm") || key.contains("layer_norm") || key.contains("norm.weight")
    }
}
