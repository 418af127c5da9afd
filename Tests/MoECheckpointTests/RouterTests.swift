import Foundation
import Testing
@testable import MoECheckpoint

/// Each routing rule on tiny hand-made inputs whose answers are known.
@Suite("Router rules")
struct RouterTests {
    /// A router over `E` experts with `D = E` and identity weights, so `x` is the logits.
    static func router(
        experts e: Int, _ settings: RoutingSettings, flavor: RoutingFlavor, bias: [Float]? = nil
    ) throws -> Router {
        var identity = [Float](repeating: 0, count: e * e)
        for i in 0..<e { identity[i * e + i] = 1 }
        return try Router(weight: identity, bias: bias, numExperts: e, hiddenSize: e, settings: settings, flavor: flavor)
    }

    static func route(_ logits: [Float], _ settings: RoutingSettings, flavor: RoutingFlavor, bias: [Float]? = nil) throws -> Routing {
        try router(experts: logits.count, settings, flavor: flavor, bias: bias).route(logits, tokens: 1)
    }

    static func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    @Test("normalised softmax gives the same experts and weights picked on logits (Megatron) or on probabilities (NeMo, OLMo)")
    func normalisedSoftmaxAgrees() throws {
        let logits: [Float] = [0.1, 2.0, -1.0, 1.0]
        let settings = RoutingSettings(topK: 2, scoreFunction: .softmax, normalize: true)
        let expectedWeights = Router.softmax([2.0, 1.0] as [Float])
        for flavor in [RoutingFlavor.megatron, .olmo, .nemoHF] {
            let routing = try Self.route(logits, settings, flavor: flavor)
            #expect(routing.indices == [1, 3], "\(flavor)")
            #expect(Self.close(routing.weights, expectedWeights), "\(flavor)")
        }
    }

    @Test("unnormalised softmax keeps the probabilities over all experts")
    func rawSoftmax() throws {
        let logits: [Float] = [0.1, 2.0, -1.0, 1.0]
        let probabilities = Router.softmax(logits)
        let routing = try Self.route(logits, RoutingSettings(topK: 2, scoreFunction: .softmax, normalize: false), flavor: .megatron)
        #expect(routing.indices == [1, 3])
        #expect(Self.close(routing.weights, [probabilities[1], probabilities[3]]))
    }

    @Test("the expert bias changes the choice but never the weights")
    func biasSelectsOnly() throws {
        let logits: [Float] = [1.0, 0.9, -2.0, 0.0]
        let bias: [Float] = [0, 0, 3, 0]
        let routing = try Self.route(
            logits, RoutingSettings(topK: 2, scoreFunction: .sigmoid, normalize: false), flavor: .nemoHF, bias: bias)
        let sigmoid = logits.map { 1 / (1 + Foundation.exp(-$0)) }
        // Expert 2 is chosen thanks to its bias, with its unbiased (small) sigmoid score.
        #expect(Set(routing.indices) == [0, 2])
        #expect(Self.close(routing.weights, [sigmoid[0], sigmoid[2]]))
    }

    @Test("Megatron normalises sigmoid weights when k > 1 even with normalisation off; NeMo does not")
    func megatronSigmoidAlwaysNormalises() throws {
        let logits: [Float] = [1.0, 0.5, -1.0]
        let off = RoutingSettings(topK: 2, scoreFunction: .sigmoid, normalize: false)
        let s = logits.map { 1 / (1 + Foundation.exp(-$0)) }
        let megatron = try Self.route(logits, off, flavor: .megatron)
        #expect(Self.close(megatron.weights, [s[0] / (s[0] + s[1]), s[1] / (s[0] + s[1])]))
        let nemo = try Self.route(logits, off, flavor: .nemoHF)
        #expect(Self.close(nemo.weights, [s[0], s[1]]))
        // With k = 1 Megatron keeps the raw score.
        let single = try Self.route(logits, RoutingSettings(topK: 1, scoreFunction: .sigmoid, normalize: true), flavor: .megatron)
        #expect(Self.close(single.weights, [s[0]]))
    }

