import Foundation
@testable import MoECheckpoint

/// The files of `Tests/Fixtures/hostile/`, each built here byte by byte, with the rule it breaks
/// and the words the CLI's one stderr line must contain. `HostileCorpusTests` checks that the
/// committed files are these bytes and runs the CLI on each; regenerate them with
/// `MOE_CKPT_WRITE_HOSTILE=1 swift test --filter HostileCorpusTests`.
struct HostileCase: Sendable, CustomStringConvertible {
    /// A file, or a folder of named files (DCP checkpoints are folders).
    enum Content {
        case file([UInt8])
        case folder([(name: String, bytes: [UInt8])])
    }

    /// File or folder name under `Tests/Fixtures/hostile/`.
    let name: String
    /// The rule the file breaks (the README's line for it).
    let rule: String
    /// Words the error line must contain, besides the path.
    let expected: [String]
    /// Whether `convert` is also run (and must leave no output).
    var converts = true
    /// Whether the committed bytes must equal a fresh build (libhdf5 stamps object times, so
    /// HDF5 files differ on every write).
    var reproducible = true
    let build: @Sendable () throws -> Content

    var description: String { name }

    static let folder = Fixtures.repo.appendingPathComponent("Tests/Fixtures/hostile")
    var path: String { Self.folder.appendingPathComponent(name).path }
}

enum HostileCorpus {
    static let cases: [HostileCase] = safetensors + zip + pickle + torchSave + dcp + hdf5

    // MARK: - safetensors

    /// A valid two-tensor file: `a` f32 [2] at 0..<8, `b` f32 [2] at 8..<16.
    static let goodHeader = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
    static let goodSafetensors = TestSupport.safetensorsBytes(header: goodHeader, data: Array(0..<16))

