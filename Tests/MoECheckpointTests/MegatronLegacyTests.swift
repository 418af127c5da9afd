import Foundation
import Testing
@testable import MoECheckpoint

/// The canonical weights of a fixture case (`canonical.safetensors`) and its layer numbering.
struct CanonicalCase {
    let directory: URL
    let file: SafetensorsFile
    let moeLayers: [Int]
    let multiLayer: Bool

    init(_ directory: URL) throws {
        self.directory = directory
        file = try SafetensorsFile(path: directory.appendingPathComponent("canonical.safetensors").path)
        let json = try JSONParser().parse(Array(try Data(contentsOf: directory.appendingPathComponent("case.json"))))
        moeLayers = json.objectValue?["moe_layers"]?.arrayValue?.compactMap(\.intValue) ?? [0]
        multiLayer = (json.objectValue?["num_layers"]?.intValue ?? 1) > 1
    }

    /// The bytes of canonical tensor `name` of `layer`, or of its slice `index` along the first axis.
    func bytes(_ name: String, layer: Int, index: Int? = nil) throws -> [UInt8]? {
        guard let tensor = file.tensor(named: (multiLayer ? "layers.\(layer)." : "") + name) else { return nil }
        let all = try tensor.bytes()
        guard let index else { return all }
        let stride = all.count / tensor.shape[0]
        return Array(all[index * stride..<(index + 1) * stride])
    }
}

@Suite struct MegatronLegacyTests {
    /// Checks every canonical tensor against the Megatron keys of `stateDict` (`mapping-facts.md`).
    func expectCanonical(_ stateDict: StateDict, _ canonical: CanonicalCase, label: String) throws {
        for layer in canonical.moeLayers {
            let p = "decoder.layers.\(layer).mlp."
            func stored(_ key: String) throws -> [UInt8]? { try stateDict[p + key]?.source.bytes() }
            #expect(try stored("router.weight") == canonical.bytes("W_r", layer: layer), "\(label) W_r")
            #expect(try stored("router.expert_bias") == canonical.bytes("expert_bias", layer: layer), "\(label) expert_bias")
            let experts = try #require(canonical.file.tensor(named: (canonical.multiLayer ? "layers.\(layer)." : "") + "W_u")).shape[0]
            for e in 0..<experts {
                let gate = try canonical.bytes("W_g", layer: layer, index: e) ?? []
                let up = try #require(try canonical.bytes("W_u", layer: layer, index: e))
                #expect(try stored("experts.local_experts.\(e).linear_fc1.weight") == gate + up, "\(label) layer \(layer) expert \(e) fc1")
                #expect(try stored("experts.local_experts.\(e).linear_fc2.weight") == canonical.bytes("W_d", layer: layer, index: e), "\(label) expert \(e) fc2")
            }
            if let sharedUp = try canonical.bytes("S_u", layer: layer) {
                #expect(try stored("shared_experts.linear_fc1.weight") == (try canonical.bytes("S_g", layer: layer) ?? []) + sharedUp, "\(label) shared fc1")
                #expect(try stored("shared_experts.linear_fc2.weight") == canonical.bytes("S_d", layer: layer), "\(label) shared fc2")
                #expect(try stored("shared_experts.gate_weight") == canonical.bytes("S_gate", layer: layer), "\(label) shared gate")
            }
        }
    }

    @Test(.enabled(if: !Fixtures.legacyRoots.isEmpty, "no Megatron legacy fixtures found"))
    func everyLegacyFixtureMergesToTheCanonicalWeights() throws {
        var ep2 = 0
        for (caseDir, root) in Fixtures.legacyRoots {
            let checkpoint = try CheckpointReaders.open(root.path)
            #expect(checkpoint.format == .legacy)
            if checkpoint.parallelism.expertParallel == 2 { ep2 += 1 }
            try expectCanonical(checkpoint.stateDict, try CanonicalCase(caseDir), label: root.path)
            #expect(checkpoint.configSources.contains { if case .megatronArgs = $0 { return true } else { return false } })
            #expect(checkpoint.pickledObjects.stateDict.contains { $0.key.hasSuffix("linear_fc1._extra_state") && $0.value == .none })
        }
        #expect(ep2 > 0, "no EP=2 legacy fixture was read")
    }

    @Test(.enabled(if: Fixtures.legacyRoots.contains { $0.root.lastPathComponent == "legacy_ep2" }, "no EP=2 legacy fixture found"))
    func mergingEP2FilesGivesTheKeyOrderOfAnEP1Run() throws {
        for (caseDir, root) in Fixtures.legacyRoots where root.lastPathComponent == "legacy_ep2" {
            let ep2 = try CheckpointReaders.open(root.path)
            let ep1 = try CheckpointReaders.open(caseDir.appendingPathComponent("megatron/legacy").path)
            #expect(ep2.stateDict.keys == ep1.stateDict.keys, "\(caseDir.lastPathComponent)")
            #expect(ep2.pickledObjects.stateDict.map(\.key) == ep1.pickledObjects.stateDict.map(\.key))
            #expect(ep2.pickledObjects.stateDict.map(\.position) == ep1.pickledObjects.stateDict.map(\.position))
        }
    }

