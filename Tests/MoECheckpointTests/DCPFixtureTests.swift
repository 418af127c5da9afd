import Foundation
import Testing

@testable import MoECheckpoint

/// torch_dist and OLMo-core DCP checkpoints written by the real libraries: reading them, writing
/// them back at any EP size, and converting into them.
@Suite("DCP fixtures: Megatron torch_dist and OLMo-core")
struct DCPFixtureTests {
    struct Source: CustomStringConvertible, Sendable {
        let caseFolder: URL
        let path: String
        let layout: Layout
        let ep: Int
        var description: String { "\(caseFolder.lastPathComponent)/\(URL(fileURLWithPath: path).pathComponents.suffix(2).joined(separator: "/"))" }
    }

    /// Every `megatron/torch_dist*` save root and `olmo_core/dcp*/step1` folder.
    static let sources: [Source] = [TestSupport.projectFixtures, TestSupport.sharedFixtures].flatMap { root in
        FixtureInspectTests.cases(root).flatMap { name -> [Source] in
            let folder = root.appendingPathComponent(name)
            var found: [Source] = []
            for (dir, layout) in [("megatron", Layout.megatron), ("olmo_core", .olmo)] {
                let base = folder.appendingPathComponent(dir)
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []).sorted()
                for entry in names where entry.hasPrefix(layout == .megatron ? "torch_dist" : "dcp") {
                    let path = layout == .megatron ? base.appendingPathComponent(entry).path : base.appendingPathComponent(entry).appendingPathComponent("step1").path
                    found.append(Source(caseFolder: folder, path: path, layout: layout, ep: entry.hasSuffix("_ep2") ? 2 : 1))
                }
            }
            return found
        }
    }

    @Test("every torch_dist and OLMo DCP fixture reads to the case's canonical weights", arguments: sources)
    func canonicalWeights(source: Source) throws {
        let checkpoint = try CheckpointReaders.open(source.path)
        #expect(checkpoint.format == (source.layout == .megatron ? .torchDist : .dcp))
        #expect(checkpoint.parallelism.expertParallel == source.ep)
        let resolved = try LayoutCatalog.detect(checkpoint)
        #expect(resolved.table.layout == source.layout)
        let info = try CaseInfo(caseFolder: source.caseFolder)
        #expect(resolved.layers.map(\.layer) == info.moeLayers)
        let model = try CanonicalModel(resolved, of: checkpoint, config: MoEConfig())
        try CanonicalReference.expectMatches(model, caseFolder: source.caseFolder, context: source.description)
        if source.layout == .megatron {
            // `args` from common.pt give the routing config.
            let (moe, from) = MoEConfigResolver.fromMetadata(checkpoint, layout: resolved)
            #expect(moe.topK == info.topK, "\(source)")
            #expect(from?.hasSuffix("common.pt") == true)
        }
    }

    @Test("inspect of a torch_dist folder maps no .distcp file; one expert reads only its own chunks", arguments: sources.filter { $0.layout == .megatron })
    func inspectReadsMetadataOnly(source: Source) throws {
        let checkpoint = try CheckpointReaders.open(source.path)
        let report = try InspectReport(checkpoint: checkpoint)
        _ = report.text(includeTensors: true)
        _ = report.json(includeTensors: true)
        let folder = try #require(Self.folder(of: checkpoint))
        #expect(folder.openedDataFiles == 0, "\(source)")
        #expect(folder.tensorItemsRead == 0)
        let model = try CanonicalModel(report.layout, of: checkpoint, config: MoEConfig())
        let layer = try #require(model.layers.last)
        let expert = layer.dims.numExperts - 1
        // fc1 of one expert is its gate and up chunks (one chunk without a GLU), fc2 one more.
        let fc1Chunks = layer.experts[expert].gate == nil ? 1 : 2
        _ = try layer.experts[expert].up.bytes()
        #expect(folder.tensorItemsRead == fc1Chunks, "\(source)")
        _ = try layer.experts[expert].down.bytes()
        #expect(folder.tensorItemsRead == fc1Chunks + 1, "\(source)")
    }

    /// The DCP folder behind a checkpoint's lazy tensors.
    static func folder(of checkpoint: Checkpoint) -> DCPFolder? {
        for entry in checkpoint.stateDict.entries {
            if let tensor = entry.source as? DCPTensor { return tensor.folder }
            if let slice = entry.source as? TensorSlice, let tensor = slice.base as? DCPTensor { return tensor.folder }
        }
        return nil
    }

    @Test("writing a fixture back at EP=1 and EP=2 reads back bit-identical, each expert chunk in its rank's files", arguments: sources)
    func roundTrips(source: Source) throws {
        let original = try CheckpointReaders.open(source.path)
        let dir = try TemporaryFolder().url
        defer { try? FileManager.default.removeItem(at: dir) }
        for ep in [1, 2] {
            let out = dir.appendingPathComponent("ep\(ep)").path
            _ = try Converter.run(ConvertOptions(source: source.path, destination: out, targetLayout: source.layout, expertParallel: ep))
            let copy = try CheckpointReaders.open(out)
            try expectSameTensors(copy.stateDict, original.stateDict, "\(source) at EP=\(ep)")
            #expect(copy.parallelism.expertParallel == ep)
            // Every expert chunk sits in a file of the rank that owns the expert.
            let folder = try #require(Self.folder(of: copy))
            let table = try LayoutCatalog.detect(copy).table
            for (fqn, info) in folder.tensors {
                let expertAxis = source.layout == .megatron ? (fqn.hasPrefix("decoder.layers.mlp.") ? 1 : 0) : 0
                let isExpert = fqn.contains("experts.experts.") || table.match(fqn)?.rule.experts == .stacked
                guard isExpert else { continue }
                let experts = source.layout == .megatron ? info.size[expertAxis] : ep
                for chunk in info.chunks {
                    let rank = source.layout == .megatron ? chunk.offsets[expertAxis] / (experts / ep) : chunk.offsets[0] / (info.size[0] / ep)
                    let file = try #require(folder.metadata.storage[DCPStorageKey(fqn: fqn, offsets: chunk.offsets)]).relativePath
                    #expect(file.hasPrefix("__\(rank)_"), "\(fqn) \(chunk.offsets) in \(file)")
                }
            }
        }
        // And back: the EP=2 output converted to EP=1 equals the original.
        let back = dir.appendingPathComponent("back").path
        _ = try Converter.run(ConvertOptions(source: dir.appendingPathComponent("ep2").path, destination: back, targetLayout: source.layout, expertParallel: 1))
        try expectSameTensors(try CheckpointReaders.open(back).stateDict, original.stateDict, "\(source) EP=2 → EP=1")
    }

    @Test("NeMo's HF export converted to torch_dist and to OLMo DCP equals the real libraries' MoE tensors", arguments: sources.filter { $0.ep == 1 })
    func convertedEqualsLibrary(source: Source) throws {
        let hf = source.caseFolder.appendingPathComponent("nemo_automodel/hf/epoch_0_step_1/model/consolidated").path
        guard FileManager.default.fileExists(atPath: hf) else { return }
        let reference = try CheckpointReaders.open(source.path)
        let referenceLayout = try LayoutCatalog.detect(reference)
        if source.layout == .olmo, referenceLayout.table.variant != OLMoLayout.MoEType.dropless.rawValue { return }
        if source.layout == .olmo, referenceLayout.layers.contains(where: \.hasSharedExpert) { return }
        let out = try TemporaryFolder().url.appendingPathComponent("out").path
        defer { try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        _ = try Converter.run(ConvertOptions(source: hf, destination: out, targetLayout: source.layout, expertParallel: 2))
        let converted = try CheckpointReaders.open(out)
        let moeKeys = referenceLayout.layers.flatMap { $0.tensors.map(\.key) }
        for key in Set(moeKeys) {
            let expected = try #require(reference.stateDict[key])
            let found = try #require(converted.stateDict[key], "\(source): \(key) in the conversion")
            #expect(found.shape == expected.shape && found.dtype == expected.dtype, "\(source): \(key)")
            #expect(try found.source.bytes() == expected.source.bytes(), "\(source): bytes of \(key)")
        }
    }

    func expectSameTensors(_ found: StateDict, _ expected: StateDict, _ context: String) throws {
        #expect(found.keys == expected.keys, "\(context): keys differ")
        for entry in expected.entries {
            guard let other = found[entry.key] else { continue }
            #expect(other.dtype == entry.dtype && other.shape == entry.shape, "\(context): \(entry.key)")
            #expect(try other.source.bytes() == entry.source.bytes(), "\(context): bytes of \(entry.key)")
        }
    }
}

