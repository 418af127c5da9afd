/// Megatron-LM's `args` (an `argparse.Namespace`) as pickle data: its fields as JSON for
/// `MegatronArgs`, and a Namespace built from a routing config when the source had none.
enum MegatronArgsPickle {
    /// The attribute dict of a pickled `argparse.Namespace`.
    static func attributes(_ value: PickleValue?) -> PickleDict? {
        guard case .object(let instance)? = value, instance.callable.className == "argparse.Namespace" else { return nil }
        return instance.state?.dictValue
    }

    /// The Namespace's fields that have a JSON form (numbers, strings, lists of them, enum
    /// values, dtype names); opaque ones are left out.
    static func fields(_ namespace: PickleValue?) -> JSONObject? {
        guard let attributes = attributes(namespace) else { return nil }
        var entries: [(key: String, value: JSONValue)] = []
        for (key, value) in attributes.items {
            guard let name = key.stringValue, let json = json(value, depth: 0) else { continue }
            entries.append((name, json))
        }
        return JSONObject(entries)
    }

    static func json(_ value: PickleValue, depth: Int) -> JSONValue? {
        guard depth < 8 else { return nil }
        switch value {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(String(i))
        case .float(let bits): return .double(Double(bitPattern: bits))
        case .string(let s): return .string(s)
        case .tuple(let items): return .array(items.compactMap { json($0, depth: depth + 1) })
        case .list(let list): return .array(list.items.compactMap { json($0, depth: depth + 1) })
        case .global(let module, let name): return .string(module + "." + name)
        case .reduce(let instance):
            // Enum members pickle as `EnumClass(value)`: keep the value.
            if let args = instance.args.sequenceItems, args.count == 1 { return json(args[0], depth: depth + 1) }
            return nil
        default: return nil
        }
    }

    /// A Namespace holding the fields Megatron's MoE needs, for outputs whose source had no
    /// `args` (`MegatronArgs.fieldNames` are the names it reads back).
    static func namespace(
        moe: MoEConfig, dims: MoELayerDims?, layers: Int, moeLayers: [Int], expertParallel: Int, heads: AttentionHeads? = nil
    ) -> PickleValue {
        let state = PickleDict()
        if let heads {
            state.set("num_attention_heads", .integer(heads.heads))
            state.set("group_query_attention", .bool(heads.groups != heads.heads))
            state.set("num_query_groups", .integer(heads.groups))
            state.set("kv_channels", .integer(heads.headDim))
        }
        state.set("num_layers", .integer(layers))
        if let dims {
            state.set("hidden_size", .integer(dims.hiddenSize))
            state.set("num_experts", .integer(dims.numExperts))
            state.set("moe_ffn_hidden_size", dims.ffnHiddenSize.map(PickleValue.integer) ?? .none)
            state.set("moe_shared_expert_intermediate_size", dims.sharedFFNHiddenSize.map(PickleValue.integer) ?? .none)
        }
        state.set("moe_layer_freq", moeLayers.count == layers ? .int(1) : .list(PickleList((0..<layers).map { .int(moeLayers.contains($0) ? 1 : 0) })))
        state.set("moe_router_topk", moe.topK.map(PickleValue.integer) ?? .none)
        state.set("moe_router_score_function", .string(moe.scoreFunction?.rawValue ?? "softmax"))
        state.set("moe_router_pre_softmax", .bool(moe.scoreFunction == .softmax && moe.normalizeTopK == false))
        state.set("moe_router_topk_scaling_factor", moe.scalingFactor.flatMap { $0 == 1 ? nil : PickleValue.double($0) } ?? .none)
        state.set("moe_router_num_groups", moe.numGroups.map(PickleValue.integer) ?? .none)
        state.set("moe_router_group_topk", moe.groupTopK.map(PickleValue.integer) ?? .none)
        state.set("swiglu", .bool(moe.activation == .swiglu))
        state.set("squared_relu", .bool(moe.activation == .relu2))
        state.set("expert_model_parallel_size", .integer(expertParallel))
        state.set("tensor_model_parallel_size", .int(1))
        state.set("pipeline_model_parallel_size", .int(1))
        state.set("ckpt_format", .string("torch_dist"))
        return .object(PickleInstance(callable: .global(module: "argparse", name: "Namespace"), args: .tuple([]), state: .dict(state)))
    }
}
