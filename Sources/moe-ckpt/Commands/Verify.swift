import ArgumentParser
import MoECheckpoint

extension MoECkpt {
    /// `moe-ckpt verify A B [--layer L] [--tokens N] [--seed S] [--rtol R] [--json]`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that two checkpoints hold the same MoE function: structure, expert bias, routing config, and outputs on seeded random tokens.")

        @Argument(help: "The reference checkpoint.", completion: .file())
        var a: String

        @Argument(help: "The checkpoint to check against A.", completion: .file())
        var b: String

        @Option(help: "Only this MoE layer (default: every MoE layer).")
        var layer: Int?

        @Option(help: "Random tokens per layer.")
        var tokens = 64

        @Option(help: "Seed of the random tokens.")
        var seed: UInt64 = 0

        @Option(help: "Tolerance on rel_err = max|yA−yB|/max|yA| (default 1e-5 for float32, 3e-2 for bf16/fp16).")
        var rtol: Double?

        @Flag(help: "Print one JSON object with per-layer rows, mismatches and routing diagnostics.")
        var json = false

        @OptionGroup var routing: MoEConfigOptions
        @OptionGroup var flavorOptions: FlavorOptions

        func validate() throws {
            if tokens < 1 { throw ValidationError("'--tokens' must be at least 1") }
            if let rtol, !(rtol >= 0) { throw ValidationError("'--rtol' must be a non-negative number") }
        }

        func run() throws {
            let report = try Verifier.run(VerifyRequest(
                a: a, b: b, layer: layer, tokens: tokens, seed: seed, rtol: rtol, overrides: try routing.overrides(),
                flavor: flavorOptions.flavor))
            print(json ? JSONWriter.pretty(report.json) : report.text)
            if !report.passed { throw ExitCode(1) }
        }
    }
}
