/// Where a checkpoint's routing settings came from.
public enum ConfigSource: Sendable {
    /// An HF `config.json`.
    case hf(file: String, config: HFConfig)
    /// Megatron's `args` Namespace (legacy `model_optim_rng.pt` or torch_dist `common.pt`),
    /// with its fields as JSON values.
    case megatronArgs(file: String, fields: JSONObject)
    /// An OLMo-core experiment `config.json`.
    case olmo(file: String, config: JSONObject)
    /// moe-ckpt's own record of the routing config and head layout (`RoutingRecord`).
    case recorded(file: String, config: MoEConfig, heads: AttentionHeads? = nil)

    /// The file the settings were read from.
    public var file: String {
        switch self {
        case .hf(let file, _), .megatronArgs(let file, _), .olmo(let file, _), .recorded(let file, _, _): return file
        }
    }
}

/// How a checkpoint's files split the model.
public struct Parallelism: Equatable, Sendable {
    public var expertParallel = 1
    public var tensorParallel = 1
    public var pipelineParallel = 1

    public init(expertParallel: Int = 1, tensorParallel: Int = 1, pipelineParallel: Int = 1) {
        self.expertParallel = expertParallel
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
    }
}

/// An opened source checkpoint: one logical, global state dict of lazy tensors, whatever the
/// container and however many rank files it spans, plus the metadata around it.
public struct Checkpoint: Sendable {
    /// The path the user gave.
    public let path: String
    public let format: ContainerFormat
    /// The logical state dict, with global expert numbering and global shapes.
    public var stateDict: StateDict
    /// Every file that was opened.
    public var files: [String]
    /// The sharding of the files.
    public var parallelism = Parallelism()
    /// Metadata that carries routing settings, most authoritative first.
    public var configSources: [ConfigSource] = []
    /// The framework the container implies (torch_dist and legacy are Megatron, DCP steps OLMo).
    public var layoutHint: Layout?
    /// Facts worth telling the user (optimizer state present, files skipped, ...).
    public var notes: [String] = []
    /// Non-tensor values of a torch-pickle source (Megatron `args`, `_extra_state`), kept opaque.
    public var pickledObjects = PickledObjects()

    public init(path: String, format: ContainerFormat, stateDict: StateDict, files: [String], layoutHint: Layout? = nil) {
        self.path = path
        self.format = format
        self.stateDict = stateDict
        self.files = files
        self.layoutHint = layoutHint
    }
}

/// Errors of finding and opening a checkpoint.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing at the path.
    case notFound(path: String)
    /// The path holds no checkpoint moe-ckpt knows.
    case unrecognized(path: String, reason: String)
    /// No layout table fits the tensors.
    case unknownLayout(path: String, reason: String)
    /// The requested layout does not fit the tensors.
    case layoutMismatch(path: String, layout: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file or directory"
        case .unrecognized(let path, let reason): return "\(path): not a checkpoint moe-ckpt can read: \(reason)"
        case .unknownLayout(let path, let reason): return "\(path): unknown layout: \(reason)"
        case .layoutMismatch(let path, let layout, let reason): return "\(path): not in the \(layout) layout: \(reason)"
        }
    }
}

/// Non-tensor values a torch-pickle checkpoint carries beside its tensors, kept opaque so that a
/// writer of the same framework can re-emit them unchanged (Megatron `args` with its enums,
/// `_extra_state = None`).
public struct PickledObjects: Sendable {
    /// A value of the state dict that is not a tensor.
    public struct Entry: Sendable {
        /// The key, with global expert numbering.
        public var key: String
        public var value: PickleValue
        /// How many tensors of the logical state dict come before it (keeps the source order).
        public var position: Int

        public init(key: String, value: PickleValue, position: Int) {
            self.key = key
            self.value = value
            self.position = position
        }
    }

    /// Non-tensor values of the model state dict.
    public var stateDict: [Entry] = []
    /// Top-level entries other than the state dict and the optimizer (`args`, `iteration`, ...).
    public var topLevel: [(key: String, value: PickleValue)] = []

    public init(stateDict: [Entry] = [], topLevel: [(key: String, value: PickleValue)] = []) {
        self.stateDict = stateDict
        self.topLevel = topLevel
    }

    /// The top-level value of `key`.
    public subscript(topLevel key: String) -> PickleValue? {
        topLevel.first { $0.key == key }?.value
    }
}
