import ArgumentParser
import Foundation
import MoECheckpoint

extension MoECkpt {
    /// `moe-ckpt forward CKPT --input X.safetensors --output Y.safetensors [--layer L]`.
    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the embedded float32 forward of one MoE layer on the tensor 'x' [T, D] of a safetensors file.")

        @Argument(help: "The checkpoint.", completion: .file())
        var checkpoint: String

        @Option(help: "A safetensors file holding 'x' [T, D] in any float dtype.", completion: .file())
        var input: String

        @Option(help: "Where to write y [T, D] float32, topk_idx [T, k] int64 and topk_w [T, k] float32.", completion: .file())
        var output: String

        @Option(help: "The MoE layer (default: the first MoE layer).")
        var layer: Int?

        @Flag(help: "Print the routing diagnostics as one JSON object.")
        var json = false

        @OptionGroup var sourceOptions: SourceOptions
        @OptionGroup var routing: MoEConfigOptions
        @OptionGroup var flavorOptions: FlavorOptions

        func run() throws {
            let source = try ForwardCheckpoint(
                path: checkpoint, layout: sourceOptions.from, overrides: try routing.overrides(), flavor: flavorOptions.flavor)
            let forward = try source.forward(layer: layer)
            let (x, tokens) = try ForwardIO.readInput(input, hiddenSize: forward.hiddenSize)
            let result = try forward.run(x, tokens: tokens)
            try ForwardIO.writeOutput(result, to: output, inputs: [checkpoint, input])
            if json {
                print(JSONWriter.pretty(.object(JSONObject([
                    ("layer", .int(result.layer)),
                    ("tokens", .int(result.tokens)),
                    ("top_k", .int(result.routing.topK)),
                    ("num_experts", .int(result.routing.numExperts)),
                    ("flavor", .string(source.flavor.name.rawValue)),
                    ("output", .string(output)),
                    ("diagnostics", result.diagnostics.json),
                ]))))
            } else {
                let d = result.diagnostics
                print("layer \(result.layer): \(result.tokens) tokens, top-\(result.routing.topK) of \(result.routing.numExperts) experts, \(source.flavor.name.rawValue) routing; wrote \(output)")
                print("tokens per expert  " + d.tokensPerExpert.map(String.init).joined(separator: " "))
                print(String(format: "load imbalance %.4f  aux loss %.6g  z-loss %.6g", d.loadImbalance, d.auxLoss, d.zLoss))
            }
        }
    }
}
