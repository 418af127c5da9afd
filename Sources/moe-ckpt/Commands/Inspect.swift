import ArgumentParser
import MoECheckpoint

extension MoECkpt {
    /// `moe-ckpt inspect PATH [--json] [--tensors]`: metadata only, in milliseconds.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise a checkpoint: layout, format, MoE layers, routing config and totals. Reads metadata only.")

        @Argument(help: "A checkpoint file or folder.", completion: .file())
        var path: String

        @Flag(help: "Print one JSON object.")
        var json = false

        @Flag(help: "Add one row per tensor (key, dtype, shape, file).")
        var tensors = false

        @OptionGroup var source: SourceOptions
        @OptionGroup var routing: MoEConfigOptions

        func run() throws {
            let checkpoint = try CheckpointReaders.open(path)
            let report = try InspectReport(checkpoint: checkpoint, forcedLayout: source.from, overrides: try routing.overrides())
            if json {
                print(JSONWriter.pretty(report.json(includeTensors: tensors)))
            } else {
                print(report.text(includeTensors: tensors))
            }
        }
    }
}
