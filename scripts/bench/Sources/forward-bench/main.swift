// Times the embedded MoE forward of one realistic layer against the time to read that layer's
// bytes from disk. Usage: forward-bench DATA_DIR [--experts 64] [--hidden 2048] [--ffn 1408]
// [--top-k 8] [--tokens 64] [--repeats 5]. The checkpoint is generated once into DATA_DIR.
import Foundation
import MoECheckpoint

#if canImport(Glibc)
import Glibc
#endif

struct Settings {
    var experts = 64
    var hidden = 2048
    var ffn = 1408
    var topK = 8
    var tokens = 64
    var repeats = 5
    var directory = "scripts/bench/data"

    init(_ arguments: [String]) {
        var rest = arguments.dropFirst()
        if let first = rest.first, !first.hasPrefix("--") { directory = first; rest = rest.dropFirst() }
        while let flag = rest.popFirst() {
            let value = Int(rest.popFirst() ?? "") ?? 0
            switch flag {
            case "--experts": experts = value
            case "--hidden": hidden = value
            case "--ffn": ffn = value
            case "--top-k": topK = value
            case "--tokens": tokens = value
            case "--repeats": repeats = value
            default: FileHandle.standardError.write(Data("unknown flag \(flag)\n".utf8)); exit(2)
            }
        }
    }

    var folder: String { "\(directory)/moe-E\(experts)-D\(hidden)-F\(ffn)-bf16" }
}

/// Random bf16 weights (std ≈ 0.02), generated on the fly so writing never holds a layer in memory.
struct RandomBF16: TensorSource {
    let shape: [Int]
    let seed: UInt64
    var dtype: DType { .bfloat16 }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var state = seed
        let count = shape.reduce(1, *)
        var bits = [UInt16](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            // Sum of two uniforms in [-0.02, 0.02]: cheap, zero-mean, bounded.
            let a = Float(UInt32(truncatingIfNeeded: state >> 40)) / Float(1 << 24)
            let b = Float(UInt32(truncatingIfNeeded: (state >> 16) & 0xFF_FFFF)) / Float(1 << 24)
            bits[i] = FloatFormats.floatToBFloat16((a + b - 1) * 0.035)
        }
        return try bits.withUnsafeBytes(body)
    }
}

func generate(_ s: Settings) throws {
    let file = "\(s.folder)/model.safetensors"
    if FileManager.default.fileExists(atPath: file) { return }
    try FileManager.default.createDirectory(atPath: s.folder, withIntermediateDirectories: true)
    let p = "model.layers.0.mlp."
    var items: [SafetensorsWriter.Item] = [(p + "gate.weight", RandomBF16(shape: [s.experts, s.hidden], seed: 1))]
    for e in 0..<s.experts {
        items.append((p + "experts.\(e).gate_proj.weight", RandomBF16(shape: [s.ffn, s.hidden], seed: UInt64(3 * e + 2))))
        items.append((p + "experts.\(e).up_proj.weight", RandomBF16(shape: [s.ffn, s.hidden], seed: UInt64(3 * e + 3))))
        items.append((p + "experts.\(e).down_proj.weight", RandomBF16(shape: [s.hidden, s.ffn], seed: UInt64(3 * e + 4))))
    }
    try SafetensorsWriter.write(items, to: file + ".tmp")
    try FileManager.default.moveItem(atPath: file + ".tmp", toPath: file)
    let config = """
        {"model_type": "qwen3_moe", "num_experts": \(s.experts), "num_experts_per_tok": \(s.topK), "norm_topk_prob": true,
         "hidden_size": \(s.hidden), "moe_intermediate_size": \(s.ffn), "hidden_act": "silu"}
        """
    try config.write(toFile: "\(s.folder)/config.json", atomically: true, encoding: .utf8)
}

/// Seconds taken by `body`.
func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Drops the file's pages from the page cache (clean pages; no root needed).
func evict(_ path: String) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    close(fd)
}

/// Reads `path` sequentially with 1 MiB `read` calls (the fastest plain read, swift-platform.md §4).
func readAll(_ path: String) -> Int {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var total = 0
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        total += n
    }
    return total
}

/// CPU seconds used by this process so far (all threads): under a shared, loaded machine the
/// wall time inflates with other people's work, the CPU time much less.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func ms(_ seconds: Double) -> String { String(format: "%7.1f ms", seconds * 1000) }

let settings = Settings(CommandLine.arguments)
let generation = try time { try generate(settings) }
let file = "\(settings.folder)/model.safetensors"
let bytes = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
print("layer: E=\(settings.experts) D=\(settings.hidden) F=\(settings.ffn) k=\(settings.topK), bf16, \(String(format: "%.1f", Double(bytes) / 1e9)) GB; \(settings.tokens) tokens\(generation > 1 ? String(format: " (generated in %.1f s)", generation) : "")")

var random = SeededTokens(seed: 7)
let x = random.normal(count: settings.tokens * settings.hidden)

func forwardOnce() throws -> (open: Double, run: Double, cpu: Double, result: MoEForwardResult) {
    var forward: MoELayerForward!
    let open = try time { forward = try ForwardCheckpoint(path: settings.folder).forward(layer: 0) }
    var result: MoEForwardResult!
    let cpu = cpuSeconds()
    let run = try time { result = try forward.run(x, tokens: settings.tokens) }
    return (open, run, cpuSeconds() - cpu, result)
}

// Cold: nothing of the file in the page cache.
evict(file)
var readCold = 0.0
readCold = time { _ = readAll(file) }
evict(file)
let cold = try forwardOnce()
var readWarm: [Double] = []
var runs: [Double] = []
var opens: [Double] = []
var cpus: [Double] = []
for _ in 0..<settings.repeats {
    readWarm.append(time { _ = readAll(file) })
    let warm = try forwardOnce()
    runs.append(warm.run)
    opens.append(warm.open)
    cpus.append(warm.cpu)
}
var load = [Double](repeating: 0, count: 3)
_ = getloadavg(&load, 3)
print(String(format: "machine load average %.1f on %d cores (wall times inflate when above the core count)", load[0], ProcessInfo.processInfo.activeProcessorCount))
let used = cold.result.diagnostics.tokensPerExpert.filter { $0 > 0 }.count
print("read layer bytes, cold cache   \(ms(readCold))  (\(String(format: "%.2f", Double(bytes) / readCold / 1e9)) GB/s)")
print("read layer bytes, warm cache   \(ms(median(readWarm)))  (median of \(settings.repeats))")
print("forward, cold cache            \(ms(cold.open + cold.run))  (open \(ms(cold.open).trimmingCharacters(in: .whitespaces)), run \(ms(cold.run).trimmingCharacters(in: .whitespaces)))")
print("forward, warm cache            \(ms(median(runs)))  (median of \(settings.repeats), best \(ms(runs.min()!).trimmingCharacters(in: .whitespaces)); open \(ms(median(opens)).trimmingCharacters(in: .whitespaces)))")
print("forward, warm cache, CPU time  \(ms(median(cpus)))  (all threads, median; \(ProcessInfo.processInfo.activeProcessorCount) cores)")
print(String(format: "forward / read (warm)          %.2f×", median(runs) / median(readWarm)))
print(String(format: "forward / read (cold)          %.2f×", (cold.open + cold.run) / readCold))
print("experts used: \(used) of \(settings.experts), \(settings.tokens * settings.topK) assignments")
