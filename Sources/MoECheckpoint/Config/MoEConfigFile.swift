import Foundation

/// `--moe-config FILE`: a JSON object with `cli.md`'s keys, or an HF or OLMo-core `config.json`.
public enum MoEConfigFile {
    public static func load(path: String) throws -> MoEConfig {
        let mapped = try MappedFile(path: path)
        let value: JSONValue
        do {
            value = try mapped.withAllBytes { try JSONParser().parse($0) }
        } catch let failure as JSONParser.Failure {
            throw ConfigError.invalid(file: path, path: "", reason: failure.description)
        }
        guard let object = value.objectValue else { throw ConfigError.invalid(file: path, path: "", reason: "expected a JSON object") }
        if object["model_type"] != nil { return try HFConfig.load(path: path).moeConfig }
        if object["model"]?.objectValue != nil { return OLMoConfig(object).moeConfig }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try JSONDecoder().decode(MoEConfig.self, from: data)
        } catch let error as DecodingError {
            throw ConfigError(decoding: error, file: path)
        }
    }
}
