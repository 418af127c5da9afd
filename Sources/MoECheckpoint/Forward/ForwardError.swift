/// Why a forward cannot run. Every case names the file, the key or layer, what was expected
/// and what was found (`cli.md`: one readable line, exit 2).
public enum ForwardError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input file has no tensor with the input key.
    case missingInput(file: String, key: String, found: [String])
    /// The input tensor does not fit the layer.
    case inputShape(file: String, key: String, expected: String, found: [Int])
    /// The input tensor is not a float tensor.
    case inputDType(file: String, key: String, found: DType)
    /// `--layer` names no MoE layer.
    case noSuchLayer(checkpoint: String, layer: Int, available: [Int])
    /// The checkpoint has no MoE layer at all.
    case noMoELayers(checkpoint: String)
    /// The framework whose flavor runs cannot compute this routing.
    case unsupportedRouting(flavor: String, reason: String)
    /// The activation does not match the expert tensors (a gated activation without gate
    /// projections, or the reverse).
    case activationMismatch(checkpoint: String, layer: Int, subject: String, activation: Activation, reason: String)
    /// A canonical tensor's shape does not match the layer's dimensions.
    case weightShape(checkpoint: String, key: String, expected: [Int], found: [Int])
    /// OpenBLAS, which the forward's products run on, cannot be loaded.
    case blasUnavailable(reason: String)

    public var description: String {
        switch self {
        case .missingInput(let file, let key, let found):
            let listed = found.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
            return "\(file): no input tensor '\(key)' [T, D]; found \(found.isEmpty ? "no tensors" : listed)\(found.count > 8 ? ", …" : "")"
        case .inputShape(let file, let key, let expected, let found):
            return "\(file): tensor '\(key)': expected \(expected), found \(TensorShape.describe(found))"
        case .inputDType(let file, let key, let found):
            return "\(file): tensor '\(key)': expected a float dtype, found \(found.rawValue)"
        case .noSuchLayer(let checkpoint, let layer, let available):
            return "\(checkpoint): layer \(layer) is not an MoE layer; MoE layers are \(available.map(String.init).joined(separator: ", "))"
        case .noMoELayers(let checkpoint):
            return "\(checkpoint): no MoE layer found"
        case .unsupportedRouting(let flavor, let reason):
            return "the \(flavor) routing flavor cannot run \(reason) (choose another with --flavor, or change the routing options)"
        case .activationMismatch(let checkpoint, let layer, let subject, let activation, let reason):
            return "\(checkpoint): layer \(layer) \(subject): activation \(activation.rawValue) \(reason) (pass --activation)"
        case .weightShape(let checkpoint, let key, let expected, let found):
            return "\(checkpoint): \(key): expected \(TensorShape.describe(expected)), found \(TensorShape.describe(found))"
        case .blasUnavailable(let reason):
            return reason
        }
    }
}
