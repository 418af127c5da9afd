/// The length of an HDF5 superblock, read from its first bytes (HDF5 File Format Specification
/// §II.A), so a file cut inside it is reported as truncated: libhdf5 itself fails there with
/// unrelated messages ("ring type mismatch occurred for cache entry").
enum HDF5Superblock {
    /// Bytes the superblock at the start of `start` occupies; `nil` when the bytes do not begin
    /// with the signature or name an unknown version. A file too short to hold the version byte
    /// needs at least the signature and that byte.
    static func length(_ start: [UInt8]) -> Int? {
        guard start.starts(with: HDF5CheckpointReader.signature.prefix(min(start.count, 8))) else { return nil }
        guard start.count > 8 else { return 9 }
        switch start[8] {
        case 0, 1:
            // 24 fixed bytes (+4 for v1's indexed-storage K), four addresses, and the root
            // group's symbol table entry (two addresses and 24 bytes).
            guard start.count > 13 else { return 14 }
            let offsets = Int(start[13])
            return 48 + 6 * offsets + (start[8] == 1 ? 4 : 0)
        case 2, 3:
            // 12 fixed bytes, four addresses and a checksum.
            guard start.count > 9 else { return 10 }
            return 16 + 4 * Int(start[9])
        default:
            return nil
        }
    }

    /// The `truncated` error when `size` bytes cannot hold the superblock `start` begins.
    static func truncation(file: String, start: [UInt8], size: Int) -> HDF5Error? {
        guard let length = length(start), size < length else { return nil }
        return .truncated(file: file, reason: "the file ends inside the superblock: expected \(length) bytes, found \(size)")
    }
}
