/// One case per rule of a Megatron legacy checkpoint folder (`formats.md` §1.9,
/// `layouts-megatron.md` §4.1, §5) that a source can break.
public enum MegatronLegacyError: Error, Equatable, Sendable {
    /// `latest_checkpointed_iteration.txt` is not an iteration number or `release`.
    case invalidTracker(file: String, found: String)
    /// The iteration folder the tracker names does not exist.
    case missingIteration(path: String, folder: String)
    /// An iteration folder without any `mp_rank_*/model_optim_rng.pt`.
    case noRankFiles(folder: String)
    /// A rank folder whose name is not `mp_rank_TT[_PPP][_EEE]`, or disagrees with `args`.
    case invalidRankFolder(folder: String, name: String, expected: String)
    /// A rank file that must exist for the parallel sizes is absent.
    case missingRankFile(folder: String, name: String, reason: String)
    /// A parallel layout this build does not merge: expert tensor parallel ≠ tensor parallel,
    /// virtual pipeline stages, or tensor parallel files without `args` to say how to split.
    case unsupportedParallelism(path: String, reason: String)
    /// A tensor whose tensor-parallel split is not known (a Megatron parameter type this build
    /// does not list), so its shards cannot be merged safely.
    case unknownTensorParallelSplit(file: String, key: String)
    /// The tensor-parallel shards of one tensor disagree (key set, shape or dtype).
    case shardMismatch(file: String, key: String, expected: String, found: String, otherFile: String)
    /// The pipeline stages hold a different number of layers than `args.num_layers`.
    case pipelineLayerCount(folder: String, expected: Int, found: [Int])
    /// A replicated tensor (router, bias, shared expert, norm, ...) differs between rank files.
    case replicaMismatch(file: String, key: String, expected: String, found: String, otherFile: String)
    /// A rank file holds a different number of local experts than `num_experts / EP`.
    case localExpertCount(file: String, layer: Int, expected: Int, found: Int)
    /// A local expert index beyond the rank's share.
    case localExpertOutOfRange(file: String, key: String, expert: Int, localExperts: Int)
    /// A rank file lacks the `model` state dict.
    case missingModel(file: String, found: String)
}

extension MegatronLegacyError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidTracker(let file, let found):
            return "\(file): expected an iteration number or 'release', found '\(found)'"
        case .missingIteration(let path, let folder):
            return "\(path): the tracker names iteration folder '\(folder)', which does not exist"
        case .noRankFiles(let folder):
            return "\(folder): expected mp_rank_*/model_optim_rng.pt files, found none"
        case .invalidRankFolder(let folder, let name, let expected):
            return "\(folder): rank folder '\(name)': expected \(expected)"
        case .missingRankFile(let folder, let name, let reason):
            return "\(folder): missing rank file \(name)/model_optim_rng.pt (\(reason))"
        case .unsupportedParallelism(let path, let reason):
            return "\(path): unsupported parallel layout: \(reason)"
        case .unknownTensorParallelSplit(let file, let key):
            return "\(file): tensor '\(key)': expected a Megatron parameter whose tensor-parallel split is known (linear_qkv, linear_proj, linear_fc1/fc2, embeddings, output layer, norms, router), found none"
        case .shardMismatch(let file, let key, let expected, let found, let otherFile):
            return "\(file): tensor-parallel shard of '\(key)': expected \(expected) as in \(otherFile), found \(found)"
        case .pipelineLayerCount(let folder, let expected, let found):
            return "\(folder): expected \(expected) layers (args num_layers) over the pipeline stages, found \(found.map(String.init).joined(separator: " + ")) = \(found.reduce(0, +))"
        case .replicaMismatch(let file, let key, let expected, let found, let otherFile):
            return "\(file): replicated tensor '\(key)': expected \(expected) as in \(otherFile), found \(found)"
        case .localExpertCount(let file, let layer, let expected, let found):
            return "\(file): layer \(layer): expected \(expected) local experts (num_experts / EP), found \(found)"
        case .localExpertOutOfRange(let file, let key, let expert, let localExperts):
            return "\(file): tensor '\(key)': local expert \(expert), but a rank holds \(localExperts)"
        case .missingModel(let file, let found):
            return "\(file): expected a 'model' state dict at the top level, found \(found)"
        }
    }
}
