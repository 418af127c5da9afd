/// Which GLOBALs the pickle machine interprets, keeps opaque or refuses (`formats.md` §1.7, §1.8).
///
/// Nothing is ever resolved to code. The deny list exists to stop hostile files early with a
/// clear message: a checkpoint that references `os.system` was made to attack its reader. The
/// strict allow-list mirrors torch's `weights_only=True` loader.
public enum PickleGlobals {
    /// How the machine treats a GLOBAL.
    public enum Treatment: Equatable, Sendable {
        /// Known and understood (OrderedDict, tensor rebuilds, storages, dtypes, `_codecs.encode`).
        case interpreted
        /// On torch's weights-only allow-list but kept as data.
        case allowedOpaque
        /// Unknown (`argparse.Namespace`, enums): kept as data unless strict.
        case unknown
        /// Refused in every mode.
        case forbidden(reason: String)
    }

    /// Modules whose every name is refused: process control, file system, code loading, FFI.
    static let forbiddenModules: Set<String> = [
        "os", "posix", "nt", "sys", "subprocess", "shutil", "socket", "importlib", "pty", "ctypes", "runpy",
        "code", "codeop", "pickle", "_pickle", "marshal", "webbrowser", "commands", "popen2", "platform",
        "multiprocessing", "asyncio", "operator", "_operator", "pdb", "timeit", "tempfile", "pathlib", "io", "_io",
        "urllib", "http", "ftplib", "smtplib", "telnetlib",
    ]

    /// The only `builtins` names that are plain data constructors.
    static let safeBuiltins: Set<String> = [
        "set", "frozenset", "bytearray", "complex", "slice", "range", "bytes", "str", "int", "float", "bool", "list",
        "dict", "tuple", "object",
    ]

    /// Names the machine interprets.
    static let interpreted: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter", "torch.Size", "_codecs.encode", "torch.storage.UntypedStorage",
    ]

    /// Further names torch's weights-only unpickler allows (kept opaque here).
    static let allowedOpaque: Set<String> = [
        "collections.Counter", "torch.nn.parameter.Parameter", "torch.serialization._get_layout", "torch.Tensor",
        "torch.device", "builtins.bytearray", "builtins.set", "builtins.frozenset", "builtins.complex",
        "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_wrapper_subclass", "torch._tensor._rebuild_from_type_v2", "torch.storage.TypedStorage",
        "torch.per_tensor_affine", "torch.per_channel_affine", "torch.strided", "torch.sparse_coo",
    ]

    /// The treatment of `module.name`.
    public static func treatment(module: String, name: String) -> Treatment {
        let root = module.split(separator: ".").first.map(String.init) ?? module
        let normalized = module == "__builtin__" ? "builtins" : module
        if forbiddenModules.contains(root) {
            return .forbidden(reason: "module '\(module)' gives access to the system or to code loading")
        }
        if normalized == "builtins" && !safeBuiltins.contains(name) {
            return .forbidden(reason: "builtin '\(name)' is not a plain data constructor")
        }
        if name.hasPrefix("__") || name.contains(".__") {
            return .forbidden(reason: "dunder names reach into object internals")
        }
        let full = normalized + "." + name
        if interpreted.contains(full) { return .interpreted }
        if normalized == "torch", TorchStorageTypes.isStorage(name) || TorchDTypeNames.dtype(named: name) != nil { return .interpreted }
        if allowedOpaque.contains(full) { return .allowedOpaque }
        return .unknown
    }

    /// Whether `text` is a dotted Python identifier (`megatron.core.transformer.enums`).
    static func isDottedIdentifier(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 256 else { return false }
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard let first = part.utf8.first, !(0x30...0x39).contains(first) else { return false }
            for byte in part.utf8 {
                let ok = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F
                if !ok { return false }
            }
        }
        return true
    }
}
