/// The structural half of `verify`: two checkpoints must have the same MoE layers, expert
/// counts and dimensions, the same tensors present, the expert bias in both as byte-identical
/// float32, and the same routing config. A difference here fails even when outputs agree.
enum StructureCheck {
    /// Every structural and routing-config difference between `a` and `b`.
    static func findings(_ a: ForwardCheckpoint, _ b: ForwardCheckpoint, layers: [Int]) throws -> [VerifyFinding] {
        var out = routingConfigFindings(a, b)
        let layersA = Set(a.moeLayers)
        let layersB = Set(b.moeLayers)
        for layer in layersA.subtracting(layersB).sorted() {
            out.append(VerifyFinding(.structure, layer: layer, subject: "MoE layer", detail: "present in A, missing in B"))
        }
        for layer in layersB.subtracting(layersA).sorted() {
            out.append(VerifyFinding(.structure, layer: layer, subject: "MoE layer", detail: "missing in A, present in B"))
        }
        for index in layers where layersA.contains(index) && layersB.contains(index) {
            out += try layerFindings(try a.layer(index), try b.layer(index))
        }
        return out
    }

    /// Dimensions, tensors present and the expert bias of one layer.
    static func layerFindings(_ a: CanonicalMoELayer, _ b: CanonicalMoELayer) throws -> [VerifyFinding] {
        var out: [VerifyFinding] = []
        let layer = a.layer
        func compare<T: Equatable>(_ subject: String, _ x: T, _ y: T, _ show: (T) -> String) {
            if x != y { out.append(VerifyFinding(.structure, layer: layer, subject: subject, detail: "A has \(show(x)), B has \(show(y))")) }
        }
        compare("experts", a.dims.numExperts, b.dims.numExperts) { "\($0) experts" }
        compare("hidden size", a.dims.hiddenSize, b.dims.hiddenSize) { "D=\($0)" }
        compare("expert FFN size", a.dims.ffnHiddenSize, b.dims.ffnHiddenSize) { "F=\($0.map(String.init) ?? "?")" }
        compare("gate projections", a.experts.first?.gate != nil, b.experts.first?.gate != nil) { $0 ? "gated experts" : "non-gated experts" }
        compare("shared expert", a.shared != nil, b.shared != nil) { $0 ? "one" : "none" }
        compare("shared expert FFN size", a.dims.sharedFFNHiddenSize, b.dims.sharedFFNHiddenSize) { "Fs=\($0.map(String.init) ?? "none")" }
        compare("shared expert gate", a.shared?.outputGate != nil, b.shared?.outputGate != nil) { $0 ? "a sigmoid gate" : "no gate" }
        out += try biasFindings(layer: layer, a.expertBias, b.expertBias)
        return out
    }

    /// The expert bias must be in both, float32 in both, and bit-identical.
    static func biasFindings(layer: Int, _ a: (any TensorSource)?, _ b: (any TensorSource)?) throws -> [VerifyFinding] {
        let subject = "expert_bias"
        switch (a, b) {
        case (nil, nil): return []
        case (.some, nil): return [VerifyFinding(.structure, layer: layer, subject: subject, detail: "present in A, missing in B")]
        case (nil, .some): return [VerifyFinding(.structure, layer: layer, subject: subject, detail: "missing in A, present in B")]
        case (.some(let a), .some(let b)):
            var out: [VerifyFinding] = []
            for (side, tensor) in [("A", a), ("B", b)] where tensor.dtype != .float32 {
                out.append(VerifyFinding(.structure, layer: layer, subject: subject, detail: "expected float32 in \(side), found \(tensor.dtype.rawValue)"))
            }
            guard a.elementCount == b.elementCount else {
                out.append(VerifyFinding(
                    .structure, layer: layer, subject: subject,
                    detail: "A has shape \(TensorShape.describe(a.shape)), B has \(TensorShape.describe(b.shape))"))
                return out
            }
            let x = try WeightFloats.array(a)
            let y = try WeightFloats.array(b)
            let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
            if differing > 0 {
                let size = zip(x, y).map { abs(Double($0) - Double($1)) }.max() ?? 0
                out.append(VerifyFinding(
                    .structure, layer: layer, subject: subject,
                    detail: "\(differing) of \(x.count) values differ, max_abs_diff \(ErrorSize.format(size))", size: size))
            }
            return out
        }
    }

    /// The routing settings each forward will run with, compared field by field (absent
    /// values take the defaults the forward uses).
    static func routingConfigFindings(_ a: ForwardCheckpoint, _ b: ForwardCheckpoint) -> [VerifyFinding] {
        let x = effective(a)
        let y = effective(b)
        var out: [VerifyFinding] = []
        for ((key, valueA), (_, valueB)) in zip(x, y) where valueA != valueB {
            out.append(VerifyFinding(.routingConfig, layer: nil, subject: key, detail: "A has \(valueA), B has \(valueB)"))
        }
        return out
    }

    /// `cli.md`'s routing keys with the values the forward will use.
    static func effective(_ checkpoint: ForwardCheckpoint) -> [(String, String)] {
        let config = checkpoint.model.config
        func show<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "unknown" }
        let grouped = (config.numGroups ?? 1) > 1
        let gated = checkpoint.model.layers.first?.experts.first?.gate != nil
        let hasShared = checkpoint.model.layers.contains { $0.shared != nil }
        return [
            ("top_k", show(config.topK)),
            ("score_function", show(config.scoreFunction?.rawValue)),
            ("normalize_topk", show(config.normalizeTopK)),
            ("scaling_factor", "\(config.scalingFactor ?? 1)"),
            ("num_groups", grouped ? show(config.numGroups) : "none"),
            ("group_topk", grouped ? show(config.groupTopK) : "none"),
            ("activation", config.activation?.rawValue ?? (gated ? Activation.swiglu.rawValue : "unknown")),
            ("shared_combine", hasShared ? (config.sharedCombine ?? .sum).rawValue : "none"),
        ]
    }
}
