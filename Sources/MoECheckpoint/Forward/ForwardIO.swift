/// The files of `moe-ckpt forward`: the input tensor `x` `[T, D]` of any float dtype, and the
/// output `y`, `topk_idx`, `topk_w` (`cli.md`).
public enum ForwardIO {
    /// The input key.
    public static let inputKey = "x"

    /// Reads `x` from `path` as float32 and checks it against a layer of width `hiddenSize`.
    public static func readInput(_ path: String, hiddenSize: Int) throws -> (x: [Float], tokens: Int) {
        let file = try SafetensorsFile(path: path)
        guard let tensor = file.tensor(named: inputKey) else {
            throw ForwardError.missingInput(file: path, key: inputKey, found: file.entries().map(\.key))
        }
        guard tensor.dtype.isFloatingPoint else { throw ForwardError.inputDType(file: path, key: inputKey, found: tensor.dtype) }
        guard tensor.shape.count == 2, tensor.shape[1] == hiddenSize else {
            throw ForwardError.inputShape(file: path, key: inputKey, expected: "[T, \(hiddenSize)] (the layer's hidden size)", found: tensor.shape)
        }
        return (try WeightFloats.array(tensor), tensor.shape[0])
    }

    /// The output tensors: `y` `[T, D]` float32, `topk_idx` `[T, k]` int64, `topk_w` `[T, k]` float32.
    public static func outputTensors(_ result: MoEForwardResult) -> [SafetensorsWriter.Item] {
        let k = result.routing.topK
        let indices = result.routing.indices.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }
        return [
            ("y", InMemoryTensor(floats: result.y, shape: [result.tokens, result.hiddenSize])),
            ("topk_idx", InMemoryTensor(dtype: .int64, shape: [result.tokens, k], bytes: indices)),
            ("topk_w", InMemoryTensor(floats: result.routing.weights, shape: [result.tokens, k])),
        ]
    }

    /// Writes the output atomically: a temporary sibling renamed into place, removed on failure.
    /// An existing output is replaced; `inputs` may never be overwritten.
    public static func writeOutput(_ result: MoEForwardResult, to path: String, inputs: [String]) throws {
        let output = try AtomicOutput(destination: path, force: true, sources: inputs)
        do {
            try SafetensorsWriter.write(outputTensors(result), to: output.temporary)
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }
}
