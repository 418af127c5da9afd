import Foundation
import Testing
@testable import MoECheckpoint

/// Megatron legacy folders split by tensor and pipeline parallelism, against the files the real
/// Megatron-Core 0.16.1 wrote (`legacy_tp2`, `legacy_pp2`, `legacy_tp2_ep2`, made by
/// `scripts/fixtures/gen_megatron.py` from the TP=1 weights through Megatron's own resharding).
@Suite struct MegatronParallelTests {
    /// Every TP/PP legacy fixture with its case folder and the sizes its folder name says.
    static let roots: [(caseDir: URL, root: URL, sizes: Parallelism)] = Fixtures.legacyRoots.compactMap { caseDir, root in
        let name = root.lastPathComponent
        guard name.contains("_tp") || name.contains("_pp") else { return nil }
        func size(_ tag: String) -> Int {
            guard let range = name.range(of: "_\(tag)") else { return 1 }
            return Int(name[range.upperBound...].prefix { $0.isNumber }) ?? 1
        }
        return (caseDir, root, Parallelism(expertParallel: size("ep"), tensorParallel: size("tp"), pipelineParallel: size("pp")))
    }

    /// The rank files of a legacy save root, by folder name, as state dicts.
    static func rankFiles(_ root: String) throws -> [String: TorchStateDict] {
        let files = try LegacyRankFiles(path: root)
        var out: [String: TorchStateDict] = [:]
        for file in files.files {
            let torch = try TorchSaveFile(path: file.path)
            let model = try #require(torch.root.dictValue?["model"]?.dictValue)
            out[file.folder] = try torch.stateDict(model, path: "model")
        }
        return out
    }

    /// Same keys in the same order, same non-tensor values, and every tensor bit-identical.
    static func expectSameRankFiles(_ written: String, _ real: String, label: String) throws {
        let ours = try rankFiles(written)
        let theirs = try rankFiles(real)
        #expect(ours.keys.sorted() == theirs.keys.sorted(), "\(label): rank folders")
        for (folder, real) in theirs {
            let mine = try #require(ours[folder], "\(label): \(folder)")
            #expect(mine.dict.items.map(\.key) == real.dict.items.map(\.key), "\(label) \(folder): key order")
            #expect(mine.objects.map(\.key) == real.objects.map(\.key), "\(label) \(folder): non-tensor entries")
            for (a, b) in zip(mine.tensors, real.tensors) {
                #expect(a.key == b.key && a.shape == b.shape && a.dtype == b.dtype, "\(label) \(folder): \(b.key)")
                #expect(try a.source.bytes() == b.source.bytes(), "\(label) \(folder): \(b.key) bytes")
            }
        }
    }

    /// The merged state dict equals the TP=1 fixture's: keys in order, shapes, dtypes, bytes.
    static func expectSameStateDict(_ merged: Checkpoint, _ reference: Checkpoint, label: String) throws {
        #expect(merged.stateDict.keys == reference.stateDict.keys, "\(label): keys")
        for entry in reference.stateDict.entries {
            let other = try #require(merged.stateDict[entry.key], "\(label): \(entry.key)")
            #expect(other.shape == entry.shape && other.dtype == entry.dtype, "\(label): \(entry.key) \(other.shape)")
            #expect(try other.source.bytes() == entry.source.bytes(), "\(label): \(entry.key)")
        }
        #expect(merged.pickledObjects.stateDict.map(\.key) == reference.pickledObjects.stateDict.map(\.key), "\(label): non-tensor entries")
        #expect(merged.pickledObjects.stateDict.map(\.position) == reference.pickledObjects.stateDict.map(\.position), "\(label): their places")
    }

    @Test(.enabled(if: !roots.isEmpty, "no TP/PP legacy fixtures found"))
    func tpAndPPFixturesMergeToTheTP1Checkpoint() throws {
        #expect(Set(Self.roots.map(\.root.lastPathComponent)) == ["legacy_tp2", "legacy_pp2", "legacy_tp2_ep2"])
        for (caseDir, root, sizes) in Self.roots {
            let merged = try CheckpointReaders.open(root.path)
            #expect(merged.parallelism == sizes, "\(root.path)")
            let reference = try CheckpointReaders.open(caseDir.appendingPathComponent("megatron/legacy").path)
            try Self.expectSameStateDict(merged, reference, label: root.path)
            try MegatronLegacyTests().expectCanonical(merged.stateDict, try CanonicalCase(caseDir), label: root.path)
        }
    }

