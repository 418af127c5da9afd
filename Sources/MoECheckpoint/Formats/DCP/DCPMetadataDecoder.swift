/// Turns the unpickled `.metadata` into a `DCPMetadata`, checking the object model of
/// `torch/distributed/checkpoint/metadata.py` (`formats.md` §2.2) and the chunk rules of §2.4.
///
/// Nothing is resolved to code: classes are recognised by name. Only DCP's own classes, any
/// `_StorageInfo` (torch's and OLMo-core's), Megatron's planner records, `torch.Size`, dtypes and
/// `_get_layout` may appear; anything else is an `unknownClass`, because a `.metadata` that
/// needs other code was not written by a DCP saver.
struct DCPMetadataDecoder {
    /// The `.metadata` path, for messages.
    let file: String

    static let metadataModule = "torch.distributed.checkpoint.metadata"

    // MARK: - Classes

    /// Whether a GLOBAL may appear in `.metadata`.
    static func isKnownClass(module: String, name: String) -> Bool {
        switch module {
        case metadataModule, "torch.distributed.checkpoint.planner": return true
        case "torch": return name == "Size" || TorchDTypeNames.dtype(named: name) != nil
        case "torch.serialization": return name == "_get_layout"
        case "collections": return name == "OrderedDict"
        default:
            // torch's and OLMo-core's storage records; Megatron's own planner classes.
            return name == "_StorageInfo" || module.hasPrefix("megatron.core.dist_checkpointing")
        }
    }

    /// Throws `unknownClass` for the first foreign GLOBAL in `value`. The value came out of the
    /// pickle machine, so it is acyclic and its depth is bounded.
    func checkClasses(_ value: PickleValue, path: String) throws {
        if case .global(let module, let name) = value, !Self.isKnownClass(module: module, name: name) {
            throw DCPError.unknownClass(file: file, className: module + "." + name, path: path)
        }
        try PickleWalk.forEachChild(of: value) { try checkClasses($0, path: path) }
    }

    // MARK: - Decoding

    func decode(_ root: PickleValue) throws -> DCPMetadata {
        let state = try dataclassState(root, className: "Metadata", path: "Metadata")
        for (key, value) in state.items where key.stringValue != "state_dict_metadata" && key.stringValue != "storage_data" {
            try checkClasses(value, path: "Metadata." + (key.stringValue ?? "?"))
        }
        guard let entries = state["state_dict_metadata"]?.dictValue else {
            throw DCPError.invalidMetadata(file: file, path: "Metadata.state_dict_metadata", expected: "a dict", found: state["state_dict_metadata"]?.kindName ?? "nothing")
        }
        var metadata = DCPMetadata()
        var seen = Set<String>()
        for (key, value) in entries.items {
            guard let fqn = key.stringValue else {
                throw DCPError.invalidMetadata(file: file, path: "Metadata.state_dict_metadata", expected: "string keys", found: key.kindName)
            }
            try checkClasses(value, path: fqn)
            guard seen.insert(fqn).inserted else {
                throw DCPError.invalidMetadata(file: file, path: fqn, expected: "one entry per key", found: "two")
            }
            metadata.items.append((fqn, try item(value, fqn: fqn)))
        }
        guard let storage = state["storage_data"]?.dictValue else {
            throw DCPError.invalidMetadata(file: file, path: "Metadata.storage_data", expected: "a dict", found: state["storage_data"]?.kindName ?? "nothing")
        }
        for (key, value) in storage.items {
            try checkClasses(key, path: "storage_data")
            let (index, hint) = try storageKey(key)
            try checkClasses(value, path: index.fqn)
            guard metadata.storage[index] == nil else {
                throw DCPError.duplicateStorageIndex(file: file, key: index.fqn, offsets: index.offsets)
            }
            metadata.storage[index] = try storageInfo(value, fqn: index.fqn)
            if let hint { metadata.indexHints[index] = hint }
        }
        if let planner = state["planner_data"], planner != .none { metadata.plannerData = planner }
        metadata.version = state["version"]?.stringValue
        return metadata
    }

    /// The BUILD state dict of a NEWOBJ'd dataclass named `className` of the metadata module
    /// (any module for `_StorageInfo`).
    func dataclassState(_ value: PickleValue, className: String, path: String) throws -> PickleDict {
        guard case .object(let instance) = value, case .global(let module, let name) = instance.callable, name == className,
            className == "_StorageInfo" || module == Self.metadataModule
        else {
            throw DCPError.invalidMetadata(file: file, path: path, expected: "a \(className)", found: value.kindName)
        }
        guard let state = instance.state?.dictValue else {
            throw DCPError.invalidMetadata(file: file, path: path, expected: "a \(className) with a state dict", found: instance.state?.kindName ?? "no state")
        }
        return state
    }

