/// What `moe-ckpt verify A B` was asked to do.
public struct VerifyRequest: Sendable {
    public var a: String
    public var b: String
    /// One MoE layer, or every one.
    public var layer: Int?
    public var tokens: Int
    public var seed: UInt64
    /// `nil`: 1e-5 when both sides are float32, 3e-2 when either stores bf16/fp16/fp8 weights.
    public var rtol: Double?
    /// Routing options, applied to both sides.
    public var overrides: MoEConfig
    /// Routing flavor for both sides; `nil` lets each follow its own framework.
    public var flavor: RoutingFlavor.Name?

    public init(
        a: String, b: String, layer: Int? = nil, tokens: Int = 64, seed: UInt64 = 0, rtol: Double? = nil, overrides: MoEConfig = MoEConfig(),
        flavor: RoutingFlavor.Name? = nil
    ) {
        self.a = a
        self.b = b
        self.layer = layer
        self.tokens = tokens
        self.seed = seed
        self.rtol = rtol
        self.overrides = overrides
        self.flavor = flavor
    }
}

/// `verify`: structure first (layers, dims, expert bias, routing config), then numbers, layer
/// by layer, on the same seeded tokens for A and B.
public enum Verifier {
    /// The default tolerance of `cli.md`.
    public static func defaultTolerance(_ dtypes: [DType]) -> Double {
        dtypes.contains { $0.isFloatingPoint && $0.byteSize < 4 } ? 3e-2 : 1e-5
    }

    public static func run(_ request: VerifyRequest) throws -> VerifyReport {
        let a = try ForwardCheckpoint(path: request.a, overrides: request.overrides, flavor: request.flavor)
        let b = try ForwardCheckpoint(path: request.b, overrides: request.overrides, flavor: request.flavor)
        let layers: [Int]
        if let index = request.layer {
            _ = try a.layer(index)
            _ = try b.layer(index)
            layers = [index]
        } else {
            layers = a.moeLayers.filter(Set(b.moeLayers).contains)
        }
        var findings = try StructureCheck.findings(a, b, layers: layers)
        var rows: [VerifyLayerRow] = []
        for index in layers {
            let layerA = try a.layer(index)
            let layerB = try b.layer(index)
            // Numbers need the same shapes; a structural difference there is already reported.
            guard layerA.dims == layerB.dims, (layerA.experts.first?.gate != nil) == (layerB.experts.first?.gate != nil) else { continue }
            let tolerance = request.rtol ?? defaultTolerance(weightDTypes(layerA) + weightDTypes(layerB))
            var random = SeededTokens(seed: request.seed)
            let x = random.normal(count: request.tokens * layerA.dims.hiddenSize)
            let (row, layerFindings) = try LayerComparison.compare(
                try a.forward(layer: index), try b.forward(layer: index), tokens: x, count: request.tokens, tolerance: tolerance)
            rows.append(row)
            findings += layerFindings
        }
        return VerifyReport(request: request, flavorA: a.flavor, flavorB: b.flavor, rows: rows, findings: findings)
    }

    /// The dtypes that decide a layer's tolerance: router and expert weights.
    static func weightDTypes(_ layer: CanonicalMoELayer) -> [DType] {
        [layer.router.dtype] + (layer.experts.first.map { [$0.up.dtype, $0.down.dtype] } ?? [])
    }
}
