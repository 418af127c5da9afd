import Foundation

/// The parsers that read untrusted bytes, as fuzz entry points. Each runs one parser on a buffer
/// and swallows its typed errors: a fuzz finding is a crash, a hang or a sanitizer report, never a
/// thrown error. Used by the libFuzzer executable (`Sources/FuzzParsers`) and by the
/// deterministic mutation tests that CI runs.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensorsHeader = "safetensors"
    case json
    case hfConfig = "hf-config"
    case moeConfig = "moe-config"
    case safetensorsIndex = "safetensors-index"
    case dcpMetadata = "dcp-metadata"

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
            if let path = try? Self.scratchFile(bytes) {
                _ = try? SafetensorsIndex(path: path)
            }
        }
    }

    /// Parsers that read paths get their bytes through one reused scratch file.
    static func scratchFile(_ bytes: UnsafeRawBufferPointer) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("moe-ckpt-fuzz-\(getpid()).bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
