import Foundation
@testable import MoECheckpoint

/// Builds modified copies of a one-file HF checkpoint (a folder with `model*.safetensors` and
/// `config.json`), the way a broken converter would write them.
struct CheckpointVariants {
    /// The source folder.
    let source: String
    let entries: [TensorEntry]
    let config: String

    init(_ folder: String) throws {
        let shards = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".safetensors") }.sorted()
        var entries: [TensorEntry] = []
        for shard in shards { entries += try SafetensorsFile(path: (folder as NSString).appendingPathComponent(shard)).entries() }
        source = folder
        self.entries = entries
        config = try String(contentsOfFile: (folder as NSString).appendingPathComponent("config.json"), encoding: .utf8)
    }

    /// The source tensor `key`.
    func tensor(_ key: String) -> any TensorSource { entries.first { $0.key == key }!.source }

    /// Writes the copy into `directory/name`, with `replace` applied to the tensors (a key
    /// mapped to `nil` is dropped) and `editConfig` to `config.json`.
    func write(
        _ name: String, in directory: URL, replace: [String: (any TensorSource)?] = [:], editConfig: (String) -> String = { $0 }
    ) throws -> String {
        let folder = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var items: [SafetensorsWriter.Item] = []
        for entry in entries {
            if let replacement = replace[entry.key] {
                if let replacement { items.append((entry.key, replacement)) }
            } else {
                items.append((entry.key, entry.source))
            }
        }
        try SafetensorsWriter.write(items, to: folder.appendingPathComponent("model.safetensors").path)
        try editConfig(config).write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return folder.path
    }

    /// `W_dᵀ`'s bytes stored under `W_d`'s shape `[D, F]`: what a converter writes when it
    /// copies OLMo's `w2` or NeMo's `down_projs` (both input-major) without transposing.
    static func transposedBytes(_ down: any TensorSource) throws -> InMemoryTensor {
        let (d, f) = (down.shape[0], down.shape[1])
        let values = try WeightFloats.array(down)
        var transposed = [Float](repeating: 0, count: values.count)
        for row in 0..<d {
            for column in 0..<f { transposed[column * d + row] = values[row * f + column] }
        }
        return InMemoryTensor(floats: transposed, shape: [d, f], dtype: down.dtype)
    }
}
