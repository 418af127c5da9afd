/// Writes the records of a `torch.save` archive in the order torch writes them (`formats.md`
/// §1.2): `data.pkl` (protocol 2), `.format_version`, `.storage_alignment`, `byteorder`,
/// `data/<key>` for each storage in key order, `version`, `.data/serialization_id`.
///
/// Storages stream from their sources, so a DCP chunk item or a `common.pt` costs no more
/// memory than its largest storage.
public enum TorchSaveArchive {
    /// A storage record to write: `data/<key>` with the bytes `produce` emits.
    public struct Storage {
        public let key: String
        public let size: Int
        public let produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

        public init(key: String, size: Int, produce: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
            self.key = key
            self.size = size
            self.produce = produce
        }
    }

    /// Writes `root` and `storages` into `zip` and finishes it.
    public static func write(_ root: PickleValue, storages: [Storage] = [], into zip: TorchZipWriter) throws {
        try zip.addRecord("data.pkl", bytes: try Pickler().pickle(root))
        try zip.addRecord(".format_version", bytes: Array("1".utf8))
        try zip.addRecord(".storage_alignment", bytes: Array(String(TorchZipWriter.alignment).utf8))
        try zip.addRecord("byteorder", bytes: Array("little".utf8))
        for storage in storages {
            try zip.addRecord("data/" + storage.key, size: storage.size, produce: storage.produce)
        }
        try zip.addRecord("version", bytes: Array("3\n".utf8))
        try zip.addRecord(".data/serialization_id", bytes: serializationID(zip.recordCRCs))
        try zip.finish()
    }

    /// One dense tensor, as `torch.save(tensor)` writes it: storage `0` holding exactly its bytes.
    public static func writeTensor(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, into zip: TorchZipWriter) throws {
        let tensor = TorchTensorRef.dense(key: "0", dtype: dtype, shape: shape)
        try write(.tensor(tensor), storages: [Storage(key: "0", size: bytes.count) { emit in try emit(bytes) }], into: zip)
    }

    /// 40 decimal digits derived from the records' CRCs (torch only logs it).
    static func serializationID(_ crcs: [UInt32]) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for crc in crcs {
            hash ^= UInt64(crc)
            hash = hash &* 0x100_0000_01b3
        }
        let digits = String(hash) + String(hash.byteSwapped)
        return Array(String(digits.prefix(40)).padding(toLength: 40, withPad: "0", startingAt: 0).utf8)
    }
}
