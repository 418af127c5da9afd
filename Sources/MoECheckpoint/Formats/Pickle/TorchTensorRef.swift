/// A storage persistent id: `('storage', torch.FloatStorage, '0', 'cpu', 2048)` (`formats.md` §1.5).
public struct TorchStorageRef: Equatable, Sendable {
    /// The storage class in module `torch` (`FloatStorage`, `BFloat16Storage`, `UntypedStorage`).
    public let typeName: String
    /// The element type of a typed storage; `nil` for `UntypedStorage` (bytes).
    public let dtype: DType?
    /// The record key: bytes live in `data/<key>`.
    public let key: String
    /// The device it was saved from (`cpu`, `cuda:0`); ignored on a CPU reader.
    public let location: String
    /// Elements of a typed storage, bytes of an untyped one.
    public let numel: Int

    public init(typeName: String, dtype: DType?, key: String, location: String, numel: Int) {
        self.typeName = typeName
        self.dtype = dtype
        self.key = key
        self.location = location
        self.numel = numel
    }

    /// A typed storage of `dtype` with `numel` elements (what the writer emits).
    public init(dtype: DType, key: String, numel: Int, location: String = "cpu") {
        let name = TorchStorageTypes.typeName(for: dtype)
        self.init(typeName: name, dtype: name == TorchStorageTypes.untyped ? nil : dtype, key: key, location: location,
                  numel: name == TorchStorageTypes.untyped ? numel * dtype.byteSize : numel)
    }

    /// Size of the storage in bytes, or `nil` on overflow.
    public var byteCount: Int? {
        guard let dtype else { return numel }
        let (bytes, overflow) = numel.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }
}

/// A tensor as `_rebuild_tensor_v2/v3` describes it: a strided view of one storage.
public struct TorchTensorRef: Sendable {
    /// Which rebuild function made it (re-emitted the same way).
    public enum Rebuild: String, Sendable {
        case v2 = "_rebuild_tensor_v2"
        case v3 = "_rebuild_tensor_v3"
    }

    public let storage: TorchStorageRef
    /// The element type (the storage's, or v3's explicit dtype for untyped storages).
    public let dtype: DType
    /// Offset into the storage, in elements.
    public let storageOffset: Int
    public let shape: [Int]
    /// Strides in elements.
    public let stride: [Int]
    public let requiresGrad: Bool
    public let rebuild: Rebuild
    /// The optional metadata argument (a dict), kept for re-emission.
    public let metadata: PickleValue?
    /// Set when `_rebuild_parameter(tensor, requires_grad, hooks)` wrapped the tensor: its `requires_grad`.
    public let parameterRequiresGrad: Bool?

    public init(
        storage: TorchStorageRef, dtype: DType, storageOffset: Int, shape: [Int], stride: [Int], requiresGrad: Bool = false,
        rebuild: Rebuild = .v2, metadata: PickleValue? = nil, parameterRequiresGrad: Bool? = nil
    ) {
        self.storage = storage
        self.dtype = dtype
        self.storageOffset = storageOffset
        self.shape = shape
        self.stride = stride
        self.requiresGrad = requiresGrad
        self.rebuild = rebuild
        self.metadata = metadata
        self.parameterRequiresGrad = parameterRequiresGrad
    }

    /// A dense tensor filling storage `key` from element 0 (what the writer emits).
    public static func dense(key: String, dtype: DType, shape: [Int]) -> TorchTensorRef {
        let storage = TorchStorageRef(dtype: dtype, key: key, numel: TensorShape.elementCount(shape) ?? 0)
        let untyped = storage.dtype == nil
        return TorchTensorRef(
            storage: storage, dtype: dtype, storageOffset: 0, shape: shape, stride: TensorShape.contiguousStrides(shape),
            rebuild: untyped ? .v3 : .v2)
    }

    /// The same tensor as a `Parameter` or not.
    public func asParameter(requiresGrad: Bool?) -> TorchTensorRef {
        TorchTensorRef(
            storage: storage, dtype: dtype, storageOffset: storageOffset, shape: shape, stride: stride, requiresGrad: self.requiresGrad,
            rebuild: rebuild, metadata: metadata, parameterRequiresGrad: requiresGrad)
    }

    /// Number of elements.
    public var elementCount: Int { TensorShape.elementCount(shape) ?? 0 }

    /// Whether the view is row-major dense (dimensions of size 1 may carry any stride).
    public var isContiguous: Bool { TensorShape.isContiguous(shape: shape, strides: stride) }
}

/// The legacy typed-storage classes of module `torch` and their dtypes (`formats.md` §1.5).
public enum TorchStorageTypes {
    /// The byte storage used with `_rebuild_tensor_v3` for dtypes without a legacy class.
    public static let untyped = "UntypedStorage"

    static let typed: [String: DType] = [
        "DoubleStorage": .float64, "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    /// Whether `name` (in module `torch`) is a storage class the machine understands.
    static func isStorage(_ name: String) -> Bool { typed[name] != nil || name == untyped }

    /// The dtype of a typed storage class.
    static func dtype(of name: String) -> DType? { typed[name] }

    /// The class torch pickles a `dtype` tensor's storage with.
    public static func typeName(for dtype: DType) -> String {
        typed.first { $0.value == dtype }?.key ?? untyped
    }
}
