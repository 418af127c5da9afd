import Foundation
import Testing
@testable import MoECheckpoint

/// The embedded forward against the real libraries' outputs (`Tests/Fixtures`, `../shared/fixtures`).
@Suite("Forward against the real libraries")
struct ForwardFixtureTests {
    /// Runs `path`'s layer `layer` on the case input and checks y, experts and weights.
    static func check(
        _ path: String, layer: Int, flavor: RoutingFlavor.Name?, expectation: FixtureExpectation
    ) throws -> Double {
        let fixture = expectation.fixture
        let source = try ForwardCheckpoint(path: path, overrides: fixture.routing(for: expectation.library), flavor: flavor)
        let forward = try source.forward(layer: layer)
        let (x, tokens) = try ForwardIO.readInput(fixture.input, hiddenSize: forward.hiddenSize)
        let result = try forward.run(x, tokens: tokens)
        let expected = try expectation.expected(layer: layer)
        let error = ErrorSize(reference: expected.y, candidate: result.y)
        #expect(error.relative <= fixture.tolerance, "y \(error.text)")
        #expect(result.routing.indices == expected.indices, "chosen experts")
        let weights = ErrorSize(reference: expected.weights, candidate: result.routing.weights)
        #expect(weights.maxAbs <= (fixture.isBF16 ? 2e-2 : 1e-5), "topk_w \(weights.text)")
        return error.relative
    }

    @Test("there are fixtures to test against")
    func fixturesArePresent() {
        #expect(!FixtureCatalog.expectations.isEmpty)
    }

    @Test("forward on a fixture checkpoint gives the writing library's y and experts, per MoE layer", arguments: FixtureCatalog.checkpoints)
    func fixtureCheckpoint(_ checkpoint: FixtureCheckpoint) throws {
        do {
            _ = try CheckpointReaders.open(checkpoint.path)
        } catch CheckpointError.unrecognized {
            // Megatron torch_dist/legacy and OLMo DCP readers land separately; until then the
            // canonical-weights test below covers those libraries' math.
            return
        }
        _ = try Self.check(checkpoint.path, layer: checkpoint.layer, flavor: nil, expectation: checkpoint.expectation)
    }

    @Test("each flavor on the canonical weights gives its library's y and experts", arguments: FixtureCatalog.expectations)
    func canonicalWeights(_ expectation: FixtureExpectation) throws {
        try withTemporaryDirectory { directory in
            let path = try CanonicalCheckpoint.write(expectation.fixture, into: directory)
            for layer in expectation.fixture.moeLayers {
                _ = try Self.check(path, layer: layer, flavor: expectation.flavor, expectation: expectation)
            }
        }
    }

    @Test("by default a checkpoint follows its own framework's flavor")
    func defaultFlavor() throws {
        #expect(RoutingFlavor.default(for: .megatron) == .megatron)
        #expect(RoutingFlavor.default(for: .olmo) == .olmo)
        #expect(RoutingFlavor.default(for: .nemo) == .nemoHF)
        #expect(RoutingFlavor.default(for: .hf) == .nemoHF)
        guard let hf = FixtureCatalog.checkpoints.first(where: { $0.path.hasSuffix("consolidated") }) else { return }
        #expect(try ForwardCheckpoint(path: hf.path).flavor == .nemoHF)
        #expect(try ForwardCheckpoint(path: hf.path, flavor: .megatron).flavor == .megatron)
    }
}