    @Test("OLMo-core adds 1e-7 to sigmoid scores and p-norm-normalises even a single expert")
    func olmoSigmoidAndPNorm() throws {
        let logits: [Float] = [0.0, -3.0]
        let raw = try Self.route(logits, RoutingSettings(topK: 1, scoreFunction: .sigmoid, normalize: false), flavor: .olmo)
        #expect(raw.weights == [Float(0.5) + 1e-7])
        let normalised = try Self.route(logits, RoutingSettings(topK: 1, scoreFunction: .sigmoid, normalize: true), flavor: .olmo)
        #expect(normalised.weights == [1])
    }

    @Test("the routing scale multiplies the weights after normalisation")
    func scaleAfterNormalisation() throws {
        let routing = try Self.route(
            [1.0, 1.0, -5.0], RoutingSettings(topK: 2, scoreFunction: .sigmoid, normalize: true, scale: 2.5), flavor: .nemoHF)
        #expect(Self.close(routing.weights, [1.25, 1.25]))
    }

    @Test("weights come out sorted, largest first, with their experts")
    func sortedByWeight() throws {
        // The bias makes expert 3 the top selection, but its weight is the smallest.
        let routing = try Self.route(
            [2.0, 1.0, -1.0, 0.0], RoutingSettings(topK: 3, scoreFunction: .sigmoid, normalize: false), flavor: .nemoHF,
            bias: [0, 0, 0, 5])
        #expect(routing.indices == [0, 1, 3])
        #expect(routing.weights == routing.weights.sorted(by: >))
    }

    @Test("Megatron scores a group by its top k/g entries, NeMo by its top two (with a bias) or its max (without)")
    func groupScoreRules() {
        // 4 groups of 2, keep 2 groups, k = 2.
        let selection: [Float] = [0.9, 0.0, 0.6, 0.6, 0.5, 0.5, 0.1, 0.1]
        let groups = RoutingSettings.Groups(count: 4, kept: 2)
        func choose(_ rule: RoutingFlavor.GroupRule, hasBias: Bool) -> [Int] {
            selection.withUnsafeBufferPointer { GroupLimitedTopK.indices($0, topK: 2, groups: groups, rule: rule, hasBias: hasBias) }
        }
        let megatron = RoutingFlavor.megatron.groupRule!
        let nemo = RoutingFlavor.nemoHF.groupRule!
        // Megatron: k/g = 1 → group scores 0.9, 0.6, 0.5, 0.1 → groups 0, 1 → experts 0, 2.
        #expect(choose(megatron, hasBias: true) == [0, 2])
        // NeMo with a bias: top-2 sums 0.9, 1.2, 1.0, 0.2 → groups 1, 2 → experts 2, 3.
        #expect(choose(nemo, hasBias: true) == [2, 3])
        // NeMo without a bias: max 0.9, 0.6, 0.5, 0.1 → groups 0, 1 → experts 0, 2.
        #expect(choose(nemo, hasBias: false) == [0, 2])
    }

    @Test("dropped groups are -inf for Megatron but 0 for NeMo, so NeMo can pick them when kept scores are negative")
    func groupMasking() {
        let selection: [Float] = [-0.1, -0.2, -1.0, -2.0]
        let groups = RoutingSettings.Groups(count: 2, kept: 1)
        func choose(_ rule: RoutingFlavor.GroupRule) -> [Int] {
            selection.withUnsafeBufferPointer { GroupLimitedTopK.indices($0, topK: 2, groups: groups, rule: rule, hasBias: false) }
        }
        #expect(choose(RoutingFlavor.megatron.groupRule!) == [0, 1])
        #expect(choose(RoutingFlavor.nemoHF.groupRule!) == [2, 3])
    }

    @Test("group-limited routing through the router keeps experts of the kept groups only")
    func groupLimitedRouter() throws {
        let settings = RoutingSettings(topK: 2, scoreFunction: .sigmoid, normalize: true, groups: .init(count: 2, kept: 1))
        let routing = try Self.route([3.0, -3.0, 2.0, 2.0], settings, flavor: .megatron)
        // Group 0 scores σ(3)+σ(-3) = 1.0, group 1 scores 2σ(2) ≈ 1.76: group 1 wins although expert 0 is best.
        #expect(Set(routing.indices) == [2, 3])
    }

