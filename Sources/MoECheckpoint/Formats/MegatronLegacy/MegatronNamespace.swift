/// Megatron-LM's `args` (`argparse.Namespace`) as a pickle value: carried from a source with
/// the fields a new layout changes, or built from scratch with the fields a Megatron run needs
/// to describe the MoE model (`layouts-megatron.md` §4.1).
public enum MegatronNamespace {
    /// The class GLOBAL of `args`.
    static let namespaceClass = PickleValue.global(module: "argparse", name: "Namespace")

    /// A Namespace value with `fields` as its attributes, pickled as Python does
    /// (`Namespace.__new__` + BUILD of the attribute dict).
    public static func make(_ fields: PickleDict) -> PickleValue {
        .object(PickleInstance(callable: namespaceClass, args: .tuple([]), state: .dict(fields)))
    }

    /// The attribute dict of a Namespace value.
    public static func fields(of args: PickleValue) -> PickleDict? {
        guard case .object(let instance) = args, instance.callable == namespaceClass else { return nil }
        return instance.state?.dictValue
    }

    /// A copy of `args` with `updates` applied; the source value is left untouched.
    public static func updating(_ args: PickleValue, with updates: [(String, PickleValue)]) -> PickleValue? {
        guard let source = fields(of: args) else { return nil }
        let copy = PickleDict(source.items)
        for (key, value) in updates where copy[key] != value { copy.set(key, value) }
        return make(copy)
    }

    /// The MoE routing fields for `moe`, only where they differ from what `existing` already
    /// means, so a Namespace that already says the same thing is left byte-for-byte unchanged.
    static func routingUpdates(for moe: MoEConfig, existing: MegatronArgs?) -> [(String, PickleValue)] {
        let current = existing?.moeConfig ?? MoEConfig()
        var updates: [(String, PickleValue)] = []
        if let topK = moe.topK, topK != current.topK { updates.append(("moe_router_topk", .integer(topK))) }
        if let score = moe.scoreFunction, score != current.scoreFunction {
            updates.append(("moe_router_score_function", .string(score.rawValue)))
        }
        if moe.scoreFunction == .softmax, let normalize = moe.normalizeTopK, normalize != current.normalizeTopK {
            updates.append(("moe_router_pre_softmax", .bool(!normalize)))
        }
        if let scale = moe.scalingFactor, scale != current.scalingFactor {
            updates.append(("moe_router_topk_scaling_factor", .double(scale)))
        }
        if let groups = moe.numGroups, groups != current.numGroups {
            updates.append(("moe_router_num_groups", .integer(groups)))
        }
        if let groupTopK = moe.groupTopK, groupTopK != current.groupTopK {
            updates.append(("moe_router_group_topk", .integer(groupTopK)))
        }
        return updates
    }

    /// Fields that describe an uneven or virtual pipeline split; a carried Namespace gets `None` in
    /// those it has, and `decoder_last_pipeline_num_layers` when the writer's split is uneven.
    static let pipelineSplitFields = [
        "decoder_first_pipeline_num_layers", "decoder_last_pipeline_num_layers",
        "num_layers_per_virtual_pipeline_stage", "virtual_pipeline_model_parallel_size", "pipeline_model_parallel_layout",
    ]