    @Test(.enabled(if: !roots.isEmpty, "no TP/PP legacy fixtures found"))
    func writingTheTP1CheckpointSplitGivesTheRealRankFiles() throws {
        let folder = try TemporaryFolder()
        for (index, (caseDir, root, sizes)) in Self.roots.enumerated() {
            let destination = folder.path("out\(index)")
            let result = try CLI.run([
                "convert", caseDir.appendingPathComponent("megatron/legacy").path, destination, "--to", "megatron", "--format", "legacy",
                "--tp", "\(sizes.tensorParallel)", "--pp", "\(sizes.pipelineParallel)", "--ep", "\(sizes.expertParallel)",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            try Self.expectSameRankFiles(destination, root.path, label: root.path)
            // args say what Megatron's say about the split.
            let ours = try #require(try CheckpointReaders.open(destination).configSources.compactMap { source -> JSONObject? in
                if case .megatronArgs(_, let fields) = source { return fields } else { return nil }
            }.first)
            let real = try #require(try CheckpointReaders.open(root.path).configSources.compactMap { source -> JSONObject? in
                if case .megatronArgs(_, let fields) = source { return fields } else { return nil }
            }.first)
            for field in ["tensor_model_parallel_size", "pipeline_model_parallel_size", "expert_model_parallel_size",
                          "expert_tensor_parallel_size", "transformer_pipeline_model_parallel_size", "decoder_last_pipeline_num_layers", "num_layers"] {
                #expect(ours[field] == real[field], "\(root.path): args.\(field)")
            }
        }
    }

    @Test(.enabled(if: roots.contains { $0.root.lastPathComponent == "legacy_tp2" }, "no TP=2 legacy fixture found"))
    func tp2ToTP1ToTP2IsBitIdentical() throws {
        let folder = try TemporaryFolder()
        for (caseDir, root, _) in Self.roots where root.lastPathComponent == "legacy_tp2" {
            let tp1 = folder.path("\(caseDir.lastPathComponent)-tp1"), tp2 = folder.path("\(caseDir.lastPathComponent)-tp2")
            _ = try Converter.run(ConvertOptions(source: root.path, destination: tp1, targetLayout: .megatron, targetFormat: .legacy, tensorParallel: 1))
            try Self.expectSameRankFiles(tp1, caseDir.appendingPathComponent("megatron/legacy").path, label: tp1)
            _ = try Converter.run(ConvertOptions(source: tp1, destination: tp2, targetLayout: .megatron, targetFormat: .legacy, tensorParallel: 2))
            try Self.expectSameRankFiles(tp2, root.path, label: tp2)
            // Without --tp, a legacy target keeps the source's split.
            let kept = folder.path("\(caseDir.lastPathComponent)-kept")
            _ = try Converter.run(ConvertOptions(source: root.path, destination: kept, targetLayout: .megatron, targetFormat: .legacy))
            try Self.expectSameRankFiles(kept, root.path, label: kept)
        }
    }

    @Test(.enabled(if: !roots.isEmpty, "no TP/PP legacy fixtures found"))
    func inspectShowsTheTensorAndPipelineSizes() throws {
        for (_, root, sizes) in Self.roots {
            let result = try CLI.run(["inspect", root.path, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try #require(try JSONParser().parse(Array(result.stdout.utf8)).objectValue)
            #expect(json["tp_size"] == .int(sizes.tensorParallel) && json["pp_size"] == .int(sizes.pipelineParallel) && json["ep_size"] == .int(sizes.expertParallel), "\(root.path)")
            #expect(json["moe_layers"]?.arrayValue?.first?.objectValue?["ffn_hidden_size"] == .int(20), "full F after the merge: \(root.path)")
        }
    }

    @Test(.enabled(if: Fixtures.legacyRoots.contains { $0.caseDir.lastPathComponent == "multilayer_softmax_top2" }, "no multilayer fixture"))
    func sizesThatDoNotDivideExitTwoWithOneLine() throws {
        let caseDir = try #require(Fixtures.legacyRoots.first { $0.caseDir.lastPathComponent == "multilayer_softmax_top2" }).caseDir
        let legacy = caseDir.appendingPathComponent("megatron/legacy").path
        let olmo = caseDir.appendingPathComponent("olmo_core/dcp/step1").path
        let folder = try TemporaryFolder()
        let cases: [([String], String)] = [
            ([legacy, folder.path("a"), "--tp", "3"], "--tp 3: num_attention_heads 2 (args) does not divide by it"),
            ([legacy, folder.path("b"), "--pp", "4"], "--pp 4: 3 decoder layers cannot give every stage at least one"),
            // No heads in the Namespace built for an OLMo source: the expert fc1's halves (F = 20) are what --tp 8 cannot split.
            ([olmo, folder.path("c"), "--tp", "8", "--top-k", "2", "--score", "softmax", "--normalize"],
             "--tp 8: tensor 'decoder.layers.1.mlp.experts.local_experts.0.linear_fc1.weight' [40, 32]: each half of dim 0 (20) does not divide by it"),
            ([legacy, folder.path("d"), "--format", "torch_dist", "--tp", "2"], "--tp and --pp split only Megatron legacy output"),
        ]
        for (arguments, message) in cases {
            var full = ["convert"] + arguments + ["--to", "megatron"]
            if !arguments.contains("--format") { full += ["--format", "legacy"] }
            let result = try CLI.run(full)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: arguments[1]), "no partial output")
        }
    }

    @Test(.enabled(if: roots.contains { $0.root.lastPathComponent == "legacy_tp2_ep2" }, "no TP=2 EP=2 fixture found"))
    func aMissingTensorRankFileIsReportedByName() throws {
        let root = try #require(Self.roots.first { $0.root.lastPathComponent == "legacy_tp2_ep2" }).root
        let folder = try TemporaryFolder()
        let copy = folder.url.appendingPathComponent("ckpt")
        try FileManager.default.copyItem(at: root, to: copy)
        let iteration = copy.appendingPathComponent("iter_0000001")
        try FileManager.default.removeItem(at: iteration.appendingPathComponent("mp_rank_01_001"))
        #expect(caught { try CheckpointReaders.open(copy.path) } as? MegatronLegacyError == .missingRankFile(
            folder: iteration.path, name: "mp_rank_01_001", reason: "tensor parallel 2, pipeline parallel 1 and expert parallel 2 need it"))
        // One rank file of a split checkpoint is refused: it holds half of every split tensor.
        let single = iteration.appendingPathComponent("mp_rank_00_000/model_optim_rng.pt").path
        #expect(caught { try CheckpointReaders.open(single) } as? MegatronLegacyError == .unsupportedParallelism(
            path: single, reason: "one rank file of a tensor parallel 2 / pipeline parallel 1 checkpoint holds only part of the model; give the iteration folder"))
    }

    @Test(.enabled(if: roots.filter { $0.root.lastPathComponent == "legacy_tp2" }.count >= 2, "two TP=2 legacy fixtures needed"))
    func shardsThatDoNotBelongTogetherAreRefused() throws {
        let tp2 = Self.roots.filter { $0.root.lastPathComponent == "legacy_tp2" }.map(\.root)
        let folder = try TemporaryFolder()
        let copy = folder.url.appendingPathComponent("ckpt")
        try FileManager.default.copyItem(at: tp2[0], to: copy)
        let iteration = copy.appendingPathComponent("iter_0000001")
        // Rank 1 of another model: its entries do not line up with rank 0's.
        let foreign = iteration.appendingPathComponent("mp_rank_01/model_optim_rng.pt")
        try FileManager.default.removeItem(at: foreign)
        try FileManager.default.copyItem(at: tp2[1].appendingPathComponent("iter_0000001/mp_rank_01/model_optim_rng.pt"), to: foreign)
        let error = caught { try CheckpointReaders.open(copy.path) }
        guard case .shardMismatch(let file, _, _, _, _)? = error as? MegatronLegacyError else {
            Issue.record("expected a shard mismatch, got \(String(describing: error))")
            return
        }
        #expect(file == foreign.path)
        // A tensor rank beyond args' tensor parallel size.
        try FileManager.default.moveItem(at: iteration.appendingPathComponent("mp_rank_01"), to: iteration.appendingPathComponent("mp_rank_02"))
        #expect(caught { try CheckpointReaders.open(copy.path) } as? MegatronLegacyError == .invalidRankFolder(
            folder: iteration.path, name: "mp_rank_02", expected: "ranks below tensor parallel 2, pipeline parallel 1 and expert parallel 1"))
    }

    @Test(.enabled(if: roots.contains { $0.root.lastPathComponent == "legacy_tp2" }, "no TP=2 legacy fixture found"))
    func anExpertTensorParallelOtherThanTPIsRefused() throws {
        let root = try #require(Self.roots.first { $0.root.lastPathComponent == "legacy_tp2" }).root
        let files = try LegacyRankFiles(path: root.path)
        let args = JSONObject([("tensor_model_parallel_size", .int(2)), ("expert_tensor_parallel_size", .int(1)), ("swiglu", .bool(true))])
        #expect(caught { try LegacyParallelSizes(args: args, files: files, path: root.path) } as? MegatronLegacyError == .unsupportedParallelism(
            path: root.path, reason: "expert tensor parallel 1 differs from tensor parallel 2 (args); only ETP = TP is merged"))
        let virtual = JSONObject([("tensor_model_parallel_size", .int(2)), ("virtual_pipeline_model_parallel_size", .int(2))])
        #expect(caught { try LegacyParallelSizes(args: virtual, files: files, path: root.path) } is MegatronLegacyError)
    }
}
