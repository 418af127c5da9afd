import Foundation

/// The parsers that read untrusted bytes, as fuzz entry points. Each runs one parser on a buffer
/// and swallows its typed errors: a fuzz finding is a crash, a hang or a sanitizer report, never a
/// thrown error. Used by the libFuzzer executable (`Sources/FuzzParsers`) and by the
/// deterministic mutation tests that CI runs.
///
/// Every target parses from memory (`MappedFile(copying:)`, libhdf5's core driver): a scratch
/// file per input costs more than most parses.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensorsHeader = "safetensors"
    case json
    case hfConfig = "hf-config"
    case moeConfig = "moe-config"
    case safetensorsIndex = "safetensors-index"
    case dcpMetadata = "dcp-metadata"
    /// The zip reader: end records, central directory, local headers, then every record read
    /// (CRC-32 checked, deflated ones inflated within the bomb limits).
    case zip
    /// The pickle machine, then the walks that run over its result (storages, JSON view).
    case pickle
    /// A whole torch.save archive: zip, `version`, `data.pkl`, storage records and the state
    /// dict walk `PTCheckpointReader` does. CRCs are not checked, so mutated pickles get through.
    case torchSave = "torch-save"
    /// A pickle holding Megatron's `args` Namespace (legacy `.pt` root or `common.pt`).
    case megatronArgs = "megatron-args"
    /// An OLMo-core experiment `config.json`.
    case olmoConfig = "olmo-config"
    /// An `HDF5FuzzImage` program: the file libhdf5 writes for it, read by moe-ckpt's HDF5
    /// reader (root metadata, key paths, `key`/`dtype`/`shape` attributes, stored types, links,
    /// storage checks) and its tensor reads.
    case hdf5

    /// Largest tensor or record a target reads in full, so one input stays fast.
    static let readLimit = 1 << 20

    /// Runs the parser on `bytes`.
    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .safetensorsHeader:
            _ = try? SafetensorsHeader(parsing: bytes, fileSize: bytes.count, file: "fuzz")
        case .json:
            _ = try? JSONParser().parse(bytes)
        case .hfConfig:
            _ = (try? JSONDecoder().decode(HFConfig.self, from: Data(bytes)))?.moeConfig
        case .moeConfig:
            if let value = try? JSONParser().parse(bytes), let object = value.objectValue {
                _ = OLMoConfig(object).moeConfig
                _ = MegatronArgs(fields: object).moeConfig
            }
            _ = try? JSONDecoder().decode(MoEConfig.self, from: Data(bytes))
        case .dcpMetadata:
            if let root = try? Unpickler(source: "fuzz").unpickle(bytes) {
                _ = try? DCPMetadataDecoder(file: "fuzz").decode(root)
            }
        case .safetensorsIndex:
            _ = try? SafetensorsIndex(parsing: MappedFile(copying: bytes, path: "fuzz.index.json"), path: "fuzz.index.json")
        case .zip: Self.zip(bytes)
        case .pickle: Self.pickle(bytes)
        case .torchSave: Self.torchSave(bytes)
        case .megatronArgs: Self.megatronArgs(bytes)
        case .olmoConfig:
            if let object = (try? JSONParser().parse(bytes))?.objectValue {
                _ = MoEConfig().overridden(by: OLMoConfig(object).moeConfig)
            }
        case .hdf5: Self.hdf5(bytes)
        }
    }

    static func zip(_ bytes: UnsafeRawBufferPointer) {
        guard let archive = try? ZipArchive(file: MappedFile(copying: bytes, path: "fuzz.zip")) else { return }
        for entry in archive.entries.prefix(64) {
            _ = try? archive.readRecord(entry, limit: readLimit)
        }
    }

    static func pickle(_ bytes: UnsafeRawBufferPointer) {
        _ = try? Unpickler(source: "fuzz", strict: true).unpickle(bytes)
        guard let root = try? Unpickler(source: "fuzz").unpickle(bytes) else { return }
        _ = try? PickleJSON.convert(root, budget: 100_000)
        _ = root.isWeightsOnlySafe
        try? TorchSaveFile.collectStorages(root) { _ = $0.byteCount }
    }

    static func torchSave(_ bytes: UnsafeRawBufferPointer) {
        let path = "fuzz.pt"
        guard let archive = try? ZipArchive(file: MappedFile(copying: bytes, path: path), verifyCRC: false),
              let file = try? TorchSaveFile(archive: archive),
              let checkpoint = try? PTCheckpointReader.checkpoint(of: file, path: path)
        else { return }
        for entry in checkpoint.stateDict.entries where entry.source.byteCount <= readLimit {
            _ = try? entry.source.withBytes { $0.count }
        }
        _ = try? MegatronLegacyReader.rootDict(file)
    }

    static func megatronArgs(_ bytes: UnsafeRawBufferPointer) {
        guard let root = (try? Unpickler(source: "fuzz").unpickle(bytes))?.dictValue, let args = root["args"] else { return }
        if let fields = try? PickleJSON.fields(of: args) {
            let parsed = MegatronArgs(fields: fields)
            _ = MegatronNamespace.routingUpdates(for: parsed.moeConfig, existing: parsed)
        }
        if let fields = MegatronArgsPickle.fields(args) { _ = MegatronArgs(fields: fields).moeConfig }
        _ = MegatronNamespace.updating(args, with: [("expert_model_parallel_size", .integer(2))])
    }

    static func hdf5(_ bytes: UnsafeRawBufferPointer) {
        guard let image = HDF5FuzzImage.build(bytes) else { return }
        image.withUnsafeBytes { image in
            guard let file = try? HDF5File.open(image: image, name: "fuzz.h5"),
                  let metadata = try? HDF5Metadata.read(from: file),
                  let (stateDict, _) = try? HDF5CheckpointReader.stateDict(of: file, metadata: metadata)
            else { return }
            for entry in stateDict.entries where entry.source.byteCount <= readLimit {
                _ = try? entry.source.withBytes { $0.count }
            }
        }
    }
}
