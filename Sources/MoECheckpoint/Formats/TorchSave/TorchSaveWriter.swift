/// Writes `torch.save` archives: a protocol-2 `data.pkl` and one stored, 64-byte aligned record
/// per storage, in torch's record order (`formats.md` §1.2), so the file loads with
/// `torch.load(weights_only=True)` when it holds only tensors and containers, and with
/// `mmap=True`, and is byte-comparable with what torch writes.
public enum TorchSaveWriter {
    /// The storages a pickle refers to, in the order their keys were handed out.
    public struct Storages {
        /// One `data/<key>` record: its size and how to stream its bytes.
        public struct Record {
            public let key: String
            public let size: Int
            public let produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

            public init(key: String, size: Int, produce: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
                self.key = key
                self.size = size
                self.produce = produce
            }
        }

        public private(set) var records: [Record] = []

        public init() {}

        /// The key the next storage gets: `0`, `1`, … as torch numbers storages in order of first appearance.
        public var nextKey: String { String(records.count) }

        /// A dense tensor over a new storage holding `source`'s bytes (the zip writer checks the
        /// byte count against `size`).
        public mutating func tensor(_ source: any TensorSource) -> PickleValue {
            let key = nextKey
            records.append(Record(key: key, size: source.byteCount) { emit in try source.withBytes { try emit($0) } })
            return .tensor(.dense(key: key, dtype: source.dtype, shape: source.shape))
        }

        /// A dense tensor over a new storage holding `bytes`, which must stay valid until the
        /// archive is written (a DCP chunk inside its tensor's `withBytes`).
        public mutating func tensor(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) -> PickleValue {
            tensor(dtype: dtype, shape: shape, size: bytes.count) { emit in try emit(bytes) }
        }

        /// A dense tensor over a new storage of `size` bytes that `produce` streams on demand (a
        /// counted archive never calls it).
        public mutating func tensor(dtype: DType, shape: [Int], size: Int, produce: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) -> PickleValue {
            let key = nextKey
            records.append(Record(key: key, size: size, produce: produce))
            return .tensor(.dense(key: key, dtype: dtype, shape: shape))
        }

        /// A hand-made record (tests build storages that disagree with their tensors).
        public mutating func append(_ record: Record) {
            records.append(record)
        }

        /// Total bytes of all storages.
        public var totalBytes: Int { records.reduce(0) { $0 + $1.size } }
    }

    /// `.format_version` torch writes; it promises the consecutive storage layout we produce.
    static let formatVersion = "1"
    /// `version` for plain `torch.save` archives.
    static let serializationVersion = "3\n"

    /// Writes `root` and the storages it refers to into a new file at `path`.
    ///
    /// - Parameter archiveName: the folder inside the zip (torch uses the file stem).
    /// - Parameter extraRecords: records beside torch's own (`moe_ckpt.json`); torch.load reads
    ///   records by name and ignores these.
    public static func write(
        _ root: PickleValue, storages: Storages = Storages(), to path: String, archiveName: String, progress: Progress? = nil,
        extraRecords: [(name: String, bytes: [UInt8])] = []
    ) throws {
        try write(root, storages: storages, into: try OutputFile(creating: path), archiveName: archiveName, progress: progress, extraRecords: extraRecords)
    }

    /// Writes the archive as the whole of `output` (a real or a counting file) and closes it.
    public static func write(
        _ root: PickleValue, storages: Storages = Storages(), into output: OutputFile, archiveName: String, progress: Progress? = nil,
        extraRecords: [(name: String, bytes: [UInt8])] = []
    ) throws {
        try write(
            root, storages: storages, into: TorchZipWriter(owning: output, archiveName: archiveName), progress: output.isCounting ? nil : progress,
            extraRecords: extraRecords)
    }

    /// Writes `root` and its storages into `zip` and finishes it: one code path for `.pt` files,
    /// `common.pt` and the archives DCP appends to its data files.
    public static func write(
        _ root: PickleValue, storages: Storages = Storages(), into zip: TorchZipWriter, progress: Progress? = nil,
        extraRecords: [(name: String, bytes: [UInt8])] = []
    ) throws {
        try zip.addRecord("data.pkl", bytes: try Pickler().pickle(root))
        try zip.addRecord(".format_version", bytes: Array(formatVersion.utf8))
        try zip.addRecord(".storage_alignment", bytes: Array(String(TorchZipWriter.alignment).utf8))
        try zip.addRecord("byteorder", bytes: Array("little".utf8))
        for record in storages.records {
            try zip.addRecord("data/" + record.key, size: record.size, produce: record.produce)
            progress?.advance(by: record.size)
        }
        for record in extraRecords { try zip.addRecord(record.name, bytes: record.bytes) }
        try zip.addRecord("version", bytes: Array(serializationVersion.utf8))
        try zip.addRecord(".data/serialization_id", bytes: Array(serializationID(zip.recordCRCs).utf8))
        try zip.finish()
    }

    /// 40 decimal digits derived from the records' CRCs (torch uses it for logging only).
    static func serializationID(_ crcs: [UInt32]) -> String {
        var high: UInt64 = 0xCBF2_9CE4_8422_2325
        var low: UInt64 = 0x8422_2325_CBF2_9CE4
        for crc in crcs {
            high = (high ^ UInt64(crc)) &* 0x0000_0100_0000_01B3
            low = (low &+ UInt64(crc)) &* 0x9E37_79B9_7F4A_7C15
        }
        func twenty(_ value: UInt64) -> String {
            let digits = String(value % 10_000_000_000_000_000_000 as UInt64)
            return String(repeating: "0", count: 20 - digits.count) + digits
        }
        return twenty(high) + twenty(low)
    }
}