    static let safetensors: [HostileCase] = [
        HostileCase(name: "header-length-2-pow-63.safetensors", rule: "the 8-byte header length is 2^63", expected: ["header length", "9223372036854775808"]) {
            .file(TestSupport.safetensorsBytes(header: "{}", declaredLength: 1 << 63))
        },
        HostileCase(name: "truncated-in-length.safetensors", rule: "the file ends inside the 8-byte length prefix", expected: ["8 bytes"]) {
            .file(Array(goodSafetensors.prefix(5)))
        },
        HostileCase(name: "truncated-in-header.safetensors", rule: "the file ends inside the JSON header", expected: ["header"]) {
            .file(Array(goodSafetensors.prefix(8 + goodHeader.utf8.count / 2)))
        },
        HostileCase(name: "truncated-in-data.safetensors", rule: "the file ends inside tensor b's data", expected: ["132 bytes"]) {
            .file(Array(goodSafetensors.prefix(goodSafetensors.count - 4)))
        },
        HostileCase(name: "overlapping-offsets.safetensors", rule: "tensor b's data_offsets overlap a's", expected: ["overlap"]) {
            .file(TestSupport.safetensorsBytes(
                header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                data: Array(0..<12)))
        },
        HostileCase(name: "negative-shape.safetensors", rule: "a shape with a negative dimension", expected: ["'a'", "shape"]) {
            .file(TestSupport.safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}}"#, data: Array(0..<8)))
        },
        HostileCase(name: "overflowing-shape.safetensors", rule: "a shape whose element count overflows 64 bits", expected: ["'a'"]) {
            .file(TestSupport.safetensorsBytes(
                header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]}}"#, data: Array(0..<8)))
        },
        HostileCase(name: "deep-nesting.safetensors", rule: "a header nested 5000 arrays deep (the JSON depth limit is 64)", expected: ["nesting deeper than 64"]) {
            .file(TestSupport.safetensorsBytes(header: #"{"__metadata__":"# + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}"))
        },
    ]

    // MARK: - zip (torch.save containers)

    /// A minimal valid torch.save archive: an empty dict.
    static let goodArchive = RawZip(entries: [
        .init(name: "archive/data.pkl", data: PickleBytes.make { $0.op(0x7D) }),
        .init(name: "archive/version", data: Array("3\n".utf8)),
    ]).bytes()

    /// Offsets of the sections of `goodArchive`: first local header, first data, central
    /// directory, end record.
    static var archiveSections: (local: Int, data: Int, directory: Int, end: Int) {
        let end = goodArchive.count - 22
        let directory = Int(goodArchive[end + 16]) | Int(goodArchive[end + 17]) << 8
        return (0, 30 + "archive/data.pkl".utf8.count, directory, end)
    }

    static let zip: [HostileCase] = [
        HostileCase(name: "zip-bomb-declared-size.pt", rule: "data.pkl is a few deflated bytes that declare 4 GB uncompressed", expected: ["data.pkl", "at most"]) {
            .file(RawZip(entries: [
                .init(name: "archive/data.pkl", data: [UInt8](repeating: 0x4E, count: 1000), method: 8, declaredUncompressed: 0xFFFF_FF00),
                .init(name: "archive/version", data: Array("3\n".utf8)),
            ]).bytes())
        },
        HostileCase(name: "zip64-entry-count-lie.pt", rule: "the ZIP64 end record declares 2^40 entries in a 2-entry directory", expected: ["entries"]) {
            .file(zip64(goodArchive, entryCount: 1 << 40))
        },
        HostileCase(name: "zip64-directory-offset-lie.pt", rule: "the ZIP64 end record puts the central directory at 2^50, past the end of the file", expected: ["central directory"]) {
            .file(zip64(goodArchive, directoryOffset: 1 << 50))
        },
        HostileCase(name: "dotdot-entry.pt", rule: "an entry named archive/../../etc/passwd", expected: ["'..'"]) {
            .file(RawZip(entries: [
                .init(name: "archive/data.pkl", data: PickleBytes.make { $0.op(0x7D) }),
                .init(name: "archive/../../etc/passwd", data: Array("root".utf8)),
            ]).bytes())
        },
        HostileCase(name: "truncated-in-local-header.pt", rule: "the archive ends inside the first local header", expected: ["end-of-central-directory"]) {
            .file(Array(goodArchive.prefix(archiveSections.local + 12)))
        },
        HostileCase(name: "truncated-in-data.pt", rule: "the archive ends inside data.pkl's bytes", expected: ["end-of-central-directory"]) {
            .file(Array(goodArchive.prefix(archiveSections.data + 2)))
        },
        HostileCase(name: "truncated-in-central-directory.pt", rule: "the archive ends inside the central directory", expected: ["end-of-central-directory"]) {
            .file(Array(goodArchive.prefix(archiveSections.directory + 20)))
        },
        HostileCase(name: "truncated-in-end-record.pt", rule: "the archive ends inside the end-of-central-directory record", expected: ["end-of-central-directory"]) {
            .file(Array(goodArchive.prefix(archiveSections.end + 10)))
        },
    ]

    /// `archive` with a ZIP64 end record and locator before its end record, whose fields become
    /// the 0xFFFF/0xFFFFFFFF sentinels; the ZIP64 record says what the arguments say.
    static func zip64(_ archive: [UInt8], entryCount: UInt64? = nil, directoryOffset: UInt64? = nil) -> [UInt8] {
        let end = archive.count - 22
        let classic = Array(archive[end...])
        let count = UInt64(classic[10]) | UInt64(classic[11]) << 8
        let size = classic[12..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let offset = classic[16..<20].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var out = Array(archive[..<end])
        let recordOffset = UInt64(out.count)
        let entries = entryCount ?? count
        out += littleEndian([(0x0606_4B50, 4), (44, 8), (45, 2), (45, 2), (0, 4), (0, 4), (entries, 8), (entries, 8), (size, 8), (directoryOffset ?? offset, 8)])
        out += littleEndian([(0x0706_4B50, 4), (0, 4), (recordOffset, 8), (1, 4)])
        out += littleEndian([(0x0605_4B50, 4), (0, 2), (0, 2), (0xFFFF, 2), (0xFFFF, 2), (0xFFFF_FFFF, 4), (0xFFFF_FFFF, 4), (0, 2)])
        return out
    }

    /// Record fields as (value, byte width), little-endian.
    static func littleEndian(_ fields: [(UInt64, Int)]) -> [UInt8] {
        fields.flatMap { value, width in (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    }

    // MARK: - pickle

    /// A torch.save archive around `pickle`, with the `version` record torch requires.
    static func archive(_ pickle: [UInt8], records: [(String, [UInt8])] = []) -> [UInt8] {
        RawZip(entries: [.init(name: "archive/data.pkl", data: pickle), .init(name: "archive/version", data: Array("3\n".utf8))]
            + records.map { .init(name: "archive/" + $0.0, data: $0.1) }).bytes()
    }

    /// `module.name(argument)` through GLOBAL, TUPLE1 and REDUCE.
    static func call(_ module: String, _ name: String, _ argument: String) -> [UInt8] {
        PickleBytes.make { p in
            p.global(module, name)
            p.string(argument)
            p.op(0x85)
            p.op(0x52)
        }
    }

    static let pickle: [HostileCase] = [
        HostileCase(name: "pickle-os-system.pt", rule: "GLOBAL os.system, REDUCE'd with a shell command", expected: ["data.pkl", "os.system"]) {
            .file(archive(call("os", "system", "touch /tmp/moe-ckpt-pwned")))
        },
        HostileCase(name: "pickle-builtins-eval.pt", rule: "GLOBAL builtins.eval, REDUCE'd with Python source", expected: ["data.pkl", "builtins.eval"]) {
            .file(archive(call("builtins", "eval", "__import__('os').system('id')")))
        },
        HostileCase(name: "pickle-subprocess-popen.pt", rule: "GLOBAL subprocess.Popen, REDUCE'd with a command", expected: ["data.pkl", "subprocess.Popen"]) {
            .file(archive(call("subprocess", "Popen", "id")))
        },
        HostileCase(name: "pickle-memo-bomb.pt", rule: "LONG_BINPUT at memo index 2^31-1 (a list-backed memo would allocate 16 GB)", expected: ["data.pkl", "memo index"]) {
            .file(archive(PickleBytes.make { p in
                p.op(0x4E)
                p.op(0x72, [0xFF, 0xFF, 0xFF, 0x7F])
            }))
        },
        HostileCase(name: "pickle-memo-get-unset.pt", rule: "LONG_BINGET of a memo index never set", expected: ["data.pkl", "memo"]) {
            .file(archive(PickleBytes.make { $0.op(0x6A, [0x00, 0x00, 0x00, 0x40]) }))
        },
        HostileCase(name: "pickle-stack-bomb.pt", rule: "100 001 NONEs pushed (the stack limit is 100 000)", expected: ["data.pkl", "stack"]) {
            .file(archive(PickleBytes.make { p in
                for _ in 0...100_000 { p.op(0x4E) }
            }))
        },
        HostileCase(name: "pickle-mark-bomb.pt", rule: "1001 open MARKs (the limit is 1000)", expected: ["data.pkl", "MARK"]) {
            .file(archive(PickleBytes.make { p in
                for _ in 0...1000 { p.op(0x28) }
            }))
        },
        HostileCase(name: "pickle-deep-nesting.pt", rule: "a tuple nested 2000 deep (the limit is 1000)", expected: ["data.pkl", "nest"]) {
            .file(archive(PickleBytes.make { p in
                p.op(0x29)
                for _ in 0..<2000 { p.op(0x85) }
            }))
        },
        HostileCase(name: "pickle-args-text-bomb.pt", rule: "args.x lists one memoized 100 KB string 700 times: 70 MB of text from a 500-byte file", expected: ["'args'", "bytes of text"]) {
            .file(RawZip(entries: [
                .init(name: "archive/data.pkl", data: argsTextBomb(), method: 8),
                .init(name: "archive/version", data: Array("3\n".utf8)),
            ]).bytes())
        },
        HostileCase(name: "pickle-truncated-mid-opcode.pt", rule: "BINUNICODE declares 16 bytes and the pickle ends after 3", expected: ["data.pkl", "BINUNICODE"]) {
            .file(archive([0x80, 0x02, 0x58, 0x10, 0x00, 0x00, 0x00] + Array("abc".utf8)))
        },
    ]

    /// `{"args": argparse.Namespace(x=[s] * 700)}` with `s` a 100 KB string stored once in the
    /// memo: small for the pickle machine, 70 MB for a view that expands shared values.
    static func argsTextBomb() -> [UInt8] {
        PickleBytes.make { p in
            p.op(0x7D)
            p.string("args")
            p.global("argparse", "Namespace")
            p.op(0x29)
            p.op(0x81)
            p.op(0x7D)
            p.string("x")
            p.op(0x5D)
            p.op(0x28)
            p.string(String(repeating: "A", count: 100_000))
            p.op(0x71, [0])
            for _ in 1..<700 { p.op(0x68, [0]) }
            p.op(0x65)
            p.op(0x73)
            p.op(0x62)
            p.op(0x73)
        }
    }

    // MARK: - tensors in torch.save

    /// `{"w": _rebuild_tensor_v2(FloatStorage "0" of `numel` elements, 0, size, stride)}` with
    /// its record `data/0` of `4 × numel` bytes.
    static func tensorArchive(size: [Int64], stride: [Int64], numel: UInt8 = 4) -> [UInt8] {
        let pickle = PickleBytes.make { p in
            p.op(0x7D)
            p.string("w")
            p.rebuildTensor(storage: "0", numel: numel, size: size, stride: stride)
            p.op(0x73)
        }
        return archive(pickle, records: [("data/0", [UInt8](repeating: 0, count: 4 * Int(numel)))])
    }

    static let torchSave: [HostileCase] = [
        HostileCase(name: "tensor-negative-shape.pt", rule: "tensor w has size (-1, 4)", expected: ["data.pkl", "size"]) {
            .file(tensorArchive(size: [-1, 4], stride: [4, 1]))
        },
        HostileCase(name: "tensor-overflowing-shape.pt", rule: "tensor w has size (2^62, 2^62): its element count overflows", expected: ["data.pkl"]) {
            .file(tensorArchive(size: [1 << 62, 1 << 62], stride: [1 << 62, 1]))
        },
        HostileCase(name: "tensor-outside-storage.pt", rule: "tensor w (4, 4) views a 4-element storage", expected: ["data.pkl", "4 elements"]) {
            .file(tensorArchive(size: [4, 4], stride: [4, 1]))
        },
    ]

    // MARK: - DCP

    /// A torch.distributed.checkpoint folder whose tensor `w` [4, 2] has a chunk at rows 3..<5.
    static let dcp: [HostileCase] = [
        HostileCase(name: "dcp-chunk-outside-tensor", rule: "tensor w [4, 2] has a chunk at offsets (3, 0) of size (2, 2), past row 4", expected: ["'w'", "[4, 2]"]) {
            try dcpFolder { info in
                info = DCPTensorInfo(dtype: .float32, size: [4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2]), DCPChunk(offsets: [3, 0], sizes: [2, 2])])
            }
        },
        HostileCase(name: "dcp-negative-size", rule: "tensor w has global size [-4, 2]", expected: ["w.size", "non-negative", "[-4, 2]"]) {
            try dcpFolder { info in
                info = DCPTensorInfo(dtype: .float32, size: [-4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2]), DCPChunk(offsets: [2, 0], sizes: [2, 2])])
            }
        },
    ]

    /// A valid two-chunk DCP folder written by `DCPWriter`, its `.metadata` re-encoded with
    /// `w`'s info changed by `edit`.
    static func dcpFolder(_ edit: (inout DCPTensorInfo) -> Void) throws -> HostileCase.Content {
        let scratch = try TemporaryFolder()
        let folder = scratch.path("dcp")
        let writer = try DCPWriter(folder: folder, flavor: .megatron)
        let source = InMemoryTensor(floats: (0..<8).map(Float.init), shape: [4, 2])
        var info = DCPTensorInfo(dtype: .float32, size: [4, 2], chunks: [DCPChunk(offsets: [0, 0], sizes: [2, 2]), DCPChunk(offsets: [2, 0], sizes: [2, 2])])
        try writer.write(DCPWriteTensor(fqn: "w", info: info, parts: [.init(source: source, chunks: [(0, 0..<16, 0), (1, 16..<32, 1)])]))
        try writer.finish(checkpointID: "hostile")
        var metadata = try DCPFolder(path: folder).metadata
        edit(&info)
        metadata.items = metadata.items.map { $0.fqn == "w" ? ("w", .tensor(info)) : $0 }
        let encoded = try Pickler().pickle(DCPMetadataEncoder(flavor: .megatron).encode(metadata, checkpointID: "hostile", saveID: "0"))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".distcp") }.sorted()
        return .folder([(DCPFolder.metadataName, encoded)] + (try names.map { ($0, Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)))) }))
    }

    // MARK: - HDF5

    /// A small moe-ckpt HDF5 file (the fuzz harness's seed), cut short.
    static func truncatedHDF5(_ keep: (Int) -> Int) throws -> HostileCase.Content {
        let whole = try FuzzSeeds.hdf5(compress: false)
        return .file(Array(whole.prefix(keep(whole.count))))
    }

    static let hdf5: [HostileCase] = [
        HostileCase(name: "hdf5-truncated-superblock.h5", rule: "the file ends inside the HDF5 superblock (40 of its 96 bytes)", expected: ["superblock"], reproducible: false) {
            try truncatedHDF5 { _ in 40 }
        },
        HostileCase(name: "hdf5-truncated-mid-file.h5", rule: "the file ends half way, inside the datasets' headers and data", expected: ["truncated"], reproducible: false) {
            try truncatedHDF5 { $0 / 2 }
        },
    ]
}
