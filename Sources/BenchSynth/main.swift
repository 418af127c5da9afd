// Makes synthetic but realistic MoE checkpoints for the benchmarks (scripts/bench), with the
// project's own writer: HF DeepSeek-V3-style keys, bf16 weights, float32 expert bias, many
// layers and experts. Tensor bytes are generated on demand, so memory stays at one tensor.
import Foundation
import MoECheckpoint

/// Deterministic pseudo-random bf16 values in about [-0.06, 0.06], generated when written.
struct SyntheticTensor: TensorSource {
    let dtype: DType
    let shape: [Int]
    let seed: UInt64

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var state = seed | 1
        var buffer = [UInt8](repeating: 0, count: byteCount)
        buffer.withUnsafeMutableBytes { raw in
            if dtype == .bfloat16 {
                let words = raw.bindMemory(to: UInt16.self)
                for i in words.indices {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    words[i] = 0x3D00 | UInt16(truncatingIfNeeded: state & 0x80FF)
                }
            } else {
                let words = raw.bindMemory(to: Float.self)
                for i in words.indices {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    words[i] = Float(Int64(bitPattern: state) % 1000) * 1e-5
                }
            }
        }
        return try buffer.withUnsafeBytes(body)
    }
}

let arguments = CommandLine.arguments
func value(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
guard let outIndex = arguments.firstIndex(of: "--out"), outIndex + 1 < arguments.count else {
    FileHandle.standardError.write(Data("usage: BenchSynth --out DIR [--layers N] [--experts E] [--hidden D] [--ffn F] [--vocab V]\n".utf8))
    exit(2)
}
let out = arguments[outIndex + 1]
let layers = value("--layers", 4), experts = value("--experts", 64), hidden = value("--hidden", 2048)
let ffn = value("--ffn", 1408), vocab = value("--vocab", 32000), sharedFFN = value("--shared-ffn", 2816)

/// The tensors of the synthetic model, each with its own seed.
struct SyntheticModel {
    var entries: [TensorEntry] = []
    var seed: UInt64 = 1

    mutating func add(_ key: String, _ shape: [Int], _ dtype: DType = .bfloat16) {
        seed &+= 0x9E37_79B9_7F4A_7C15
        entries.append(TensorEntry(key: key, source: SyntheticTensor(dtype: dtype, shape: shape, seed: seed), file: "synthetic"))
    }
}

var model = SyntheticModel()
model.add("model.embed_tokens.weight", [vocab, hidden])
for l in 0..<layers {
    let p = "model.layers.\(l)."
    model.add(p + "input_layernorm.weight", [hidden])
    model.add(p + "post_attention_layernorm.weight", [hidden])
    for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] { model.add(p + "self_attn.\(proj).weight", [hidden, hidden]) }
    model.add(p + "mlp.gate.weight", [experts, hidden])
    model.add(p + "mlp.gate.e_score_correction_bias", [experts], .float32)
    for e in 0..<experts {
        model.add(p + "mlp.experts.\(e).gate_proj.weight", [ffn, hidden])
        model.add(p + "mlp.experts.\(e).up_proj.weight", [ffn, hidden])
        model.add(p + "mlp.experts.\(e).down_proj.weight", [hidden, ffn])
    }
    model.add(p + "mlp.shared_experts.gate_proj.weight", [sharedFFN, hidden])
    model.add(p + "mlp.shared_experts.up_proj.weight", [sharedFFN, hidden])
    model.add(p + "mlp.shared_experts.down_proj.weight", [hidden, sharedFFN])
}
model.add("model.norm.weight", [hidden])
model.add("lm_head.weight", [vocab, hidden])

do {
    let stateDict = try StateDict(model.entries)
    let moe = MoEConfig(topK: 8, scoreFunction: .sigmoid, normalizeTopK: true, scalingFactor: 2.5, activation: .swiglu, sharedCombine: .sum)
    let request = WriteRequest(layout: .hf, table: HFLayout.table(.deepseekV3), stateDict: stateDict, moe: moe)
    let output = try AtomicOutput(destination: out, force: true, sources: [])
    try SafetensorsCheckpointWriter.write(request, to: output.temporary)
    try output.commit()
    print("wrote \(out): \(stateDict.count) tensors, \(stateDict.totalBytes) bytes")
} catch {
    FileHandle.standardError.write(Data("BenchSynth: \(error)\n".utf8))
    exit(2)
}
