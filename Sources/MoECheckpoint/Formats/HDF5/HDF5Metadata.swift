import Foundation

/// The root attributes of a moe-ckpt HDF5 file (`docs/hdf5.md`): what was converted, in which
/// layout, with which routing config, and the source's own metadata files, so `inspect` of the
/// HDF5 file shows the same routing settings as `inspect` of its source.
struct HDF5Metadata: Sendable {
    /// Whether the root `format` attribute names this convention; if not, the file was written
    /// by another tool and datasets without `key`/`dtype` attributes are read by path and type.
    var isMoECkpt = false
    /// The layout the tensors are in; the reader's layout hint.
    var framework: Layout?
    /// The layout table's variant, informative.
    var variant: String?
    /// The routing config (and head layout) the writer recorded.
    var record: RoutingRecord?
    /// The source's metadata files, most authoritative first.
    var configSources: [ConfigSource] = []
    /// The converted checkpoint's path.
    var source: String?
    /// Every key in checkpoint order.
    var keys: [String]?

    init() {}

    /// The metadata of a conversion.
    init(_ request: WriteRequest) {
        isMoECkpt = true
        framework = request.layout
        variant = request.table?.variant
        record = RoutingRecord(config: request.moe, heads: request.attentionHeads)
        configSources = request.sourceConfig
        source = request.source
        keys = request.stateDict.keys
    }

    // MARK: - Config sources as JSON

    /// The `kind` of each config-source entry.
    private enum Kind: String {
        case hfConfig = "hf_config"
        case megatronArgs = "megatron_args"
        case olmoConfig = "olmo_config"
        case recorded = "moe_ckpt_record"
    }

    /// `[{"kind": "hf_config", "file": "/src/config.json", "text": "<the file's JSON text>"}, ...]`.
    ///
    /// The text is kept verbatim for `config.json`, so HF → HDF5 → HF gives back the same file.
    static func encode(_ sources: [ConfigSource]) throws -> String {
        let entries: [JSONValue] = try sources.map { source in
            let (kind, text): (Kind, String)
            switch source {
            case .hf(let file, let config):
                let bytes = try config.embeddedText.map { Array($0.utf8) } ?? MappedFile(path: file).withAllBytes { Array($0) }
                (kind, text) = (.hfConfig, String(decoding: bytes, as: UTF8.self))
            case .megatronArgs(_, let fields): (kind, text) = (.megatronArgs, JSONWriter.compact(.object(fields)))
            case .olmo(_, let config): (kind, text) = (.olmoConfig, JSONWriter.compact(.object(config)))
            case .recorded(_, let config, _): (kind, text) = (.recorded, JSONWriter.compact(config.json))
            }
            return .object(JSONObject([("kind", .string(kind.rawValue)), ("file", .string(source.file)), ("text", .string(text))]))
        }
        return JSONWriter.compact(.array(entries))
    }

    /// The inverse of `encode`; each source's `file` becomes `<h5 path>:config_sources_json[i]`,
    /// which is where the settings were read from.
    static func decode(_ json: String, file: String) throws -> [ConfigSource] {
        let attribute = HDF5Convention.Root.configSources
        func malformed(_ reason: String) -> HDF5Error {
            .invalidAttribute(file: file, object: "/", attribute: attribute, reason: reason)
        }
        let value: JSONValue
        do { value = try JSONParser().parse(string: json) } catch let failure as JSONParser.Failure { throw malformed(failure.description) }
        guard let entries = value.arrayValue else { throw malformed("expected a JSON array") }
        return try entries.enumerated().map { index, entry in
            guard let object = entry.objectValue, let kindName = object["kind"]?.stringValue, let kind = Kind(rawValue: kindName),
                let text = object["text"]?.stringValue
            else { throw malformed("entry \(index) needs a known 'kind' and a 'text' string") }
            let origin = "\(file):\(attribute)[\(index)]"
            switch kind {
            case .hfConfig:
                var config: HFConfig
                do { config = try JSONDecoder().decode(HFConfig.self, from: Data(text.utf8)) } catch {
                    throw malformed("entry \(index) is not an HF config.json: \(describe(error, file: origin))")
                }
                config.embeddedText = text
                return .hf(file: origin, config: config)
            case .recorded:
                do { return .recorded(file: origin, config: try MoEConfig(json: text)) } catch {
                    throw malformed("entry \(index) is not a routing config")
                }
            case .megatronArgs, .olmoConfig:
                let parsed: JSONValue
                do { parsed = try JSONParser().parse(string: text) } catch let failure as JSONParser.Failure {
                    throw malformed("entry \(index): \(failure.description)")
                }
                guard let fields = parsed.objectValue else { throw malformed("entry \(index) is not a JSON object") }
                return kind == .megatronArgs ? .megatronArgs(file: origin, fields: fields) : .olmo(file: origin, config: fields)
            }
        }
    }

