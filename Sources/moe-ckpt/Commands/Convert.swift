import ArgumentParser
import Foundation
import MoECheckpoint

extension DTypeChoice: ExpressibleByArgument {}

extension MoECkpt {
    /// `moe-ckpt convert SRC DST --to LAYOUT [--format FORMAT] [--ep N] [--tp T] [--pp P] [--dtype …] [--force]`.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a checkpoint to another layout or format, streaming tensor by tensor.")

        @Argument(help: "The source checkpoint.", completion: .file())
        var source: String

        @Argument(help: "The destination (must not exist unless --force).", completion: .file())
        var destination: String

        @Option(help: "The target layout (megatron, olmo, nemo, hf).")
        var to: Layout

        @Option(help: "The target container (torch_dist, legacy, dcp, safetensors, pt, hdf5); default per layout.")
        var format: ContainerFormat?

        @Option(help: "Expert-parallel size of the output; the expert count must divide by it.")
        var ep: Int?

        @Option(help: "Tensor-parallel size of Megatron legacy output (GLU linear_fc1 split per half, as Megatron does).")
        var tp: Int?

        @Option(help: "Pipeline-parallel size of Megatron legacy output (layers split uniformly over the stages).")
        var pp: Int?

        @Option(help: "Cast weights (keep, bf16, fp16, fp32); the expert bias always stays float32.")
        var dtype: DTypeChoice = .keep

        @Option(help: "The target table variant: olmo dropless|default; hf deepseek_v3, qwen3_moe, qwen3_next, mixtral, olmoe, glm4_moe; megatron sequential|grouped|te_grouped. Default: what fits the model.")
        var variant: String?

        @Flag(help: "Run 'verify SRC DST' after writing; exit 1 if it finds a difference.")
        var verify = false

        @Flag(help: "Replace DST if it exists.")
        var force = false

        @Flag(help: "Compress the output (hdf5 only: chunked shuffle + deflate; smaller, slower to read).")
        var compress = false

        @Option(help: ArgumentHelp("Write only part I of N (1 ≤ I ≤ N) into a staging folder beside DST; see docs/cluster.md.", valueName: "I/N"))
        var part: String?

        @Flag(help: "After every --part I/N has finished: write the shared metadata and move the result to DST.")
        var finalize = false

        @Option(help: ArgumentHelp("Start a new data file (safetensors shard, DCP .distcp) after this many bytes (default 5000000000).", valueName: "BYTES"))
        var shardSize: Int?

        @OptionGroup var sourceOptions: SourceOptions
        @OptionGroup var routing: MoEConfigOptions

        /// Prints bytes written and throughput on one terminal line.
        static func progressPrinter(start: Date) -> @Sendable (Int, Int) -> Void {
            return { written, total in
                let seconds = max(Date().timeIntervalSince(start), 1e-3)
                let megabytes = Double(written) / 1e6
                let line = String(format: "\r%.1f / %.1f MB, %.0f MB/s", megabytes, Double(total) / 1e6, megabytes / seconds)
                FileHandle.standardError.write(Data(line.utf8))
            }
        }

        func validate() throws {
            if let ep, ep < 1 { throw ValidationError("'--ep' must be at least 1") }
            if let tp, tp < 1 { throw ValidationError("'--tp' must be at least 1") }
            if let pp, pp < 1 { throw ValidationError("'--pp' must be at least 1") }
            if compress && format != .hdf5 { throw ValidationError("'--compress' needs '--format hdf5'") }
            if let shardSize, shardSize < 1 { throw ValidationError("'--shard-size' must be at least 1") }
            if part != nil && finalize { throw ValidationError("'--part' and '--finalize' are separate steps; give one") }
            if part != nil && verify { throw ValidationError("'--verify' needs the whole result; give it to '--finalize'") }
        }

        /// `--part`/`--finalize` as the library's step.
        func clusterStep() throws -> ClusterStep {
            if let part { return .part(try ConvertPart(parsing: part)) }
            return finalize ? .finalize : .whole
        }

        func run() throws {
            let showProgress = isatty(STDERR_FILENO) != 0
            let progress = showProgress ? Self.progressPrinter(start: Date()) : nil
            var options = ConvertOptions(
                source: source, destination: destination, targetLayout: to, targetFormat: format, expertParallel: ep,
                tensorParallel: tp, pipelineParallel: pp,
                dtype: dtype, force: force, sourceLayout: sourceOptions.from, overrides: try routing.overrides(),
                compress: compress, targetVariant: variant)
            options.cluster = try clusterStep()
            options.maxShardBytes = shardSize
            let summary = try Converter.run(options, progress: progress)
            if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
            if !summary.unmapped.isEmpty {
                let shown = summary.unmapped.prefix(12).joined(separator: ", ")
                Diagnostics.warn("\(summary.unmapped.count) non-MoE tensor(s) have no \(to.rawValue) name and were not written: \(shown)\(summary.unmapped.count > 12 ? ", …" : "")")
            }
            if case .part(let part) = options.cluster {
                print("wrote part \(part.label) of \(destination) (\(summary.partFiles) data file(s)); '--finalize' makes it appear once every part has finished")
            } else {
                print("wrote \(destination): \(summary.tensors) tensors, \(summary.bytes) bytes, \(to.rawValue) \(summary.format.rawValue)")
            }
            for warning in summary.warnings { Diagnostics.warn(warning) }
            for note in summary.notes { print("note: \(note)") }
            if verify {
                let report = try Verifier.run(VerifyRequest(a: source, b: destination, overrides: try routing.overrides()))
                print(report.text)
                if !report.passed { throw ExitCode(1) }
            }
        }
    }
}
