import ArgumentParser
import MoECheckpoint

extension RoutingFlavor.Name: ExpressibleByArgument {}

/// `--flavor`: whose routing rules the embedded forward follows. By default each checkpoint
/// follows the framework that wrote it (Megatron, OLMo-core, or NeMo for the nemo and hf layouts).
struct FlavorOptions: ParsableArguments {
    @Option(help: "Routing rules to reproduce (megatron, olmo, nemo-hf); default: the checkpoint's own framework.")
    var flavor: RoutingFlavor.Name?
}