    func item(_ value: PickleValue, fqn: String) throws -> DCPItemInfo {
        if case .object(let instance) = value, case .global(Self.metadataModule, "BytesStorageMetadata") = instance.callable {
            return .bytes
        }
        let state = try dataclassState(value, className: "TensorStorageMetadata", path: fqn)
        guard let size = state["size"]?.intTuple, size.count <= TensorShape.maxRank, size.allSatisfy({ $0 >= 0 }),
            TensorShape.elementCount(size) != nil
        else {
            throw DCPError.invalidMetadata(file: file, path: fqn + ".size", expected: "a torch.Size of non-negative ints", found: state["size"].map { $0.intTuple.map(TensorShape.describe) ?? $0.kindName } ?? "nothing")
        }
        let (dtype, requiresGrad) = try properties(state["properties"], fqn: fqn)
        guard TensorShape.byteCount(size, dtype: dtype) != nil else {
            throw DCPError.invalidMetadata(file: file, path: fqn + ".size", expected: "a size that fits in memory", found: TensorShape.describe(size))
        }
        guard let chunkValues = state["chunks"]?.sequenceItems else {
            throw DCPError.invalidMetadata(file: file, path: fqn + ".chunks", expected: "a list", found: state["chunks"]?.kindName ?? "nothing")
        }
        var chunks: [DCPChunk] = []
        chunks.reserveCapacity(chunkValues.count)
        for (i, chunkValue) in chunkValues.enumerated() {
            let chunkState = try dataclassState(chunkValue, className: "ChunkStorageMetadata", path: "\(fqn).chunks[\(i)]")
            guard let offsets = chunkState["offsets"]?.intTuple, let sizes = chunkState["sizes"]?.intTuple else {
                throw DCPError.invalidMetadata(file: file, path: "\(fqn).chunks[\(i)]", expected: "offsets and sizes as torch.Size", found: "other values")
            }
            chunks.append(DCPChunk(offsets: offsets, sizes: sizes))
        }
        let info = DCPTensorInfo(dtype: dtype, size: size, chunks: chunks, requiresGrad: requiresGrad)
        try DCPChunkValidator(file: file, key: fqn).validate(info)
        return .tensor(info)
    }

    /// `TensorProperties` is pickled with a 5-tuple state `(dtype, layout, requires_grad,
    /// memory_format, pin_memory)`; older torch wrote a dataclass dict.
    func properties(_ value: PickleValue?, fqn: String) throws -> (DType, Bool) {
        let path = fqn + ".properties"
        guard case .object(let instance)? = value, case .global(Self.metadataModule, "TensorProperties") = instance.callable else {
            throw DCPError.invalidMetadata(file: file, path: path, expected: "a TensorProperties", found: value?.kindName ?? "nothing")
        }
        let dtypeValue: PickleValue?
        let requiresGrad: PickleValue?
        switch instance.state {
        case .tuple(let items)? where items.count >= 3:
            (dtypeValue, requiresGrad) = (items[0], items[2])
        case .dict(let dict)?:
            (dtypeValue, requiresGrad) = (dict["dtype"], dict["requires_grad"])
        default:
            throw DCPError.invalidMetadata(file: file, path: path, expected: "a (dtype, layout, requires_grad, …) state", found: instance.state?.kindName ?? "no state")
        }
        guard let dtype = dtypeValue?.torchDType else {
            throw DCPError.invalidMetadata(file: file, path: path + ".dtype", expected: "a torch dtype", found: dtypeValue?.kindName ?? "nothing")
        }
        return (dtype, requiresGrad?.boolValue ?? false)
    }

    func storageKey(_ value: PickleValue) throws -> (DCPStorageKey, Int?) {
        let state = try dataclassState(value, className: "MetadataIndex", path: "storage_data key")
        guard let fqn = state["fqn"]?.stringValue else {
            throw DCPError.invalidMetadata(file: file, path: "storage_data key", expected: "a MetadataIndex with an fqn", found: state["fqn"]?.kindName ?? "nothing")
        }
        var offsets: [Int]?
        if let offset = state["offset"], offset != .none {
            guard let tuple = offset.intTuple else {
                throw DCPError.invalidMetadata(file: file, path: fqn + " storage index", expected: "offset as a torch.Size", found: offset.kindName)
            }
            offsets = tuple
        }
        return (DCPStorageKey(fqn: fqn, offsets: offsets), state["index"]?.intValue)
    }

    func storageInfo(_ value: PickleValue, fqn: String) throws -> DCPStorageInfo {
        let state = try dataclassState(value, className: "_StorageInfo", path: fqn + " storage info")
        guard let path = state["relative_path"]?.stringValue, let offset = state["offset"]?.intValue,
            let length = state["length"]?.intValue
        else {
            throw DCPError.invalidMetadata(file: file, path: fqn + " storage info", expected: "relative_path, offset and length", found: "other fields")
        }
        guard offset >= 0, length >= 0, !offset.addingReportingOverflow(length).overflow else {
            throw DCPError.invalidMetadata(file: file, path: fqn + " storage info", expected: "a non-negative offset and length", found: "offset \(offset) length \(length)")
        }
        if let transforms = state["transform_descriptors"], transforms != .none, transforms.sequenceItems?.isEmpty != true {
            throw DCPError.invalidMetadata(file: file, path: fqn + " storage info", expected: "no transform descriptors", found: transforms.kindName)
        }
        return DCPStorageInfo(relativePath: path, offset: offset, length: length)
    }
}
