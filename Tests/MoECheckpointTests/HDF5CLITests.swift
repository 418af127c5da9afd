import Foundation
import Testing

@testable import MoECheckpoint

@Suite("moe-ckpt with HDF5 files")
struct HDF5CLITests {
    @Test("bad HDF5 input exits 2 with one stderr line and no HDF5-DIAG trace", .enabled(if: CLI.binary != nil, "moe-ckpt is not built next to the tests"))
    func badInputExitsTwo() throws {
        let scratch = try TemporaryFolder()
        let text = scratch.path("text.h5")
        try Data("not an hdf5 file\n".utf8).write(to: URL(fileURLWithPath: text))
        let valid = try HDF5HostileTests.validFile(in: scratch)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: valid))
        let cut = scratch.path("cut.h5")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        let lying = try HDF5HostileTests.validFile(in: scratch, name: "lying.h5")
        try HDF5HostileTests.editDataset(lying, "/w") { dataset, scope in try dataset.setStringAttribute("dtype", "int32", scope) }
        let missing = try HDF5HostileTests.validFile(in: scratch, name: "missing.h5")
        try HDF5HostileTests.edit(missing) { file, scope in try file.handle.setStringAttribute("keys_json", "[\"w\",\"n\",\"gone\"]", scope) }

        let cases: [(String, String)] = [
            (text, "not an HDF5 file"), (cut, "truncated HDF5 file"), (lying, "dtype attribute 'int32'"), (missing, "missing tensor 'gone'"),
        ]
        for (path, phrase) in cases {
            for arguments in [["inspect", path], ["convert", path, scratch.path("out"), "--to", "hf", "--format", "safetensors"]] {
                let result = try CLI.run(arguments)
                #expect(result.status == 2, "\(arguments)")
                let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
                #expect(lines.count == 1, "\(arguments): \(result.stderr)")
                #expect(result.stderr.hasPrefix("moe-ckpt: error: \(path): "), "\(result.stderr)")
                #expect(result.stderr.contains(phrase), "\(result.stderr)")
                #expect(!result.stderr.contains("HDF5-DIAG") && !result.stdout.contains("HDF5-DIAG"))
                #expect(!FileManager.default.fileExists(atPath: scratch.path("out")), "no partial output")
            }
        }
    }

    @Test(
        "convert SRC out.h5 --format hdf5 and back, with and without --compress",
        .enabled(if: CLI.binary != nil && !HDF5Fixtures.checkpoints.isEmpty, "moe-ckpt or the fixtures are missing"))
    func convertThroughTheBinary() throws {
        let scratch = try TemporaryFolder()
        let fixture = try #require(
            HDF5Fixtures.checkpoints.first { (try? InspectReport(checkpoint: CheckpointReaders.open($0)).layout.table.layout) == .hf })
        for compress in [false, true] {
            let h5 = scratch.path("out-\(compress).h5")
            let back = scratch.path("back-\(compress)")
            let to = try CLI.run(["convert", fixture, h5, "--to", "hf", "--format", "hdf5"] + (compress ? ["--compress"] : []))
            #expect(to.status == 0, "\(to.stderr)")
            let from = try CLI.run(["convert", h5, back, "--to", "hf", "--format", "safetensors"])
            #expect(from.status == 0, "\(from.stderr)")
            let inspect = try CLI.run(["inspect", h5, "--json"])
            let original = try CLI.run(["inspect", fixture, "--json"])
            let moe = { (text: String) in try JSONParser().parse(string: text).objectValue?["moe"] }
            #expect(try moe(inspect.stdout) == moe(original.stdout))
            #expect(inspect.stdout.contains("\"format\": \"hdf5\""))
            try TensorCompare.expectIdentical(CheckpointReaders.open(back).stateDict, CheckpointReaders.open(fixture).stateDict, fixture)
        }
        let misuse = try CLI.run(["convert", fixture, scratch.path("x"), "--to", "hf", "--compress"])
        #expect(misuse.status == 2 && misuse.stderr.contains("'--compress' needs '--format hdf5'"))
    }
}
