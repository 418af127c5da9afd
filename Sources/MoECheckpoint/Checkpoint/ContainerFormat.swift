/// The on-disk containers of `cli.md`.
public enum ContainerFormat: String, CaseIterable, Sendable, Codable {
    /// Megatron distributed checkpoint folder.
    case torchDist = "torch_dist"
    /// Megatron `iter_*/mp_rank_*/model_optim_rng.pt`.
    case legacy
    /// OLMo-core `stepN/` with `model_and_optim/`.
    case dcp
    /// One safetensors file, or a folder of shards with an index.
    case safetensors
    /// One torch.save zip holding a state dict.
    case pt
    /// One HDF5 file.
    case hdf5

    /// The default container of each layout (`cli.md`).
    public static func defaultFormat(for layout: Layout) -> ContainerFormat {
        switch layout {
        case .megatron: return .torchDist
        case .olmo: return .dcp
        case .nemo, .hf: return .safetensors
        }
    }
}
