import Foundation
import Testing

@testable import MoECheckpoint

@Suite("layout tables")
struct LayoutTableTests {
    @Test("key patterns capture layer and expert indices and reject leading zeros")
    func keyPatterns() {
        let pattern: KeyPattern = "model.layers.{layer}.mlp.experts.{expert}.up_proj.weight"
        #expect(pattern.match("model.layers.12.mlp.experts.3.up_proj.weight") == KeyPattern.Match(layer: 12, expert: 3))
        #expect(pattern.match("model.layers.01.mlp.experts.3.up_proj.weight") == nil)
        #expect(pattern.match("model.layers.1.mlp.experts.x.up_proj.weight") == nil)
        #expect(pattern.match("model.layers.1.mlp.experts.3.up_proj.weight.extra") == nil)
        #expect(pattern.render(layer: 4, expert: 7) == "model.layers.4.mlp.experts.7.up_proj.weight")
        let te: KeyPattern = "decoder.layers.{layer}.mlp.experts.linear_fc1.weight{expert}"
        #expect(te.match("decoder.layers.0.mlp.experts.linear_fc1.weight15") == KeyPattern.Match(layer: 0, expert: 15))
        let tail: KeyPattern = "decoder.layers.mlp.experts.experts.linear_fc1._extra_state*"
        #expect(tail.match("decoder.layers.mlp.experts.experts.linear_fc1._extra_state/shard_0.3_1.8") != nil)
    }

    @Test("symbolic dimensions bind one unknown at a time")
    func dimExpressions() {
        let ef = DimExpr(1, [.e, .f])
        #expect(ef.unify(512, [.e: 8]) == .bound(.f, 64))
        #expect(ef.unify(512, [:]) == .undetermined)
        #expect((2 * DimExpr.f).unify(128, [:]) == .bound(.f, 64))
        #expect((2 * DimExpr.f).unify(127, [:]) == .contradiction)
        #expect(DimExpr.d.unify(32, [.d: 32]) == .consistent)
    }

    @Test("every table has unique patterns and builds")
    func tablesBuild() {
        #expect(LayoutCatalog.all.count >= 12)
        for table in LayoutCatalog.all {
            #expect(table.rule(for: .routerWeight) != nil, "\(table.name) has a router row")
        }
    }

    @Test("join, transpose and stacking round-trip through assemble and extract", arguments: [
        MappingRule("a.{layer}.x", [.expertGate, .expertUp], join: .concatRows, transposed: true, experts: .stacked, provenance: "test"),
        MappingRule("a.{layer}.y", [.expertGate, .expertUp], join: .interleaveRows, experts: .stacked, provenance: "test"),
        MappingRule("a.{layer}.z", [.expertDown], transposed: true, experts: .stacked, provenance: "test"),
    ])
    func ruleRoundTrip(rule: MappingRule) {
        let dims: [Dim: Int] = [.e: 3, .d: 5, .f: 4]
        var generator = SeededGenerator(seed: 7)
        for size in [1, 2, 4] {
            let parts = rule.parts.map { role -> [UInt8] in
                let count = role.canonicalShape.map { $0.evaluate(dims)! }.reduce(1, *) * size
                return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            let unit = RuleTransform.assemble(rule, parts: parts, dims: dims, elementSize: size)
            for (role, part) in zip(rule.parts, parts) {
                let back = unit.withUnsafeBytes { RuleTransform.extract(rule, role: role, unit: $0, dims: dims, elementSize: size) }
                #expect(back == part)
            }
        }
    }
}
