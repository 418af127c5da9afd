import Foundation
@testable import MoECheckpoint

/// Writes a fixture's `canonical.safetensors` (the weights every library was loaded with) as a
/// Hugging Face per-expert checkpoint, so each flavor can run on exactly the weights each
/// library ran on, whether or not a reader for that library's own format exists yet.
enum CanonicalCheckpoint {
    /// A folder holding `model.safetensors` with HF keys (no `config.json`: routing comes from options).
    static func write(_ fixture: FixtureCase, into directory: URL) throws -> String {
        let file = try SafetensorsFile(path: fixture.canonical)
        var items: [SafetensorsWriter.Item] = []
        for layer in fixture.moeLayers {
            let source = fixture.moeLayers.count > 1 || file.tensor(named: "W_r") == nil ? "layers.\(layer)." : ""
            let target = "model.layers.\(layer).mlp."
            func tensor(_ key: String) -> MappedTensor? { file.tensor(named: source + key) }
            items.append((target + "gate.weight", tensor("W_r")!))
            if let bias = tensor("expert_bias") { items.append((target + "gate.e_score_correction_bias", bias)) }
            let e = tensor("W_r")!.shape[0]
            for (key, name) in [("W_g", "gate_proj"), ("W_u", "up_proj"), ("W_d", "down_proj")] {
                guard let stacked = tensor(key) else { continue }
                for expert in 0..<e { items.append((target + "experts.\(expert).\(name).weight", try slice(stacked, expert))) }
            }
            // Qwen3-Next spells a gated shared expert `shared_expert`, DeepSeek-V3 a plain one `shared_experts`.
            let sharedPrefix = tensor("S_gate") != nil ? "shared_expert." : "shared_experts."
            for (key, name) in [("S_g", "gate_proj"), ("S_u", "up_proj"), ("S_d", "down_proj")] {
                if let shared = tensor(key) { items.append((target + sharedPrefix + name + ".weight", shared)) }
            }
            if let gate = tensor("S_gate") { items.append((target + "shared_expert_gate.weight", gate)) }
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("model.safetensors").path
        try SafetensorsWriter.write(items, to: path)
        return directory.path
    }

    /// Expert `e` of a stacked `[E, …]` tensor.
    static func slice(_ stacked: MappedTensor, _ e: Int) throws -> InMemoryTensor {
        let shape = Array(stacked.shape.dropFirst())
        let size = shape.reduce(1, *) * stacked.dtype.byteSize
        let bytes = try stacked.withBytes(in: (e * size)..<((e + 1) * size)) { Array($0) }
        return InMemoryTensor(dtype: stacked.dtype, shape: shape, bytes: bytes)
    }
}
