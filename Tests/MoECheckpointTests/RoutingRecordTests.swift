import Foundation
import Testing

@testable import MoECheckpoint

@Suite("routing record")
struct RoutingRecordTests {
    /// `multilayer_softmax_top2`'s Megatron args: softmax top-2, 2 heads of 16 in 2 groups.
    static let source = Fixtures.repo.appendingPathComponent("Tests/Fixtures/multilayer_softmax_top2/megatron/legacy").path

    @Test("single-file outputs (safetensors, .pt, HDF5) record the routing config and the head layout, and read them back first",
          arguments: [("out.safetensors", ContainerFormat.safetensors), ("out.pt", .pt), ("out.h5", .hdf5)])
    func singleFileOutputs(name: String, format: ContainerFormat) throws {
        let out = try TemporaryFolder().path(name)
        _ = try Converter.run(ConvertOptions(source: Self.source, destination: out, targetLayout: .hf, targetFormat: format))
        let original = try CheckpointReaders.open(Self.source)
        let expected = MoEConfigResolver.fromMetadata(original, layout: try LayoutCatalog.detect(original)).config
        guard case .recorded(_, let config, let heads) = try CheckpointReaders.open(out).configSources.first else {
            Issue.record("\(name): the record is not the first config source")
            return
        }
        #expect(config == expected)
        #expect(heads == AttentionHeads(heads: 2, groups: 2, headDim: 16), "\(name)")
    }

    @Test("a record whose head layout is impossible is refused, naming the file and the field")
    func impossibleHeads() throws {
        let path = try TemporaryFolder().path("bad.safetensors")
        let tensor = InMemoryTensor(dtype: .float32, shape: [1], bytes: [0, 0, 0, 0])
        let record = RoutingRecord(config: MoEConfig(topK: 2), heads: nil).metadataEntries
        try SafetensorsWriter.write(
            [("x", tensor)], metadata: record + [(RoutingRecord.metadataKey(.attentionHeads), #"{"heads":3,"groups":2,"head_dim":8}"#)],
            to: path)
        #expect {
            _ = try CheckpointReaders.open(path)
        } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains("__metadata__.moe_ckpt.attention_heads") && text.contains("G dividing H")
        }
    }
}
