/// FNV-1a digests: deterministic names for things that must come out the same in every process
/// (DCP save IDs, cluster-mode plan fingerprints). Not for security.
enum FNV1a {
    static func hash64<S: Sequence>(_ bytes: S, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 where S.Element == UInt8 {
        var hash = seed
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// Two 64-bit digests with different seeds.
    static func hash128<S: Sequence>(_ bytes: S) -> (UInt64, UInt64) where S.Element == UInt8 {
        (hash64(bytes), hash64(bytes, seed: 0x8422_2325_CBF2_9CE4))
    }
}
