import Foundation
import Testing

@testable import MoECheckpoint

/// `inspect` and canonical reading against checkpoints written by NeMo AutoModel itself.
@Suite("NeMo and HF safetensors fixtures")
struct FixtureInspectTests {
    /// Every case folder under `root` (a folder with a `case.json`).
    static func cases(_ root: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("case.json").path) }.sorted()
    }

    static func nemoCheckpoints(_ root: URL) -> [(name: String, path: String, layout: Layout)] {
        cases(root).flatMap { name -> [(String, String, Layout)] in
            let base = root.appendingPathComponent(name).appendingPathComponent("nemo_automodel")
            return [
                (name, base.appendingPathComponent("hf/epoch_0_step_1/model/consolidated").path, Layout.hf),
                (name, base.appendingPathComponent("native/model.safetensors").path, Layout.nemo),
            ]
        }.filter { FileManager.default.fileExists(atPath: $0.1) }
    }

    static var available: [(name: String, path: String, layout: Layout)] {
        nemoCheckpoints(TestSupport.sharedFixtures) + nemoCheckpoints(TestSupport.projectFixtures)
    }

    @Test("inspect finds the layout, experts, router and float32 bias of every NeMo checkpoint")
    func inspectEveryCheckpoint() throws {
        let checkpoints = Self.available
        try #require(!checkpoints.isEmpty, "no NeMo fixtures found")
        for (name, path, layout) in checkpoints {
            let caseInfo = try CaseInfo(caseFolder: URL(fileURLWithPath: path).pathComponents.firstIndex(of: name).map { index in
                URL(fileURLWithPath: "/" + URL(fileURLWithPath: path).pathComponents[1...index].joined(separator: "/"))
            }!)
            let report = try InspectReport(checkpoint: try CheckpointReaders.open(path))
            #expect(report.layout.table.layout == layout, "\(path)")
            #expect(report.layout.layers.map(\.layer) == caseInfo.moeLayers, "\(path)")
            #expect(report.layout.layers.allSatisfy { ($0.tensor(for: .expertGate) != nil) == (caseInfo.activation != "relu2") }, "\(path)")
            #expect(report.layout.layers.allSatisfy { ($0.tensor(for: .sharedExpertGate) != nil) == (caseInfo.shared == "gated") }, "\(path)")
            let layer = try #require(report.layout.layers.first)
            #expect(layer.dims.numExperts == caseInfo.experts)
            #expect(layer.dims.hiddenSize == caseInfo.hidden)
            #expect(layer.dims.ffnHiddenSize == caseInfo.ffn)
            let router = try #require(layer.tensor(for: .routerWeight))
            #expect(router.entry.shape == [caseInfo.experts, caseInfo.hidden])
            if caseInfo.useBias {
                let bias = try #require(layer.tensor(for: .expertBias), "\(path) has a bias")
                #expect(bias.entry.dtype == .float32)
                #expect(bias.entry.shape == [caseInfo.experts])
            } else {
                #expect(layer.tensor(for: .expertBias) == nil)
            }
            #expect(layer.hasSharedExpert == (caseInfo.shared != "none"))
            if layout == .hf { #expect(report.moe.topK == caseInfo.topK) }
        }
    }

    @Test("canonical tensors read from every NeMo layout equal the case's canonical weights")
    func canonicalWeights() throws {
        for (name, path, _) in Self.available {
            let folder = URL(fileURLWithPath: path).pathComponents.firstIndex(of: name).map { index in
                URL(fileURLWithPath: "/" + URL(fileURLWithPath: path).pathComponents[1...index].joined(separator: "/"))
            }!
            let canonical = try SafetensorsFile(path: folder.appendingPathComponent("canonical.safetensors").path)
            let multiLayer = canonical.tensor(named: "W_r") == nil
            let checkpoint = try CheckpointReaders.open(path)
            let model = try CanonicalModel(try LayoutCatalog.detect(checkpoint), of: checkpoint, config: MoEConfig())
            for layer in model.layers {
            let prefix = multiLayer ? "layers.\(layer.layer)." : ""
            func expectEqual(_ source: (any TensorSource)?, _ reference: String, expert: Int? = nil, _ what: String) throws {
                let tensor = try #require(canonical.tensor(named: prefix + reference), "\(prefix + reference) in canonical.safetensors")
                var bytes = try tensor.bytes()
                if let expert {
                    let size = bytes.count / tensor.shape[0]
                    bytes = Array(bytes[expert * size..<(expert + 1) * size])
                }
                let found = try #require(source, "\(what) in \(path)")
                #expect(try found.bytes() == bytes, "\(what) of \(path)")
            }
            try expectEqual(layer.router, "W_r", "router")
            if canonical.tensor(named: prefix + "expert_bias") != nil, layer.expertBias != nil {
                try expectEqual(layer.expertBias, "expert_bias", "bias")
            }
            for e in 0..<layer.dims.numExperts {
                if canonical.tensor(named: prefix + "W_g") != nil { try expectEqual(layer.experts[e].gate, "W_g", expert: e, "gate \(e)") }
                try expectEqual(layer.experts[e].up, "W_u", expert: e, "up \(e)")
                try expectEqual(layer.experts[e].down, "W_d", expert: e, "down \(e)")
            }
            if let shared = layer.shared {
                try expectEqual(shared.gate, "S_g", "shared gate")
                try expectEqual(shared.up, "S_u", "shared up")
                try expectEqual(shared.down, "S_d", "shared down")
                if canonical.tensor(named: prefix + "S_gate") != nil { try expectEqual(shared.outputGate, "S_gate", "shared expert gate") }
            }
            }
        }
    }
}

/// The parts of a fixture's `case.json` the tests need.
struct CaseInfo {
    let experts: Int
    let hidden: Int
    let ffn: Int
    let topK: Int
    let useBias: Bool
    let shared: String
    let activation: String
    let moeLayers: [Int]

    init(caseFolder: URL) throws {
        let data = try Data(contentsOf: caseFolder.appendingPathComponent("case.json"))
        let json = try JSONParser().parse(Array(data))
        let object = json.objectValue!
        experts = object["E"]!.intValue!
        hidden = object["D"]!.intValue!
        ffn = object["F"]!.intValue!
        topK = object["topk"]!.intValue!
        useBias = object["use_bias"]?.boolValue ?? false
        shared = object["shared"]?.stringValue ?? "none"
        activation = object["activation"]?.stringValue ?? "swiglu"
        moeLayers = object["moe_layers"]?.arrayValue?.compactMap(\.intValue) ?? [0]
    }
}
