import Foundation
import Testing

@testable import MoECheckpoint

/// Issue 8's matrix without Python: every checkpoint the real libraries wrote, converted into every
/// other library's layout and format at EP 1 and 2, holds the same MoE tensors as that library's own
/// checkpoint of the case, and shows the same routing. (`scripts/fixtures/check_matrix.py` loads the
/// same outputs with the real libraries.)
@Suite("cross-library matrix against the target libraries' own files")
struct CrossLibraryMatrixTests {
    /// One checkpoint a library wrote (`<lib>/manifest.json` `formats`).
    struct Written: Sendable, CustomTestStringConvertible {
        let fixture: FixtureCase
        let library: String
        let format: String
        let ep: Int
        let path: String

        var testDescription: String { "\(fixture.name)/\(library) \(format) EP\(ep)" }

        static func all(in fixture: FixtureCase) -> [Written] {
            fixture.libraries.flatMap { library in
                FixtureExpectation(fixture: fixture, library: library).formats.map {
                    Written(fixture: fixture, library: library, format: $0.format, ep: $0.ep, path: $0.path)
                }
            }
        }
    }

    /// A target of the matrix: a library's layout and container at an EP size.
    struct Target: Sendable {
        let library: String
        let format: String
        let layout: Layout
        let container: ContainerFormat
        let ep: Int
        /// NeMo's native state dict is one file.
        var fileName: String { format == "nemo_native_safetensors" ? "out.safetensors" : "out" }
    }

    static let targets: [Target] = [
        Target(library: "megatron", format: "megatron_legacy", layout: .megatron, container: .legacy, ep: 1),
        Target(library: "megatron", format: "megatron_legacy", layout: .megatron, container: .legacy, ep: 2),
        Target(library: "megatron", format: "megatron_torch_dist", layout: .megatron, container: .torchDist, ep: 1),
        Target(library: "megatron", format: "megatron_torch_dist", layout: .megatron, container: .torchDist, ep: 2),
        Target(library: "olmo_core", format: "olmo_core_dcp", layout: .olmo, container: .dcp, ep: 1),
        Target(library: "olmo_core", format: "olmo_core_dcp", layout: .olmo, container: .dcp, ep: 2),
        Target(library: "nemo_automodel", format: "hf_safetensors", layout: .hf, container: .safetensors, ep: 1),
        Target(library: "nemo_automodel", format: "nemo_native_safetensors", layout: .nemo, container: .safetensors, ep: 1),
    ]

    static let sources: [Written] = FixtureCatalog.cases.filter { $0.root == "project" }.flatMap(Written.all)

    @Test("converted into every other library's layout and format, EP 1 and 2: the target library's own MoE tensors and the same routing", arguments: sources)
    func matrix(source: Written) throws {
        let dir = try TemporaryFolder().url
        let written = Written.all(in: source.fixture)
        let sourceRouting = try InspectReport(checkpoint: try CheckpointReaders.open(source.path)).moe
        // A source that records no routing (NeMo's native file, an OLMo step without config.json)
        // needs it from the user, as cli.md says.
        let routing = sourceRouting.topK == nil ? source.fixture.routing(for: source.library) : MoEConfig()
        let expectedRouting = sourceRouting.overridden(by: routing)
        var converted = 0
        for (index, target) in Self.targets.enumerated()
        where source.fixture.libraries.contains(target.library) && !(target.format == source.format && target.ep == source.ep) {
            let context = "\(source.testDescription) → \(target.format) EP\(target.ep)"
            // The target library's own checkpoint of this case: same EP if it wrote one, else EP 1.
            guard let reference = written.first(where: { $0.format == target.format && $0.ep == target.ep })
                ?? written.first(where: { $0.format == target.format && $0.ep == 1 })
            else { continue }
            let out = dir.appendingPathComponent("\(index)").appendingPathComponent(target.fileName).path
            try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // OLMo-core's capacity-based MoE is a model choice no other framework records.
            let variant = target.layout == .olmo ? source.fixture.json["olmo_moe_type"]?.stringValue : nil
            _ = try Converter.run(ConvertOptions(
                source: source.path, destination: out, targetLayout: target.layout, targetFormat: target.container,
                expertParallel: target.ep, overrides: routing, targetVariant: variant))
            converted += 1
            let output = try CheckpointReaders.open(out)
            #expect(output.parallelism.expertParallel == target.ep, "\(context): EP")
            try Self.expectSameMoE(output, try CheckpointReaders.open(reference.path), context)
            if reference.ep == target.ep {
                try Self.expectSameMoEKeys(output, try CheckpointReaders.open(reference.path), context)
            }
            var routingAfter = try InspectReport(checkpoint: output).moe
            if target.library == "olmo_core" || source.library == "olmo_core" {
                // OLMo-core mixes shared experts its own way; neither side can record the other's.
                routingAfter.sharedCombine = expectedRouting.sharedCombine
            }
            #expect(routingAfter == expectedRouting, "\(context): routing \(routingAfter) vs \(expectedRouting)")
        }
        #expect(converted > 0)
    }

    static let cases: [FixtureCase] = FixtureCatalog.cases.filter { $0.root == "project" }

