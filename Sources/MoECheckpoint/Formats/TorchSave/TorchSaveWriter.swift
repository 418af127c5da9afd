/// Writes `torch.save` archives: a protocol-2 `data.pkl` and one stored, 64-byte aligned record
/// per storage, in torch's record order (`formats.md` §1.2), so the file loads with
/// `torch.load(weights_only=True)` when it holds only tensors and containers, and with
/// `mmap=True`, and is byte-comparable with what torch writes.
public enum TorchSaveWriter {
    /// The storages a pickle refers to, in the order their keys were handed out.
    public struct Storages {
        public private(set) var items: [(key: String, source: any TensorSource)] = []

        public init() {}

        /// A dense tensor over a new storage holding `source`'s bytes, keyed `0`, `1`, … as torch
        /// numbers storages in order of first appearance.
        public mutating func tensor(_ source: any TensorSource) -> PickleValue {
            let key = String(items.count)
            items.append((key, source))
            return .tensor(.dense(key: key, dtype: source.dtype, shape: source.shape))
        }

        /// Total bytes of all storages.
        public var totalBytes: Int { items.reduce(0) { $0 + $1.source.byteCount } }
    }

    /// `.format_version` torch writes; it promises the consecutive storage layout we produce.
    static let formatVersion = "1"
    /// `version` for plain `torch.save` archives.
    static let serializationVersion = "3\n"

    /// Writes `root` and the storages it refers to into a new file at `path`.
    ///
    /// - Parameter archiveName: the folder inside the zip (torch uses the file stem).
    public static func write(
        _ root: PickleValue, storages: Storages, to path: String, archiveName: String, progress: Progress? = nil
    ) throws {
        let pickle = try Pickler().pickle(root)
        let writer = try TorchZipWriter(path: path, archiveName: archiveName)
        try writer.addRecord("data.pkl", bytes: pickle)
        try writer.addRecord(".format_version", bytes: Array(formatVersion.utf8))
        try writer.addRecord(".storage_alignment", bytes: Array(String(TorchZipWriter.alignment).utf8))
        try writer.addRecord("byteorder", bytes: Array("little".utf8))
        for (key, source) in storages.items {
            try writer.addRecord("data/" + key, source: source)
            progress?.advance(by: source.byteCount)
        }
        try writer.addRecord("version", bytes: Array(serializationVersion.utf8))
        try writer.addRecord(".data/serialization_id", bytes: Array(serializationID(writer.recordCRCs).utf8))
        try writer.finish()
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