    /// A JSON decoding failure as the dotted-path message `ConfigError` gives.
    private static func describe(_ error: Error, file: String) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        return ConfigError(decoding: decoding, file: file).description
    }

    // MARK: - Attributes

    /// Reads the root attributes; absent ones stay `nil`.
    static func read(from file: HDF5File) throws -> HDF5Metadata {
        typealias Root = HDF5Convention.Root
        let scope = file.scope()
        let root = file.handle
        func malformed(_ attribute: String, _ reason: String) -> HDF5Error {
            .invalidAttribute(file: file.path, object: "/", attribute: attribute, reason: reason)
        }
        var metadata = HDF5Metadata()
        let (format, version, framework, variant, sources, source, keys) = try HDF5Library.withLock {
            (
                try root.stringAttribute(Root.format, scope), try root.integersAttribute(Root.formatVersion, scope),
                try root.stringAttribute(Root.framework, scope), try root.stringAttribute(Root.variant, scope),
                try root.stringAttribute(Root.configSources, scope),
                try root.stringAttribute(Root.source, scope), try root.stringAttribute(Root.keys, scope)
            )
        }
        metadata.isMoECkpt = format == HDF5Convention.formatName
        guard metadata.isMoECkpt else { return metadata }
        if let found = version?.first, found > HDF5Convention.version {
            throw HDF5Error.unsupportedVersion(file: file.path, expected: HDF5Convention.version, found: Int(found))
        }
        if let framework {
            guard let layout = Layout(rawValue: framework) else { throw malformed(Root.framework, "unknown layout '\(framework)'") }
            metadata.framework = layout
        }
        metadata.variant = variant
        metadata.record = try RoutingRecord(file: file.path, place: { "attribute " + Root.record($0) }) { field in
            try HDF5Library.withLock { try root.stringAttribute(Root.record(field), scope) }
        }
        if let sources { metadata.configSources = try decode(sources, file: file.path) }
        metadata.source = source
        if let keys {
            let value: JSONValue
            do { value = try JSONParser().parse(string: keys) } catch let failure as JSONParser.Failure { throw malformed(Root.keys, failure.description) }
            guard let list = value.arrayValue?.compactMap(\.stringValue), list.count == value.arrayValue?.count else {
                throw malformed(Root.keys, "expected a JSON array of strings")
            }
            var seen = Set<String>()
            for key in list where !seen.insert(key).inserted { throw malformed(Root.keys, "key '\(key)' is listed twice") }
            metadata.keys = list
        }
        return metadata
    }

    /// Writes the root attributes.
    func write(to file: HDF5File) throws {
        typealias Root = HDF5Convention.Root
        let scope = file.scope()
        let root = file.handle
        let sources = try Self.encode(configSources)
        try HDF5Library.withLock {
            try root.setStringAttribute(Root.format, HDF5Convention.formatName, scope)
            try root.setIntegersAttribute(Root.formatVersion, [Int64(HDF5Convention.version)], scalar: true, scope)
            if let framework { try root.setStringAttribute(Root.framework, framework.rawValue, scope) }
            if let variant { try root.setStringAttribute(Root.variant, variant, scope) }
            for (field, value) in record?.fields ?? [] { try root.setStringAttribute(Root.record(field), JSONWriter.compact(value), scope) }
            try root.setStringAttribute(Root.configSources, sources, scope)
            if let source { try root.setStringAttribute(Root.source, source, scope) }
            if let keys { try root.setStringAttribute(Root.keys, JSONWriter.compact(.array(keys.map(JSONValue.string))), scope) }
        }
    }
}