    @Test("every layout in every single-file container (pt, hdf5, safetensors) holds the source's MoE tensors and routing", arguments: cases)
    func everyLayoutInEveryContainer(fixture: FixtureCase) throws {
        let source = try #require(Written.all(in: fixture).first { $0.ep == 1 })
        let original = try CheckpointReaders.open(source.path)
        let routing = try InspectReport(checkpoint: original).moe.topK == nil ? fixture.routing(for: source.library) : MoEConfig()
        let dir = try TemporaryFolder().url
        for layout in Layout.allCases {
            for (container, name) in [(ContainerFormat.pt, "out.pt"), (.hdf5, "out.h5"), (.safetensors, "out.safetensors")] {
                let out = dir.appendingPathComponent("\(layout.rawValue)-\(name)").path
                let variant = layout == .olmo ? fixture.json["olmo_moe_type"]?.stringValue : nil
                if layout == .olmo, fixture.json["shared"]?.stringValue == "gated" {
                    // OLMo-core has no shared-expert gate: the conversion refuses rather than drop it.
                    #expect(throws: ConvertError.self) {
                        try Converter.run(ConvertOptions(source: source.path, destination: out, targetLayout: layout, targetFormat: container, overrides: routing))
                    }
                    continue
                }
                _ = try Converter.run(ConvertOptions(
                    source: source.path, destination: out, targetLayout: layout, targetFormat: container, overrides: routing, targetVariant: variant))
                let output = try CheckpointReaders.open(out)
                let context = "\(source.testDescription) → \(layout.rawValue) \(container.rawValue)"
                if try layout != LayoutCatalog.detect(original).table.layout {
                    // No value under the source framework's names (`_extra_state`) rides along.
                    #expect(output.pickledObjects.stateDict.isEmpty, "\(context): \(output.pickledObjects.stateDict.map(\.key).prefix(3))")
                }
                #expect(try LayoutCatalog.detect(output).table.layout == layout, "\(context): layout")
                try Self.expectSameMoE(output, original, context)
                var after = try InspectReport(checkpoint: output).moe
                var before = try InspectReport(checkpoint: original, overrides: routing).moe
                if layout == .olmo || source.library == "olmo_core" { (after.sharedCombine, before.sharedCombine) = (nil, nil) }
                #expect(after == before, "\(context): routing")
            }
        }
    }

    /// Router, expert bias (float32, bit-exact), every expert and the shared expert hold the same
    /// values in both checkpoints, layer by layer.
    static func expectSameMoE(_ found: Checkpoint, _ expected: Checkpoint, _ context: String) throws {
        let a = try CanonicalModel(try LayoutCatalog.detect(found), of: found, config: MoEConfig())
        let b = try CanonicalModel(try LayoutCatalog.detect(expected), of: expected, config: MoEConfig())
        #expect(a.layers.map(\.layer) == b.layers.map(\.layer), "\(context): MoE layers")
        for (x, y) in zip(a.layers, b.layers) {
            var pairs: [(String, (any TensorSource)?, (any TensorSource)?)] = [
                ("router", x.router, y.router), ("bias", x.expertBias, y.expertBias),
                ("shared up", x.shared?.up, y.shared?.up), ("shared down", x.shared?.down, y.shared?.down),
                ("shared gate", x.shared?.gate, y.shared?.gate), ("shared output gate", x.shared?.outputGate, y.shared?.outputGate),
            ]
            #expect(x.experts.count == y.experts.count, "\(context): layer \(x.layer) experts")
            for (e, (p, q)) in zip(x.experts, y.experts).enumerated() {
                pairs += [("expert \(e) gate", p.gate, q.gate), ("expert \(e) up", p.up, q.up), ("expert \(e) down", p.down, q.down)]
            }
            for (name, p, q) in pairs {
                #expect((p == nil) == (q == nil), "\(context): layer \(x.layer) \(name) present on one side only")
                guard let p, let q else { continue }
                let same = try p.shape == q.shape && p.floats() == q.floats()
                #expect(same, "\(context): layer \(x.layer) \(name)")
            }
            if let bias = x.expertBias {
                #expect(bias.dtype == .float32, "\(context): the expert bias stays float32")
            }
        }
    }

    /// The same native MoE keys, shapes and per-rank split as the library's own checkpoint.
    static func expectSameMoEKeys(_ found: Checkpoint, _ expected: Checkpoint, _ context: String) throws {
        let tableA = try LayoutCatalog.detect(found), tableB = try LayoutCatalog.detect(expected)
        let keysA = Dictionary(uniqueKeysWithValues: tableA.layers.flatMap(\.tensors).map { ($0.key, $0.entry.shape) })
        let keysB = Dictionary(uniqueKeysWithValues: tableB.layers.flatMap(\.tensors).map { ($0.key, $0.entry.shape) })
        #expect(keysA == keysB, "\(context): MoE keys/shapes differ: \(Set(keysA.keys).symmetricDifference(keysB.keys).sorted().prefix(4))")
    }
}

extension FixtureCase: CustomTestStringConvertible {
    var testDescription: String { "\(root)/\(name)" }
}
