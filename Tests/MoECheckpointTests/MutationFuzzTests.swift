import Foundation
import Testing

@testable import MoECheckpoint

/// A short, deterministic mutation run of every fuzz target over the committed fixtures: CI's
/// smoke run. Long coverage-guided runs are `scripts/fuzz/run.sh` (libFuzzer + ASan).
@Suite("mutation fuzzing smoke run")
struct MutationFuzzTests {
    /// Seed inputs per target, from the committed fixtures (as `scripts/fuzz/seed.sh` picks them)
    /// and the harness's own synthesized seeds.
    static func seeds(for target: FuzzTarget) -> [[UInt8]] {
        let root = TestSupport.projectFixtures
        let files = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []).sorted()
        func read(_ wanted: (String) -> Bool) -> [[UInt8]] {
            files.filter(wanted).prefix(12).compactMap { try? Array(Data(contentsOf: root.appendingPathComponent($0))) }
        }
        let smallArchives = { (name: String) in name.hasSuffix(".pt") && !name.contains("/legacy") }
        var seeds: [[UInt8]]
        switch target {
        case .safetensorsHeader: seeds = read { $0.hasSuffix(".safetensors") }
        case .dcpMetadata: seeds = read { $0.hasSuffix("/.metadata") }
        case .zip, .torchSave: seeds = read(smallArchives)
        case .pickle: seeds = read(smallArchives).compactMap(dataPickle) + read { $0.hasSuffix("/.metadata") }
        case .megatronArgs: seeds = read { $0.hasSuffix("common.pt") }.compactMap(dataPickle)
        case .olmoConfig:
            let folder = TestSupport.repoRoot.appendingPathComponent("scripts/fuzz/seeds/olmo-config")
            seeds = ((try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? [])
                .sorted { $0.path < $1.path }.compactMap { try? Array(Data(contentsOf: $0)) }
        case .hdf5: seeds = []
        default: seeds = read { $0.hasSuffix(".json") }
        }
        seeds += FuzzSeeds.synthesized(for: target).map(\.bytes)
        // Archives and HDF5 files are kept whole: cutting them would only test the end-record search.
        return [.zip, .torchSave, .hdf5].contains(target) ? seeds : seeds.map { Array($0.prefix(64 * 1024)) }
    }

    /// `data.pkl` of a torch.save archive.
    static func dataPickle(_ archive: [UInt8]) -> [UInt8]? {
        archive.withUnsafeBytes { bytes in
            guard let zip = try? ZipArchive(file: MappedFile(copying: bytes, path: "seed.pt")) else { return nil }
            return try? zip.readRecord(zip.requireEntry("data.pkl"), limit: 1 << 24)
        }
    }

    /// Flips, overwrites, truncates and inserts bytes, with header-length and digit-aware mutations.
    static func mutate(_ input: [UInt8], _ generator: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        if bytes.isEmpty { return [UInt8.random(in: 0...255, using: &generator)] }
        switch Int.random(in: 0..<6, using: &generator) {
        case 0:
            let i = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
        case 1:
            bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
        case 2:
            let i = Int.random(in: 0..<min(bytes.count, 8), using: &generator)
            bytes[i] = [0x00, 0xFF, 0x7F, 0x80][Int.random(in: 0..<4, using: &generator)]
        case 3:
            let i = Int.random(in: 0..<bytes.count, using: &generator)
            bytes.insert(contentsOf: Array("[{\"9".utf8).shuffled(using: &generator), at: i)
        case 4:
            // Change a digit: offsets and shapes in headers.
            if let i = bytes.indices.filter({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }).randomElement(using: &generator) {
                bytes[i] = UInt8.random(in: 0x30...0x39, using: &generator)
            }
        default:
            let i = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[i] = UInt8.random(in: 0...255, using: &generator)
        }
        return bytes
    }

    @Test("every target has seeds", arguments: FuzzTarget.allCases)
    func seeded(target: FuzzTarget) {
        #expect(!Self.seeds(for: target).isEmpty, "\(target.rawValue) has no seed")
    }

    @Test("every fuzz target survives seeded mutations of the fixtures", arguments: FuzzTarget.allCases)
    func smoke(target: FuzzTarget) {
        var generator = SeededGenerator(seed: 1234)
        let seeds = Self.seeds(for: target)
        let iterations = target == .hdf5 ? 100 : 600
        for i in 0..<iterations {
            guard let seed = seeds.isEmpty ? [] : seeds[i % seeds.count] as [UInt8]? else { continue }
            var input = seed
            for _ in 0..<Int.random(in: 1...4, using: &generator) { input = Self.mutate(input, &generator) }
            input.withUnsafeBytes { target.run($0) }
        }
    }
}
