/// The parallel sizes of a legacy checkpoint, from `args` (the folder names alone are
/// ambiguous, gotcha 10), and what the merge needs to know about them.
struct LegacyParallelSizes: Equatable {
    let tensor: Int
    let pipeline: Int
    let expert: Int
    /// Whether `linear_fc1` holds `[G; U]` (`--swiglu`, `--quick-geglu`): split per half under TP.
    let glu: Bool

    init(tensor: Int, pipeline: Int, expert: Int, glu: Bool) {
        self.tensor = tensor
        self.pipeline = pipeline
        self.expert = expert
        self.glu = glu
    }

    /// Reads the sizes from `args`, or guesses them from the folder names when there are none;
    /// refuses the layouts this build does not merge.
    init(args: JSONObject?, files: LegacyRankFiles, path: String) throws {
        tensor = args?["tensor_model_parallel_size"]?.intValue ?? Set(files.files.map(\.tensorRank)).count
        pipeline = args?["pipeline_model_parallel_size"]?.intValue ?? (files.suffixCount == 3 ? 2 : 1)
        expert = args?["expert_model_parallel_size"]?.intValue ?? max(files.lastSuffixValues.count, 1)
        glu = args?["swiglu"]?.boolValue == true || args?["quick_geglu"]?.boolValue == true
        // Megatron-LM defaults ETP to TP (`arguments.py`: `expert_tensor_parallel_size = tensor_model_parallel_size`).
        let expertTensor = args?["expert_tensor_parallel_size"]?.intValue ?? tensor
        guard expertTensor == tensor else {
            throw MegatronLegacyError.unsupportedParallelism(
                path: path, reason: "expert tensor parallel \(expertTensor) differs from tensor parallel \(tensor) (args); only ETP = TP is merged")
        }
        if let virtual = args?["virtual_pipeline_model_parallel_size"]?.intValue, virtual > 1 {
            throw MegatronLegacyError.unsupportedParallelism(
                path: path, reason: "virtual pipeline parallel \(virtual) (args; model0, model1, … chunks) is not merged")
        }
        if tensor > 1, args == nil {
            throw MegatronLegacyError.unsupportedParallelism(
                path: path, reason: "tensor-parallel files without args: cannot tell whether linear_fc1 is a gated [G; U] unit")
        }
    }
}
