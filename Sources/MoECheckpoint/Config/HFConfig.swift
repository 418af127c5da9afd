import Foundation

/// The MoE fields of a Hugging Face `config.json`, with every alias transformers accepts
/// (`layouts-nemo-hf.md` §4). Decoding is lenient: absent fields stay `nil`, and the family
/// defaults are applied once, in `moeConfig`.
public struct HFConfig: Decodable, Equatable, Sendable {
    public var modelType: String?
    public var numExperts: Int?
    public var numLocalExperts: Int?
    public var nRoutedExperts: Int?
    public var numExpertsPerTok: Int?
    public var normTopkProb: Bool?
    public var scoringFunc: String?
    public var routedScalingFactor: Double?
    public var nGroup: Int?
    public var topkGroup: Int?
    public var hiddenAct: String?
    public var hiddenSize: Int?
    public var numHiddenLayers: Int?
    public var moeIntermediateSize: Int?
    public var intermediateSize: Int?
    public var nSharedExperts: Int?
    public var sharedExpertIntermediateSize: Int?
    public var firstKDenseReplace: Int?
    public var mlpOnlyLayers: [Int]?
    public var decoderSparseStep: Int?
    public var numAttentionHeads: Int?
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    /// The whole `config.json` text when it came embedded in another container (an HDF5
    /// attribute) rather than from a file on disk; writers that carry `config.json` over use it
    /// instead of reading `ConfigSource.file`. Not a JSON field.
    public var embeddedText: String?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case numExperts = "num_experts"
        case numLocalExperts = "num_local_experts"
        case nRoutedExperts = "n_routed_experts"
        case numExpertsPerTok = "num_experts_per_tok"
        case normTopkProb = "norm_topk_prob"
        case scoringFunc = "scoring_func"
        case routedScalingFactor = "routed_scaling_factor"
        case nGroup = "n_group"
        case topkGroup = "topk_group"
        case hiddenAct = "hidden_act"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case moeIntermediateSize = "moe_intermediate_size"
        case intermediateSize = "intermediate_size"
        case nSharedExperts = "n_shared_experts"
        case sharedExpertIntermediateSize = "shared_expert_intermediate_size"
        case firstKDenseReplace = "first_k_dense_replace"
        case mlpOnlyLayers = "mlp_only_layers"
        case decoderSparseStep = "decoder_sparse_step"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim"
    }

    /// Reads `config.json`; a malformed file is an error naming the file and the JSON path.
    public static func load(path: String) throws -> HFConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError.unreadable(file: path, reason: "\(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(HFConfig.self, from: data)
        } catch let error as DecodingError {
            throw ConfigError(decoding: error, file: path)
        } catch {
            throw ConfigError.invalid(file: path, path: "", reason: "\(error)")
        }
    }

    /// The family, when `model_type` names one moe-ckpt knows.
    public var family: HFLayout.Family? { modelType.flatMap(HFLayout.Family.init(rawValue:)) }

    /// The expert count under whichever alias the file uses.
    public var expertCount: Int? { nRoutedExperts ?? numLocalExperts ?? numExperts }

    /// The routing config this family's HF forward uses (`modeling_<family>.py` @ v5.23.0).
    public var moeConfig: MoEConfig {
        var config = MoEConfig(topK: numExpertsPerTok)
        switch family {
        case .deepseekV3, .glm4MoE:
            // transformers hard-wires sigmoid + correction bias + group-limited top-k here;
            // absent fields take DeepseekV3Config's defaults.
            config.scoreFunction = scoringFunc.flatMap(ScoreFunction.init(rawValue:)) ?? .sigmoid
            config.normalizeTopK = normTopkProb ?? true
            config.scalingFactor = routedScalingFactor ?? 2.5
            let groups = nGroup ?? 8
            if groups > 1 {
                config.numGroups = groups
                config.groupTopK = topkGroup ?? 4
            }
        case .qwen3MoE, .olmoe:
            config.scoreFunction = .softmax
            config.normalizeTopK = normTopkProb ?? false
            config.scalingFactor = 1.0
        case .qwen3Next:
            config.scoreFunction = .softmax
            config.normalizeTopK = normTopkProb ?? true
            config.scalingFactor = 1.0
        case .mixtral, .fusedV5:
            config.scoreFunction = .softmax
            config.normalizeTopK = true
            config.scalingFactor = 1.0
        case nil:
            config.normalizeTopK = normTopkProb
            config.scalingFactor = routedScalingFactor
        }
        if hiddenAct == "silu" { config.activation = .swiglu }
        if family != nil { config.sharedCombine = .sum }
        return config
    }
}

/// Errors reading configuration files (`config.json`, `--moe-config`).
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    /// A field has the wrong type or is missing; `path` is the dotted JSON path.
    case invalid(file: String, path: String, reason: String)
    /// A needed routing setting is known from neither the metadata nor an option.
    case missingSetting(setting: String, checkpoint: String)
    /// Settings that cannot hold together (`top_k` above the expert count, ...).
    case inconsistent(file: String, reason: String)

    init(decoding error: DecodingError, file: String) {
        func dotted(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            self = .invalid(file: file, path: dotted(context.codingPath), reason: "type mismatch: \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            self = .invalid(file: file, path: dotted(context.codingPath + [key]), reason: "missing field")
        case .dataCorrupted(let context):
            self = .invalid(file: file, path: dotted(context.codingPath), reason: "not valid JSON")
        @unknown default:
            self = .invalid(file: file, path: "", reason: "\(error)")
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): return "\(file): cannot read: \(reason)"
        case .invalid(let file, let path, let reason):
            return "\(file): \(path.isEmpty ? "" : "'\(path)': ")\(reason)"
        case .missingSetting(let setting, let checkpoint):
            return "\(checkpoint): routing setting '\(setting)' is in neither the checkpoint's metadata nor the options (pass --\(setting.replacingOccurrences(of: "_", with: "-")) or --moe-config)"
        case .inconsistent(let file, let reason): return "\(file): \(reason)"
        }
    }
}
