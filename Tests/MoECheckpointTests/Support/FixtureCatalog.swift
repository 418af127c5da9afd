import Foundation
import Testing
@testable import MoECheckpoint

/// Finds the fixtures written by the real libraries: the project's own under `Tests/Fixtures/`
/// and the shared reference set under `../shared/fixtures/` (next to the repository), each
/// `<case>/{case.json, input.safetensors, canonical.safetensors, <lib>/{expected.safetensors, manifest.json, …}}`.
enum FixtureCatalog {
    /// The repository root (`Fixtures.repo`).
    static let repositoryRoot: URL = Fixtures.repo

    /// The fixture roots that exist, project first.
    static var roots: [(name: String, url: URL)] {
        [("project", repositoryRoot.appendingPathComponent("Tests/Fixtures")),
         ("shared", repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures"))]
            .filter { FileManager.default.fileExists(atPath: $0.1.appendingPathComponent("README.md").path) }
    }

    /// Every case folder of every root.
    static var cases: [FixtureCase] {
        roots.flatMap { root in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.url.path)) ?? []
            return names.sorted().compactMap { FixtureCase(root: root.name, folder: root.url.appendingPathComponent($0)) }
        }
    }

    /// Every (case, library) pair with an expected output.
    static var expectations: [FixtureExpectation] {
        cases.flatMap { fixture in fixture.libraries.map { FixtureExpectation(fixture: fixture, library: $0) } }
    }

    /// Every checkpoint a library wrote, per MoE layer, whether or not this build can read it yet.
    static var checkpoints: [FixtureCheckpoint] {
        expectations.flatMap { expectation in
            expectation.formatPaths.flatMap { path in
                expectation.fixture.moeLayers.map { FixtureCheckpoint(expectation: expectation, path: path, layer: $0) }
            }
        }
    }
}

/// One case folder and its `case.json`.
struct FixtureCase: Sendable {
    let root: String
    let folder: URL
    let name: String
    let json: JSONObject

    init?(root: String, folder: URL) {
        let file = folder.appendingPathComponent("case.json")
        guard let data = try? Data(contentsOf: file),
              let object = try? data.withUnsafeBytes({ try JSONParser().parse($0) }).objectValue
        else { return nil }
        self.root = root
        self.folder = folder
        self.name = folder.lastPathComponent
        self.json = object
    }

    var input: String { folder.appendingPathComponent("input.safetensors").path }
    var canonical: String { folder.appendingPathComponent("canonical.safetensors").path }
    var isBF16: Bool { json["dtype"]?.stringValue == "bfloat16" }
    var tolerance: Double { isBF16 ? 3e-2 : 1e-5 }
    var moeLayers: [Int] { json["moe_layers"]?.arrayValue?.compactMap(\.intValue) ?? [0] }
    var hasShared: Bool { !["none", nil].contains(json["shared"]?.stringValue) }

    /// The libraries that wrote this case (folders with an `expected.safetensors`).
    var libraries: [String] {
        ["megatron", "olmo_core", "nemo_automodel"].filter {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("\($0)/expected.safetensors").path)
        }
    }

    /// The routing settings the libraries ran with, as options: metadata can be wrong
    /// (`shared_experts`' NeMo `config.json` describes DeepSeek-V3), so tests pass them.
    func routing(for library: String) -> MoEConfig {
        var config = MoEConfig(
            topK: json["topk"]?.intValue, scoreFunction: json["score"]?.stringValue.flatMap(ScoreFunction.init(rawValue:)),
            normalizeTopK: json["renorm"]?.boolValue, scalingFactor: json["scale"]?.doubleValue,
            activation: Activation(rawValue: json["activation"]?.stringValue ?? "swiglu"))
        if let groups = json["groups"]?.intValue {
            config.numGroups = groups
            config.groupTopK = json["group_topk"]?.intValue
        }
        if hasShared { config.sharedCombine = library == "olmo_core" ? .olmo : .sum }
        return config
    }
}

/// One library's expected output for a case.
struct FixtureExpectation: Sendable, CustomTestStringConvertible {
    let fixture: FixtureCase
    let library: String

    var folder: URL { fixture.folder.appendingPathComponent(library) }
    var expectedPath: String { folder.appendingPathComponent("expected.safetensors").path }

    /// The flavor that reproduces this library.
    var flavor: RoutingFlavor.Name {
        switch library {
        case "megatron": return .megatron
        case "olmo_core": return .olmo
        default: return .nemoHF
        }
    }

    /// One `<lib>/manifest.json` `formats` entry: the checkpoint's path, its format name
    /// (`megatron_legacy`, `olmo_core_dcp`, …) and its EP size.
    struct Format: Sendable {
        let path: String
        let format: String
        let ep: Int
    }

    /// The `formats` entries of `<lib>/manifest.json`.
    var formats: [Format] {
        let file = folder.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: file),
              let object = try? data.withUnsafeBytes({ try JSONParser().parse($0) }).objectValue
        else { return [] }
        return (object["formats"]?.arrayValue ?? []).compactMap { entry in
            guard let fields = entry.objectValue, let path = fields["path"]?.stringValue, let format = fields["format"]?.stringValue else { return nil }
            return Format(path: folder.appendingPathComponent(path).path, format: format, ep: fields["ep_size"]?.intValue ?? 1)
        }
    }

    /// The checkpoint paths of `<lib>/manifest.json` `formats`.
    var formatPaths: [String] { formats.map(\.path) }

    /// `y_f32`, `topk_idx`, `topk_w` of layer `layer` (bare keys, or `layers.{l}.` in multi-layer cases).
    func expected(layer: Int) throws -> (y: [Float], indices: [Int], weights: [Float]) {
        let file = try SafetensorsFile(path: expectedPath)
        let prefix = file.tensor(named: "layers.\(layer).y_f32") != nil ? "layers.\(layer)." : ""
        let y = try WeightFloats.array(file.tensor(named: prefix + "y_f32")!)
        let indices = try file.tensor(named: prefix + "topk_idx")!.withBytes { raw in
            (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        }
        let weights = try WeightFloats.array(file.tensor(named: prefix + "topk_w")!)
        return (y, indices, weights)
    }

    var testDescription: String { "\(fixture.root)/\(fixture.name)/\(library)" }
}

/// One checkpoint of a fixture, and the MoE layer to run.
struct FixtureCheckpoint: Sendable, CustomTestStringConvertible {
    let expectation: FixtureExpectation
    let path: String
    let layer: Int

    var testDescription: String {
        let relative = path.replacingOccurrences(of: expectation.folder.path + "/", with: "")
        return "\(expectation.testDescription)/\(relative) layer \(layer)"
    }
}
