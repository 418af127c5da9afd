/// How attention splits into heads: what it takes to fuse separate q/k/v projections into
/// Megatron's `linear_qkv` or to cut them back out (`NonMoETable.Join.headGroups`), and what an HF
/// `config.json` must state.
///
/// The shapes alone do not tell it (a `[32, 32]` query is 2 heads of 16 or 4 of 8), so it comes
/// from the metadata, or from a per-head query norm (`[head_dim]`, Qwen3 and Megatron's
/// `q_layernorm`). It is never guessed.
public struct AttentionHeads: Equatable, Sendable {
    /// Query heads.
    public let heads: Int
    /// Key/value heads (query groups).
    public let groups: Int
    public let headDim: Int

    public init?(heads: Int, groups: Int, headDim: Int) {
        guard heads > 0, groups > 0, headDim > 0, heads % groups == 0 else { return nil }
        self.heads = heads
        self.groups = groups
        self.headDim = headDim
    }

    /// From the first source config that states the number of heads; `hiddenSize` gives the head
    /// size where the config leaves it implicit (`hidden / heads`).
    public init?(_ sources: [ConfigSource], hiddenSize: Int?) {
        for source in sources {
            var found: (heads: Int?, groups: Int?, headDim: Int?)
            switch source {
            case .hf(_, let config):
                found = (config.numAttentionHeads, config.numKeyValueHeads ?? config.numAttentionHeads, config.headDim)
            case .megatronArgs(_, let args):
                let heads = args["num_attention_heads"]?.intValue
                let grouped = args["group_query_attention"]?.boolValue == true
                found = (heads, grouped ? args["num_query_groups"]?.intValue : heads, args["kv_channels"]?.intValue)
            case .olmo(_, let config):
                let attention = config["model"]?.objectValue?["block"]?.objectValue?["attention"]?.objectValue
                let heads = attention?["n_heads"]?.intValue
                found = (heads, attention?["n_kv_heads"]?.intValue ?? heads, nil)
            case .recorded(_, _, let heads):
                guard let heads else { continue }
                self = heads
                return
            }
            guard let heads = found.heads, let groups = found.groups,
                let headDim = found.headDim ?? hiddenSize.flatMap({ heads > 0 && $0 % heads == 0 ? $0 / heads : nil })
            else { continue }
            self.init(heads: heads, groups: groups, headDim: headDim)
            return
        }
        return nil
    }

    /// From a per-head query norm: `qRows = heads · headDim`, `kRows = groups · headDim`.
    public init?(queryRows: Int, keyRows: Int, perHeadNormWidth headDim: Int) {
        guard headDim > 0, queryRows % headDim == 0, keyRows % headDim == 0 else { return nil }
        self.init(heads: queryRows / headDim, groups: keyRows / headDim, headDim: headDim)
    }

    /// `{"heads": H, "groups": G, "head_dim": d}`, as moe-ckpt records it beside the tensors.
    public var json: JSONValue {
        .object(JSONObject([("heads", .int(heads)), ("groups", .int(groups)), ("head_dim", .int(headDim))]))
    }

    /// The inverse of `json`.
    public init?(json text: String) {
        guard let object = try? JSONParser().parse(string: text).objectValue, let heads = object["heads"]?.intValue,
            let groups = object["groups"]?.intValue, let headDim = object["head_dim"]?.intValue
        else { return nil }
        self.init(heads: heads, groups: groups, headDim: headDim)
    }

    /// Rows of the query heads of one group, then its key head, then its value head: Megatron's
    /// `linear_qkv` row order (`SelfAttention.get_query_key_value_tensors`: the fused output is viewed
    /// as `[groups, (heads/groups + 2) · head_dim]` and split per group).
    public var groupRows: [Int] { [heads / groups * headDim, headDim, headDim] }
}