/// Compares a canonical model with a case's `canonical.safetensors` (`layers.{l}.` prefixes
/// for multi-layer cases).
enum CanonicalReference {
    static func expectMatches(_ model: CanonicalModel, caseFolder: URL, context: String) throws {
        let canonical = try SafetensorsFile(path: caseFolder.appendingPathComponent("canonical.safetensors").path)
        let multiLayer = canonical.tensor(named: "W_r") == nil
        for layer in model.layers {
            let prefix = multiLayer ? "layers.\(layer.layer)." : ""
            func expectEqual(_ source: (any TensorSource)?, _ name: String, expert: Int? = nil) throws {
                let tensor = try #require(canonical.tensor(named: prefix + name), "\(prefix + name) in canonical.safetensors")
                var bytes = try tensor.bytes()
                if let expert {
                    let size = bytes.count / tensor.shape[0]
                    bytes = Array(bytes[expert * size..<(expert + 1) * size])
                }
                let found = try #require(source, "\(context): \(name)")
                #expect(found.dtype == tensor.dtype, "\(context): dtype of \(prefix + name)")
                #expect(try found.bytes() == bytes, "\(context): \(prefix + name)\(expert.map { "[\($0)]" } ?? "")")
            }
            try expectEqual(layer.router, "W_r")
            if canonical.tensor(named: prefix + "expert_bias") != nil { try expectEqual(layer.expertBias, "expert_bias") }
            for e in 0..<layer.dims.numExperts {
                if canonical.tensor(named: prefix + "W_g") != nil { try expectEqual(layer.experts[e].gate, "W_g", expert: e) }
                try expectEqual(layer.experts[e].up, "W_u", expert: e)
                try expectEqual(layer.experts[e].down, "W_d", expert: e)
            }
            if let shared = layer.shared {
                try expectEqual(shared.gate, "S_g")
                try expectEqual(shared.up, "S_u")
                try expectEqual(shared.down, "S_d")
                if canonical.tensor(named: prefix + "S_gate") != nil { try expectEqual(shared.outputGate, "S_gate") }
            }
        }
    }
}