    @Test(.enabled(if: !Fixtures.legacyRoots.isEmpty, "no Megatron legacy fixtures found"))
    func inspectShowsTheRoutingConfigFromArgs() throws {
        let (_, root) = try #require(Fixtures.legacyRoots.first { $0.caseDir.lastPathComponent.hasPrefix("sigmoid_bias_top2_scale1") && $0.root.lastPathComponent == "legacy" })
        let report = try InspectReport(checkpoint: try CheckpointReaders.open(root.path))
        #expect(report.moe.topK == 2)
        #expect(report.moe.scoreFunction == .sigmoid)
        #expect(report.moe.normalizeTopK == true)
        #expect(report.layout.layers.first?.tensor(for: .expertBias) != nil)
    }

    @Test(.enabled(if: Fixtures.legacyRoots.contains { $0.root.lastPathComponent == "legacy_ep2" }, "no EP=2 legacy fixture found"))
    func aMissingExpertRankFileIsReportedByName() throws {
        let (_, root) = try #require(Fixtures.legacyRoots.first { $0.root.lastPathComponent == "legacy_ep2" })
        let folder = try TemporaryFolder()
        let copy = folder.url.appendingPathComponent("ckpt")
        try FileManager.default.copyItem(at: root, to: copy)
        let iteration = copy.appendingPathComponent("iter_0000001")
        try FileManager.default.removeItem(at: iteration.appendingPathComponent("mp_rank_00_001"))
        #expect(caught { try CheckpointReaders.open(copy.path) } as? MegatronLegacyError
            == .missingRankFile(folder: iteration.path, name: "mp_rank_00_001", reason: "tensor parallel 1, pipeline parallel 1 and expert parallel 2 need it"))
    }

    @Test(.enabled(if: !Fixtures.legacyRoots.isEmpty, "no Megatron legacy fixtures found"), arguments: [1, 2])
    func legacyReadWriteReadKeepsEveryTensorBitIdentical(ep: Int) throws {
        let folder = try TemporaryFolder()
        for (index, (caseDir, root)) in Fixtures.legacyRoots.enumerated() {
            let source = try CheckpointReaders.open(root.path)
            let destination = folder.path("out\(index)")
            _ = try Converter.run(ConvertOptions(source: root.path, destination: destination, targetLayout: .megatron, targetFormat: .legacy, expertParallel: ep))
            let written = try CheckpointReaders.open(destination)
            #expect(written.parallelism.expertParallel == ep)
            // A legacy target keeps the source's TP and PP split.
            #expect(written.parallelism.tensorParallel == source.parallelism.tensorParallel)
            #expect(written.parallelism.pipelineParallel == source.parallelism.pipelineParallel)
            #expect(written.files.count == ep * source.parallelism.tensorParallel * source.parallelism.pipelineParallel)
            #expect(written.stateDict.count == source.stateDict.count)
            for entry in source.stateDict.entries {
                let other = try #require(written.stateDict[entry.key], "\(entry.key)")
                #expect(other.shape == entry.shape && other.dtype == entry.dtype)
                #expect(try other.source.bytes() == entry.source.bytes(), "\(entry.key)")
            }
            try expectCanonical(written.stateDict, try CanonicalCase(caseDir), label: destination)
            #expect(written.pickledObjects.stateDict.map(\.key).sorted() == source.pickledObjects.stateDict.map(\.key).sorted())
            // args survive unchanged apart from the expert-parallel size.
            let before = try #require(source.pickledObjects[topLevel: "args"])
            let after = try #require(written.pickledObjects[topLevel: "args"])
            let expected = try #require(MegatronNamespace.updating(before, with: [("expert_model_parallel_size", .integer(ep))]))
            #expect(after == expected, "\(root.path)")
            if source.parallelism.expertParallel == ep { #expect(after == before) }
        }
    }

    @Test func aNamespaceIsBuiltWhenTheSourceHasNoArgs() throws {
        let folder = try TemporaryFolder()
        let d = 4, f = 3, e = 4
        func tensor(_ shape: [Int]) -> InMemoryTensor { InMemoryTensor(floats: (0..<shape.reduce(1, *)).map(Float.init), shape: shape) }
        var entries = [TensorEntry(key: "decoder.layers.0.mlp.router.weight", source: tensor([e, d]), file: "mem")]
        for i in 0..<e {
            entries.append(TensorEntry(key: "decoder.layers.0.mlp.experts.local_experts.\(i).linear_fc1.weight", source: tensor([2 * f, d]), file: "mem"))
            entries.append(TensorEntry(key: "decoder.layers.0.mlp.experts.local_experts.\(i).linear_fc2.weight", source: tensor([d, f]), file: "mem"))
        }
        let stateDict = try StateDict(entries)
        let table = MegatronLayout.table(experts: .sequential, glu: true, layers: .perKey)
        let moe = MoEConfig(topK: 2, scoreFunction: .softmax, normalizeTopK: true, scalingFactor: 1.0, activation: .swiglu)
        try MegatronLegacyWriter.write(WriteRequest(layout: .megatron, table: table, stateDict: stateDict, parallelism: Parallelism(expertParallel: 2), moe: moe), to: folder.path("out"))
        let written = try CheckpointReaders.open(folder.path("out"))
        let report = try InspectReport(checkpoint: written)
        #expect(report.moe.topK == 2 && report.moe.scoreFunction == .softmax && report.moe.normalizeTopK == true)
        #expect(written.parallelism.expertParallel == 2)
        for entry in entries { #expect(try written.stateDict[entry.key]?.source.bytes() == entry.source.bytes()) }
    }
}
