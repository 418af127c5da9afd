// libFuzzer entry for moe-ckpt's parsers (`swift-platform.md` §5). Build and run with
// `scripts/fuzz/run.sh TARGET`; a plain `swift build` compiles this as an empty program.
#if FUZZING
import Foundation
import MoECheckpoint

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The target is chosen by the MOE_CKPT_FUZZ_TARGET environment variable. With
/// MOE_CKPT_FUZZ_SEEDS=DIR the program writes the target's synthesized seeds into DIR and exits
/// (`scripts/fuzz/seed.sh`).
nonisolated(unsafe) var fuzzTarget = FuzzTarget.safetensorsHeader

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_cdecl("FuzzParsers_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    if let name = ProcessInfo.processInfo.environment["MOE_CKPT_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) {
        fuzzTarget = target
    }
    if let folder = ProcessInfo.processInfo.environment["MOE_CKPT_FUZZ_SEEDS"] {
        for seed in FuzzSeeds.synthesized(for: fuzzTarget) {
            FileManager.default.createFile(atPath: folder + "/" + seed.name, contents: Data(seed.bytes))
        }
        return 0
    }
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
}
#endif