    /// The `args` to write: the source's with the parallel sizes (expert tensor parallel = tensor
    /// parallel, as Megatron-LM defaults it), `ckpt_format` and any changed routing fields updated,
    /// or a new Namespace when the source had none.
    public static func forWriting(
        source: PickleValue?, moe: MoEConfig, layout: ResolvedLayout?, parallelism: Parallelism, lastStageLayers: Int? = nil,
        layers: Int? = nil, paramsDType: DType?, heads: AttentionHeads? = nil
    ) throws -> PickleValue {
        var parallel: [(String, PickleValue)] = [
            ("tensor_model_parallel_size", .integer(parallelism.tensorParallel)),
            ("pipeline_model_parallel_size", .integer(parallelism.pipelineParallel)),
            ("transformer_pipeline_model_parallel_size", .integer(parallelism.pipelineParallel)),
            ("expert_model_parallel_size", .integer(parallelism.expertParallel)),
            ("expert_tensor_parallel_size", .integer(parallelism.tensorParallel)),
            ("ckpt_format", .string("torch")),
        ]
        if let source, let existing = fields(of: source) {
            for key in pipelineSplitFields where existing[key] != nil { parallel.append((key, .none)) }
            // Megatron-LM sets it from the pipeline size in `validate_args`; older Namespaces lack it.
            if existing["transformer_pipeline_model_parallel_size"] == nil { parallel.removeAll { $0.0 == "transformer_pipeline_model_parallel_size" } }
            // `None` already means "the tensor-parallel size", whichever is written.
            if existing["expert_tensor_parallel_size"] == PickleValue.none { parallel.removeAll { $0.0 == "expert_tensor_parallel_size" } }
            if let lastStageLayers { parallel.append(("decoder_last_pipeline_num_layers", .integer(lastStageLayers))) }
            let json = try PickleJSON.fields(of: source) ?? JSONObject()
            let updates = parallel + routingUpdates(for: moe, existing: MegatronArgs(fields: json))
            if let updated = updating(source, with: updates) { return updated }
        }
        let built = build(moe: moe, layout: layout, paramsDType: paramsDType)
        // Megatron-LM's loader compares `num_layers` with the run's (`check_checkpoint_args`); the
        // MoE layers alone undercount it.
        if let layers { built.set("num_layers", .integer(layers)) }
        for (key, value) in parallel { built.set(key, value) }
        if let lastStageLayers { built.set("decoder_last_pipeline_num_layers", .integer(lastStageLayers)) }
        setHeads(heads, in: built)
        return make(built)
    }

    /// The head layout, which Megatron splits `linear_qkv` by; a reader of the checkpoint needs it too.
    static func setHeads(_ heads: AttentionHeads?, in fields: PickleDict) {
        guard let heads else { return }
        fields.set("num_attention_heads", .integer(heads.heads))
        fields.set("group_query_attention", .bool(heads.groups != heads.heads))
        fields.set("num_query_groups", .integer(heads.groups))
        fields.set("kv_channels", .integer(heads.headDim))
    }

    /// A Namespace from scratch: model dims from the tensors, routing from `moe` (the caller sets
    /// the parallel sizes). Both Megatron writers (legacy, torch_dist) start from it.
    static func build(moe: MoEConfig, layout: ResolvedLayout?, paramsDType: DType?) -> PickleDict {
        let fields = PickleDict()
        let first = layout?.layers.first?.dims
        let dtype = paramsDType ?? .float32
        let none = PickleValue.none
        let entries: [(String, PickleValue)] = [
            ("num_layers", (layout?.layers.map(\.layer).max()).map { .integer($0 + 1) } ?? none),
            ("hidden_size", first.map { .integer($0.hiddenSize) } ?? none),
            ("num_experts", first.map { .integer($0.numExperts) } ?? none),
            ("moe_ffn_hidden_size", first?.ffnHiddenSize.map { .integer($0) } ?? none),
            ("moe_shared_expert_intermediate_size", first?.sharedFFNHiddenSize.map { .integer($0) } ?? none),
            ("moe_router_topk", moe.topK.map { .integer($0) } ?? .integer(2)),
            ("moe_router_score_function", .string((moe.scoreFunction ?? .softmax).rawValue)),
            ("moe_router_pre_softmax", .bool(moe.scoreFunction == .softmax && moe.normalizeTopK == false)),
            ("moe_router_topk_scaling_factor", moe.scalingFactor.map { .double($0) } ?? none),
            ("moe_router_num_groups", moe.numGroups.map { .integer($0) } ?? none),
            ("moe_router_group_topk", moe.groupTopK.map { .integer($0) } ?? none),
            ("moe_router_enable_expert_bias", .bool(layout?.layers.contains { $0.tensor(for: .expertBias) != nil } ?? false)),
            ("moe_shared_expert_gate", .bool(layout?.layers.contains { $0.tensor(for: .sharedExpertGate) != nil } ?? false)),
            ("moe_router_dtype", .string("fp32")),
            ("moe_grouped_gemm", .bool(false)),
            ("swiglu", .bool((moe.activation ?? .swiglu) == .swiglu)),
            ("squared_relu", .bool(moe.activation == .relu2)),
            ("transformer_impl", .string("local")),
            ("params_dtype", .global(module: "torch", name: dtype.rawValue)),
            ("bf16", .bool(dtype == .bfloat16)),
            ("fp16", .bool(dtype == .float16)),
        ]
        for (key, value) in entries { fields.set(key, value) }
        return fields
    }
}
