import Foundation
import Testing

@testable import MoECheckpoint

@Suite("HDF5 round trips")
struct HDF5RoundTripTests {
    @Test("every dtype, scalars, empty tensors and awkward keys come back bit-identical", arguments: [false, true])
    func syntheticRoundTrip(compress: Bool) throws {
        let scratch = try TemporaryFolder()
        let dict = try SyntheticStateDict.all()
        let path = scratch.path("synthetic.h5")
        try SyntheticStateDict.write(dict, to: path, compress: compress)
        let back = try CheckpointReaders.open(path)
        #expect(back.format == .hdf5)
        #expect(back.stateDict.keys == dict.keys, "keys_json keeps checkpoint order")
        try TensorCompare.expectIdentical(back.stateDict, dict, "synthetic")
    }

    @Test("keys become groups per component unless they cannot")
    func keyPaths() throws {
        let keys = ["a.b", "a.b.c", "x.y.z", "x.y", "slash/in.key", "double..dot", "__reserved.top", "m.0.w", ".lead"]
        let paths = try HDF5KeyPaths.plan(keys, file: "f.h5")
        #expect(paths == ["/a/b", "/__flat__/1", "/x/y/z", "/__flat__/3", "/__flat__/4", "/__flat__/5", "/__flat__/6", "/m/0/w", "/__flat__/8"])
        #expect(throws: HDF5Error.invalidKey(file: "f.h5", key: "n\0ul", reason: "it contains a NUL byte")) {
            try HDF5KeyPaths.plan(["n\0ul"], file: "f.h5")
        }
    }

    @Test("chunks cover whole trailing rows up to about 1 MiB")
    func chunks() {
        #expect(HDF5Writer.chunkShape([8, 64, 32], elementSize: 4) == [8, 64, 32])
        #expect(HDF5Writer.chunkShape([64, 2048, 1024], elementSize: 2) == [1, 512, 1024])
        #expect(HDF5Writer.chunkShape([10_000_000], elementSize: 4) == [262_144])
    }

    @Test("one expert's slice of a stacked tensor reads only its rows")
    func expertSlice() throws {
        let scratch = try TemporaryFolder()
        let dict = try SyntheticStateDict.all()
        let key = "decoder.layers.0.mlp.experts.linear_fc1.weight"
        for compress in [false, true] {
            let path = scratch.path("slice-\(compress).h5")
            try SyntheticStateDict.write(dict, to: path, compress: compress)
            let tensor = try #require(CheckpointReaders.open(path).stateDict[key]?.source as? HDF5Tensor)
            let whole = try tensor.bytes()
            let rowBytes = 64 * 16 * 2
            for expert in [0, 3, 7] {
                let slice = try tensor.rows(expert..<expert + 1)
                #expect(slice.shape == [1, 64, 16])
                #expect(try slice.bytes() == Array(whole[expert * rowBytes..<(expert + 1) * rowBytes]))
            }
            #expect(try tensor.rows(2..<6).bytes() == Array(whole[2 * rowBytes..<6 * rowBytes]))
            #expect(throws: HDF5Error.sliceOutOfRange(file: path, key: key, rows: 7..<9, dimension: 8)) { try tensor.rows(7..<9) }
        }
    }

    @Test("every safetensors fixture survives HDF5 bit for bit", .enabled(if: !HDF5Fixtures.safetensorsFiles.isEmpty, HDF5Fixtures.absentMessage))
    func fixtureStateDicts() throws {
        let scratch = try TemporaryFolder()
        var bf16 = 0
        for (index, fixture) in HDF5Fixtures.safetensorsFiles.enumerated() {
            let source = try CheckpointReaders.open(fixture).stateDict
            bf16 += source.entries.filter { $0.dtype == .bfloat16 }.count
            for compress in [false, true] {
                let path = scratch.path("\(index)-\(compress).h5")
                try SyntheticStateDict.write(source, to: path, compress: compress)
                let back = try CheckpointReaders.open(path).stateDict
                #expect(back.keys == source.keys, "\(fixture): order")
                try TensorCompare.expectIdentical(back, source, fixture)
            }
        }
        print("HDF5 round trip: \(HDF5Fixtures.safetensorsFiles.count) safetensors fixtures, \(bf16) bf16 tensors")
    }

    @Test(
        "convert to HDF5 and back keeps tensors, layout and routing config",
        .enabled(if: !HDF5Fixtures.checkpoints.isEmpty, HDF5Fixtures.absentMessage))
    func fixtureConversions() throws {
        let scratch = try TemporaryFolder()
        var converted = 0
        for (index, fixture) in HDF5Fixtures.checkpoints.enumerated() {
            let source = try CheckpointReaders.open(fixture)
            // Skip activations, canonical tensors and deliberately incomplete files.
            guard let sourceReport = try? InspectReport(checkpoint: source), ExpertAudit.problems(in: sourceReport.layout).isEmpty else { continue }
            let layout = sourceReport.layout.table.layout
            for compress in [false, true] {
                let h5 = scratch.path("\(index)-\(compress).h5")
                _ = try Converter.run(ConvertOptions(source: fixture, destination: h5, targetLayout: layout, targetFormat: .hdf5, compress: compress))
                let hdf5 = try CheckpointReaders.open(h5)
                let report = try InspectReport(checkpoint: hdf5)
                let (lhs, rhs) = (sourceReport.json(includeTensors: false).objectValue!, report.json(includeTensors: false).objectValue!)
                for field in ["framework", "moe", "moe_layers", "tensors", "bytes", "variant"] {
                    #expect(lhs[field] == rhs[field], "\(fixture): inspect '\(field)' differs after HDF5")
                }
                try TensorCompare.expectIdentical(hdf5.stateDict, source.stateDict, "\(fixture) → h5")

                let singleFile = fixture.hasSuffix(".safetensors")
                let back = scratch.path("\(index)-\(compress)-back" + (singleFile ? ".safetensors" : ""))
                _ = try Converter.run(ConvertOptions(source: h5, destination: back, targetLayout: layout, targetFormat: .safetensors))
                let returned = try CheckpointReaders.open(back)
                try TensorCompare.expectIdentical(returned.stateDict, source.stateDict, "\(fixture) → h5 → safetensors")
                if !singleFile {
                    // A single safetensors file has no place for config.json; a folder gets it back.
                    #expect(try InspectReport(checkpoint: returned).moe == sourceReport.moe, "\(fixture): routing after the way back")
                }
            }
            converted += 1
        }
        print("HDF5 conversions: \(converted) of \(HDF5Fixtures.checkpoints.count) safetensors fixtures are checkpoints in a known layout")
        #expect(converted > 0, "no fixture was a checkpoint in a known layout")
    }

    @Test("an HF config.json survives HF → HDF5 → HF byte for byte", .enabled(if: !HDF5Fixtures.checkpoints.isEmpty, HDF5Fixtures.absentMessage))
    func configJSONSurvives() throws {
        let scratch = try TemporaryFolder()
        let folders = HDF5Fixtures.checkpoints.filter { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("config.json")) }
        for (index, folder) in folders.prefix(3).enumerated() {
            guard let layout = try? InspectReport(checkpoint: CheckpointReaders.open(folder)).layout.table.layout, layout == .hf else { continue }
            let h5 = scratch.path("\(index).h5")
            let back = scratch.path("\(index)-back")
            _ = try Converter.run(ConvertOptions(source: folder, destination: h5, targetLayout: .hf, targetFormat: .hdf5))
            _ = try Converter.run(ConvertOptions(source: h5, destination: back, targetLayout: .hf, targetFormat: .safetensors))
            let original = try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("config.json")))
            let copied = try Data(contentsOf: URL(fileURLWithPath: (back as NSString).appendingPathComponent("config.json")))
            #expect(original == copied, "\(folder): config.json")
        }
    }
}