    @Test("Megatron's normalised softmax scores groups on the raw logits, its unnormalised softmax on probabilities")
    func megatronSoftmaxGroups() throws {
        let logits: [Float] = [3.0, -3.0, 2.0, 2.0]
        let groups = RoutingSettings.Groups(count: 2, kept: 1)
        // Logits: group scores 3 + (−3) = 0 and 2 + 2 = 4 → group 1, weights softmax([2, 2]).
        let normalised = try Self.route(logits, RoutingSettings(topK: 2, scoreFunction: .softmax, normalize: true, groups: groups), flavor: .megatron)
        #expect(Set(normalised.indices) == [2, 3])
        #expect(Self.close(normalised.weights, [0.5, 0.5]))
        // Probabilities: p0 + p1 ≈ 0.58 beats p2 + p3 ≈ 0.42 → group 0, raw probabilities.
        let raw = try Self.route(logits, RoutingSettings(topK: 2, scoreFunction: .softmax, normalize: false, groups: groups), flavor: .megatron)
        let p = Router.softmax(logits)
        #expect(raw.indices == [0, 1])
        #expect(Self.close(raw.weights, [p[0], p[1]]))
    }

    @Test("OLMo-core has no group routing, and says so")
    func olmoRejectsGroups() {
        #expect(throws: ForwardError.self) {
            try Self.router(experts: 4, RoutingSettings(topK: 1, scoreFunction: .sigmoid, normalize: true, groups: .init(count: 2, kept: 1)), flavor: .olmo)
        }
    }

    @Test("uniform assignment sends slot j of token t to expert (t·k + j) mod E with the scores' weights")
    func uniformAssignment() throws {
        var settings = RoutingSettings(topK: 2, scoreFunction: .softmax, normalize: false)
        settings.assignment = .uniform
        let router = try Self.router(experts: 3, settings, flavor: .olmo)
        let routing = router.route([Float](repeating: 0, count: 6), tokens: 2)
        #expect(Set(routing.indices[0..<2]) == [0, 1])
        #expect(Set(routing.indices[2..<4]) == [2, 0])
        #expect(Self.close(routing.weights, [Float](repeating: 1 / 3, count: 4)))
    }

    @Test("fake-balanced assignment gives weight 1/k and skips the first experts")
    func fakeBalanced() throws {
        var settings = RoutingSettings(topK: 2, scoreFunction: .softmax, normalize: true)
        settings.assignment = .fakeBalanced(skip: 1)
        let router = try Self.router(experts: 4, settings, flavor: .nemoHF)
        let routing = router.route([Float](repeating: 0, count: 8), tokens: 2)
        #expect(routing.indices == [1, 2, 3, 1])
        #expect(routing.weights == [0.5, 0.5, 0.5, 0.5])
    }

    @Test("top-k keeps the lower index on ties and ranks NaN last")
    func topKTiesAndNaN() {
        #expect(TopK.indices([1, 3, 3, .nan, 2], 3) == [1, 2, 4])
        #expect(TopK.indices([.nan, .nan], 1) == [0])
    }

    @Test("a missing routing setting names the option to pass")
    func missingSetting() {
        #expect(throws: ConfigError.missingSetting(setting: "top_k", checkpoint: "ckpt")) {
            try RoutingSettings(MoEConfig(scoreFunction: .softmax, normalizeTopK: true), numExperts: 8, checkpoint: "ckpt")
        }
        #expect(throws: ConfigError.missingSetting(setting: "normalize", checkpoint: "ckpt")) {
            try RoutingSettings(MoEConfig(topK: 2, scoreFunction: .softmax), numExperts: 8, checkpoint: "ckpt")
        }
    }

    @Test("settings the layer cannot run are refused")
    func inconsistentSettings() {
        #expect(throws: ConfigError.self) {
            try RoutingSettings(MoEConfig(topK: 9, scoreFunction: .softmax, normalizeTopK: true), numExperts: 8, checkpoint: "ckpt")
        }
        #expect(throws: ConfigError.self) {
            try RoutingSettings(MoEConfig(topK: 2, scoreFunction: .sigmoid, normalizeTopK: true, numGroups: 3, groupTopK: 1), numExperts: 8, checkpoint: "ckpt")
        }
    }
}
