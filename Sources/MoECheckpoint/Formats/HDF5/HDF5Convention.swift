/// The names of moe-ckpt's HDF5 state-dict convention (`docs/hdf5.md`), in one place so the
/// reader, the writer and the h5py check script cannot drift apart.
enum HDF5Convention {
    /// Root `format` attribute value.
    static let formatName = "moe-ckpt/state-dict"
    /// Root `format_version`; readers refuse newer versions.
    static let version = 1

    /// Root attributes.
    enum Root {
        static let format = "format"
        static let formatVersion = "format_version"
        /// The layout (`megatron`, `olmo`, `nemo`, `hf`): becomes the reader's layout hint.
        static let framework = "framework"
        /// The layout table's variant (`grouped`, `qwen3_moe`, ...), informative.
        static let variant = "variant"
        /// A `RoutingRecord` field: the routing config written (`moe_config_json`, with
        /// `cli.md`'s keys) and the head layout when known (`attention_heads_json`).
        static func record(_ field: RoutingRecord.Field) -> String { field.rawValue + "_json" }
        /// The source checkpoint's metadata files, as a JSON array (see `HDF5Metadata`).
        static let configSources = "config_sources_json"
        /// The checkpoint that was converted.
        static let source = "source"
        /// Every key, in checkpoint order, as a JSON array: gives order and completeness.
        static let keys = "keys_json"
    }

    /// Per-dataset attributes.
    enum Dataset {
        /// The exact state-dict key (paths cannot hold every key).
        static let key = "key"
        /// The moe-ckpt dtype name (`bfloat16`, `float8_e4m3fn`, ...).
        static let dtype = "dtype"
        /// The tensor's shape as int64 values (empty for a scalar).
        static let shape = "shape"
    }

    /// Where keys that cannot become a group path go: `/__flat__/<index>`.
    static let flatGroup = "__flat__"
    /// Where non-tensor objects go (formats.md §4.1); the reader skips this group.
    static let objectsGroup = "__objects__"
}

/// Caps on what a file may declare, so a hostile file costs bounded time and memory.
enum HDF5Limits {
    /// Links visited in one file.
    static let maxObjects = 10_000_000
    /// Fewer file bytes than one hard link takes: the smallest link message (version, flags, name
    /// length, a one-byte name, a 2-byte address) plus its 4-byte message header is 10 bytes, so a
    /// file of n bytes cannot hold more than n/8 + 1 links.
    static let minimumLinkBytes = 8
    /// Elements of one tensor (2^48: far above any real tensor, far below overflow).
    static let maxElements = 1 << 48
    /// Bytes of one string attribute (the key index of a huge checkpoint is a few MB).
    static let maxAttributeBytes = 1 << 28
    /// deflate cannot expand data by more than about 1032:1; a larger ratio is a bomb.
    static let maxDeflateRatio = 1032
    /// Slack for chunk and filter overhead on tiny compressed tensors.
    static let compressionSlackBytes = 1 << 16
    /// Error-stack entries kept for a message.
    static let maxErrorMessages = 64
    /// Target bytes per chunk when compressing (formats.md §4.3).
    static let chunkBytes = 1 << 20
    /// deflate level of `--compress` (formats.md §4.3: shuffle + deflate 4).
    static let deflateLevel: UInt32 = 4
}
