/// A checkpoint opened for the embedded forward: its canonical model, the routing config
/// (metadata, then options) and the routing flavor of the framework that wrote it.
///
/// Works on whatever `CheckpointReaders` can open; nothing here depends on the container.
public struct ForwardCheckpoint: Sendable {
    public let path: String
    public let model: CanonicalModel
    public let flavor: RoutingFlavor
    /// The file the routing metadata came from, if any.
    public let configSource: String?

    /// Opens `path`. `layout` is `--from`; `overrides` are the routing options, which always win
    /// over the metadata; `flavor` overrides the framework's own routing rules.
    public init(path: String, layout: Layout? = nil, overrides: MoEConfig = MoEConfig(), flavor: RoutingFlavor.Name? = nil) throws {
        let checkpoint = try CheckpointReaders.open(path)
        let resolved = try LayoutCatalog.detect(checkpoint, forced: layout)
        let (meta, source) = MoEConfigResolver.fromMetadata(checkpoint, layout: resolved)
        self.path = path
        model = try CanonicalModel(resolved, of: checkpoint, config: meta.overridden(by: overrides))
        self.flavor = flavor.map(RoutingFlavor.named) ?? .default(for: resolved.table.layout)
        configSource = source
    }

    /// The MoE layer indices, in order.
    public var moeLayers: [Int] { model.layers.map(\.layer) }

    /// The canonical layer `index`, or the first MoE layer.
    public func layer(_ index: Int?) throws -> CanonicalMoELayer {
        guard let first = model.layers.first else { throw ForwardError.noMoELayers(checkpoint: path) }
        guard let index else { return first }
        guard let layer = model.layer(index) else { throw ForwardError.noSuchLayer(checkpoint: path, layer: index, available: moeLayers) }
        return layer
    }

    /// The forward of layer `index` (default: the first MoE layer).
    public func forward(layer index: Int?) throws -> MoELayerForward {
        try MoELayerForward(try layer(index), config: model.config, flavor: flavor, checkpoint: path)
    }
}
