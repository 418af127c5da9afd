/// What the weights cannot tell, recorded by moe-ckpt beside the tensors of every output whose
/// container has room for free text: the routing config, and the attention head layout when it
/// was known. Formats without a place for them (safetensors, `.pt`, HDF5) would otherwise lose
/// them, and `inspect` of the output would no longer show what `inspect` of the source showed.
///
/// Every container stores the same named fields, each as compact JSON text:
/// - safetensors: `__metadata__` entries `moe_ckpt.<name>`;
/// - `.pt`: one `moe_ckpt.json` zip record, a JSON object keyed by `<name>` (torch ignores it);
/// - HDF5: root attributes `<name>_json` (`HDF5Convention.Root.record`).
public struct RoutingRecord: Equatable, Sendable {
    public var config: MoEConfig
    public var heads: AttentionHeads?

    /// The field names.
    public enum Field: String, CaseIterable, Sendable {
        case moeConfig = "moe_config"
        case attentionHeads = "attention_heads"
    }

    public init(config: MoEConfig, heads: AttentionHeads?) {
        self.config = config
        self.heads = heads
    }

    /// The fields present, with their values.
    public var fields: [(field: Field, value: JSONValue)] {
        var fields = [(Field.moeConfig, config.json)]
        if let heads { fields.append((.attentionHeads, heads.json)) }
        return fields
    }

    /// Reads a record back through `text`, which gives a field's stored text or `nil` when the
    /// container lacks it; `nil` when there is no routing config. `place` names where a field
    /// lives in `file` (for `ConfigError.invalid`'s path).
    public init?(file: String, place: (Field) -> String, text: (Field) throws -> String?) throws {
        guard let configText = try text(.moeConfig) else { return nil }
        do { config = try MoEConfig(json: configText) } catch {
            throw ConfigError.invalid(file: file, path: place(.moeConfig), reason: "not a routing config")
        }
        heads = nil
        if let headsText = try text(.attentionHeads) {
            guard let heads = AttentionHeads(json: headsText) else {
                throw ConfigError.invalid(
                    file: file, path: place(.attentionHeads),
                    reason: "expected {\"heads\": H, \"groups\": G, \"head_dim\": d} with G dividing H")
            }
            self.heads = heads
        }
    }

    /// The record as the most authoritative config source of the checkpoint at `file`.
    public func configSource(file: String) -> ConfigSource {
        .recorded(file: file, config: config, heads: heads)
    }
}

// MARK: - Per container

extension RoutingRecord {
    /// The safetensors `__metadata__` key of a field.
    static func metadataKey(_ field: Field) -> String { "moe_ckpt." + field.rawValue }

    /// The `__metadata__` entries.
    var metadataEntries: [(String, String)] { fields.map { (Self.metadataKey($0.field), JSONWriter.compact($0.value)) } }

    /// The record in a safetensors header's `__metadata__`, if any.
    init?(metadata: [(key: String, value: String)], file: String) throws {
        try self.init(file: file, place: { "__metadata__." + Self.metadataKey($0) }) { field in
            metadata.first { $0.key == Self.metadataKey(field) }?.value
        }
    }

    /// The `.pt` zip record's name.
    static let zipRecordName = "moe_ckpt.json"

    /// The `.pt` zip record: one JSON object of the fields.
    var zipRecord: [UInt8] {
        Array(JSONWriter.compact(.object(JSONObject(fields.map { ($0.field.rawValue, $0.value) }))).utf8)
    }

    /// The record from a `.pt` zip record's bytes.
    init(zipRecord bytes: [UInt8], file: String) throws {
        let invalid = ConfigError.invalid(file: file, path: Self.zipRecordName, reason: "not moe-ckpt's routing record")
        guard let object = try? JSONParser().parse(bytes).objectValue else { throw invalid }
        guard let record = try Self(file: file, place: { "\(Self.zipRecordName).\($0.rawValue)" }, text: { field in
            object[field.rawValue].map(JSONWriter.compact)
        }) else { throw invalid }
        self = record
    }
}
