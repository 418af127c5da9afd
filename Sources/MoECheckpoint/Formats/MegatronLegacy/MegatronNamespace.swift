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

    /// The `args` to write: the source's with `expert_model_parallel_size`, `ckpt_format` and any
    /// changed routing fields updated, or a new Namespace when the source had none.
    public static func forWriting(
        source: PickleValue?, moe: MoEConfig, layout: ResolvedLayout?, expertParallel: Int, paramsDType: DType?,
        heads: AttentionHeads? = nil
    ) throws -> PickleValue {
        let parallel: [(String, PickleValue)] = [
            ("expert_model_parallel_size", .integer(expertParallel)), ("ckpt_format", .string("torch")),
        ]
        if let source, fields(of: source) != nil {
            let json = try PickleJSON.fields(of: source) ?? JSONObject()
            let updates = parallel + routingUpdates(for: moe, existing: MegatronArgs(fields: json))
            if let updated = updating(source, with: updates) { return updated }
        }
        let built = build(moe: moe, layout: layout, expertParallel: expertParallel, paramsDType: paramsDType)
        if let heads {
            // Megatron splits `linear_qkv` by these; a reader of this checkpoint needs them too.
            built.set("num_attention_heads", .integer(heads.heads))
            built.set("group_query_attention", .bool(heads.groups != heads.heads))
            built.set("num_query_groups", .integer(heads.groups))
            built.set("kv_channels", .integer(heads.headDim))
        }
        return make(built)
    }

    /// A Namespace from scratch: parallel sizes, model dims from the tensors, routing from `moe`.
    static func build(moe: MoEConfig, layout: ResolvedLayout?, expertParallel: Int, paramsDType: DType?) -> PickleDict {
        let fields = PickleDict()
        let first = layout?.layers.first?.dims
        let dtype = paramsDType ?? .float32
        let none = PickleValue.none
        let entries: [(String, PickleValue)] = [
            ("tensor_model_parallel_size", .integer(1)),
            ("pipeline_model_parallel_size", .integer(1)),
            ("expert_model_parallel_size", .integer(expertParallel)),
            ("expert_tensor_parallel_size", .integer(1)),
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
            ("ckpt_format", .string("torch")),
        ]
        for (key, value) in entries { fields.set(key, value) }
        return fields
    }
}
