import ArgumentParser
import MoECheckpoint

extension Layout: ExpressibleByArgument {}
extension ContainerFormat: ExpressibleByArgument {}
extension ScoreFunction: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension SharedCombine: ExpressibleByArgument {}

/// `--from`: override layout detection.
struct SourceOptions: ParsableArguments {
    @Option(name: .customLong("from"), help: "The source layout, when detection should not decide (megatron, olmo, nemo, hf).")
    var from: Layout?
}

/// The routing options of `cli.md`, shared by every command that needs a routing config.
struct MoEConfigOptions: ParsableArguments {
    @Option(name: .customLong("top-k"), help: "Experts per token.")
    var topK: Int?

    @Option(help: "Router score function (softmax, sigmoid).")
    var score: ScoreFunction?

    @Flag(inversion: .prefixedNo, help: "Divide the selected weights by their sum.")
    var normalize: Bool?

    @Option(help: "Multiply the final routing weights.")
    var scale: Double?

    @Option(help: "Expert groups for group-limited routing.")
    var groups: Int?

    @Option(name: .customLong("group-topk"), help: "Groups kept per token.")
    var groupTopK: Int?

    @Option(help: "Expert activation (swiglu, geglu, quick_geglu, relu2, gelu, silu).")
    var activation: Activation?

    @Option(name: .customLong("shared-combine"), help: "How the shared expert joins: sum, or OLMo-core's olmo mixing.")
    var sharedCombine: SharedCombine?

    @Option(name: .customLong("moe-config"), help: "A JSON file with the routing keys, or an HF or OLMo-core config.json.", completion: .file())
    var moeConfig: String?

    /// The options as a config whose set values override the metadata; `--moe-config` first,
    /// then the individual flags.
    func overrides() throws -> MoEConfig {
        var base = MoEConfig()
        if let moeConfig { base = try MoEConfigFile.load(path: moeConfig) }
        return base.overridden(by: MoEConfig(
            topK: topK, scoreFunction: score, normalizeTopK: normalize, scalingFactor: scale,
            numGroups: groups, groupTopK: groupTopK, activation: activation, sharedCombine: sharedCombine))
    }

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("'--top-k' must be at least 1") }
        if let groups, groups < 1 { throw ValidationError("'--groups' must be at least 1") }
        if let groupTopK, groupTopK < 1 { throw ValidationError("'--group-topk' must be at least 1") }
        if groupTopK != nil && groups == nil && moeConfig == nil { throw ValidationError("'--group-topk' needs '--groups'") }
    }
}
