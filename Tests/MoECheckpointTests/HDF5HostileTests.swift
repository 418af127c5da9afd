import CHDF5
import Foundation
import Testing

@testable import MoECheckpoint

/// Each rule of formats.md §6.6 and each bad-input case of issue 7, with the exact error case.
@Suite("hostile HDF5 files")
struct HDF5HostileTests {
    /// A valid moe-ckpt file with a float32 `[2, 3]` tensor `w` (at `/w`) and an int64 `n`.
    static func validFile(in scratch: TemporaryFolder, name: String = "valid.h5") throws -> String {
        let dict = try StateDict([
            TensorEntry(key: "w", source: SyntheticStateDict.tensor(.float32, [2, 3], seed: 1), file: "memory"),
            TensorEntry(key: "n", source: SyntheticStateDict.tensor(.int64, [4], seed: 2), file: "memory"),
        ])
        let path = scratch.path(name)
        try SyntheticStateDict.write(dict, to: path)
        return path
    }

    /// Opens `path` for writing and runs `edit` on it under the HDF5 lock.
    static func edit(_ path: String, _ body: (HDF5File, HDF5Scope) throws -> Void) throws {
        let file = try HDF5File.open(path, writable: true)
        try HDF5Library.withLock { try body(file, file.scope()) }
    }

    /// Opens `path` for editing the dataset at `dataset`.
    static func editDataset(_ path: String, _ dataset: String, _ body: (HDF5Object, HDF5Scope) throws -> Void) throws {
        try edit(path) { file, scope in
            let object = try scope.own(H5Dopen2(file.handle.id, dataset, hid_t(H5P_DEFAULT)), .dataset, call: "H5Dopen2")
            try body(object, scope)
        }
    }

    /// Adds a float32 dataset with the convention's attributes, built with `create` options.
    static func addDataset(
        _ path: String, name: String, key: String, shape: [hsize_t], write: Bool, create: (hid_t, HDF5Scope) throws -> Void = { _, _ in }
    ) throws {
        try edit(path) { file, scope in
            var dims = shape
            let space = try scope.own(H5Screate_simple(Int32(dims.count), &dims, nil), .dataspace, call: "H5Screate_simple")
            let plist = try scope.own(H5Pcreate(mc_h5p_dataset_create()), .propertyList, call: "H5Pcreate")
            try create(plist.id, scope)
            let links = try scope.own(H5Pcreate(mc_h5p_link_create()), .propertyList, call: "H5Pcreate")
            try scope.check(H5Pset_create_intermediate_group(links.id, 1), call: "H5Pset_create_intermediate_group")
            let dataset = try scope.own(
                H5Dcreate2(file.handle.id, name, mc_h5t_ieee_f32le(), space.id, links.id, plist.id, hid_t(H5P_DEFAULT)),
                .dataset, call: "H5Dcreate2")
            try dataset.setStringAttribute("key", key, scope)
            try dataset.setStringAttribute("dtype", "float32", scope)
            if write {
                let values = [Float](repeating: 1.5, count: Int(shape.reduce(1, *)))
                _ = try values.withUnsafeBytes {
                    try scope.check(H5Dwrite(dataset.id, mc_h5t_ieee_f32le(), mc_h5s_all(), mc_h5s_all(), hid_t(H5P_DEFAULT), $0.baseAddress), call: "H5Dwrite")
                }
            }
            let keys = ["w", "n"] + (key == "w" ? [] : [key])
            try file.handle.setStringAttribute("keys_json", JSONWriter.compact(.array(keys.map(JSONValue.string))), scope)
        }
    }

    @Test("a file that is not HDF5 is named as such")
    func notHDF5() throws {
        let scratch = try TemporaryFolder()
        let path = scratch.path("text.h5")
        try Data("hello world\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: HDF5Error.notHDF5(file: path, found: "'hello wo'")) { try CheckpointReaders.open(path) }
        let empty = scratch.path("empty.hdf5")
        try Data().write(to: URL(fileURLWithPath: empty))
        #expect(throws: HDF5Error.notHDF5(file: empty, found: "an empty file")) { try CheckpointReaders.open(empty) }
    }

    @Test("a truncated file is reported as truncated")
    func truncated() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for length in [bytes.count / 2, bytes.count - 1, 600] {
            let cut = scratch.path("cut-\(length).h5")
            try bytes.prefix(length).write(to: URL(fileURLWithPath: cut))
            let error = hdf5Error { _ = try CheckpointReaders.open(cut) }
            guard case .truncated(let file, let reason) = error else {
                Issue.record("expected .truncated, got \(String(describing: error))")
                continue
            }
            #expect(file == cut)
            #expect(reason.contains("eof = \(length)"))
        }
    }

    @Test("a dtype attribute that contradicts the stored type is refused")
    func dtypeContradiction() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.editDataset(path, "/w") { dataset, scope in try dataset.setStringAttribute("dtype", "bfloat16", scope) }
        #expect(throws: HDF5Error.dtypeMismatch(file: path, key: "w", dtype: "bfloat16", expected: "uint16", found: "IEEE float32")) {
            try CheckpointReaders.open(path)
        }
        try Self.editDataset(path, "/n") { dataset, scope in try dataset.setStringAttribute("dtype", "float64", scope) }
        try Self.editDataset(path, "/w") { dataset, scope in try dataset.setStringAttribute("dtype", "float32", scope) }
        #expect(throws: HDF5Error.dtypeMismatch(file: path, key: "n", dtype: "float64", expected: "IEEE float64", found: "int64")) {
            try CheckpointReaders.open(path)
        }
    }

    @Test("an unknown dtype attribute is refused")
    func unknownDType() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.editDataset(path, "/w") { dataset, scope in try dataset.setStringAttribute("dtype", "float128", scope) }
        #expect(throws: HDF5Error.unknownDType(file: path, key: "w", dtype: "float128")) { try CheckpointReaders.open(path) }
    }

    @Test("a shape attribute that contradicts the dataset is refused")
    func shapeContradiction() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.editDataset(path, "/w") { dataset, scope in try dataset.setIntegersAttribute("shape", [3, 2], scope) }
        #expect(throws: HDF5Error.shapeMismatch(file: path, key: "w", expected: [3, 2], found: [2, 3])) { try CheckpointReaders.open(path) }
    }

    @Test("a key listed in keys_json without a dataset is a missing key")
    func missingKey() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.edit(path) { file, scope in try scope.check(H5Ldelete(file.handle.id, "/w", hid_t(H5P_DEFAULT)), call: "H5Ldelete") }
        #expect(throws: HDF5Error.missingKey(file: path, key: "w")) { try CheckpointReaders.open(path) }
    }

    @Test("a dataset without a key attribute in a moe-ckpt file is refused")
    func missingKeyAttribute() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.editDataset(path, "/w") { dataset, scope in try scope.check(H5Adelete(dataset.id, "key"), call: "H5Adelete") }
        #expect(throws: HDF5Error.missingAttribute(file: path, object: "/w", attribute: "key")) { try CheckpointReaders.open(path) }
    }

    @Test("a dataset the key index does not list is refused, and so is a key carried twice")
    func unindexedAndDuplicate() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.edit(path) { file, scope in try file.handle.setStringAttribute("keys_json", "[\"w\"]", scope) }
        #expect(throws: HDF5Error.unindexedKey(file: path, key: "n", object: "/n")) { try CheckpointReaders.open(path) }

        let twice = try Self.validFile(in: scratch, name: "twice.h5")
        try Self.addDataset(twice, name: "/copy", key: "w", shape: [2, 3], write: true)
        #expect(throws: HDF5Error.duplicateKey(file: twice, key: "w", objects: ["/copy", "/w"])) { try CheckpointReaders.open(twice) }
    }

    @Test("external and soft links are refused")
    func links() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.edit(path) { file, scope in
            try scope.check(H5Lcreate_external("/etc/other.h5", "/x", file.handle.id, "ext", hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)), call: "H5Lcreate_external")
        }
        #expect(throws: HDF5Error.unsupportedLink(file: path, object: "/ext", kind: "external")) { try CheckpointReaders.open(path) }

        let soft = try Self.validFile(in: scratch, name: "soft.h5")
        try Self.edit(soft) { file, scope in
            try scope.check(H5Lcreate_soft("/w", file.handle.id, "alias", hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)), call: "H5Lcreate_soft")
        }
        #expect(throws: HDF5Error.unsupportedLink(file: soft, object: "/alias", kind: "soft")) { try CheckpointReaders.open(soft) }
    }

    @Test("external raw storage is refused")
    func externalStorage() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.addDataset(path, name: "/outside", key: "outside", shape: [4], write: false) { plist, scope in
            try scope.check(H5Pset_external(plist, "/etc/passwd", 0, 16), call: "H5Pset_external")
        }
        #expect(throws: HDF5Error.externalStorage(file: path, key: "outside")) { try CheckpointReaders.open(path) }
    }

    @Test("filters other than deflate, shuffle and fletcher32 are refused")
    func unknownFilter() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.addDataset(path, name: "/scaled", key: "scaled", shape: [64], write: true) { plist, scope in
            var chunk: [hsize_t] = [16]
            try scope.check(H5Pset_chunk(plist, 1, &chunk), call: "H5Pset_chunk")
            try scope.check(H5Pset_scaleoffset(plist, H5Z_SO_FLOAT_DSCALE, 2), call: "H5Pset_scaleoffset")
        }
        #expect(throws: HDF5Error.unsupportedFilter(file: path, key: "scaled", filter: 6)) { try CheckpointReaders.open(path) }
    }

    @Test("a huge dataset the file does not back is refused before anything is allocated")
    func unbackedStorage() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.addDataset(path, name: "/huge", key: "huge", shape: [1 << 20, 1 << 20], write: false)
        #expect(throws: HDF5Error.storageMismatch(file: path, key: "huge", expectedBytes: 4 << 40, storedBytes: 0)) {
            try CheckpointReaders.open(path)
        }
    }

    @Test("a newer format_version is refused")
    func newerVersion() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        try Self.edit(path) { file, scope in try file.handle.setIntegersAttribute("format_version", [2], scalar: true, scope) }
        #expect(throws: HDF5Error.unsupportedVersion(file: path, expected: 1, found: 2)) { try CheckpointReaders.open(path) }
    }

    @Test("a file from another tool is read by path and stored type; strings are refused")
    func foreignFile() throws {
        let scratch = try TemporaryFolder()
        let path = scratch.path("foreign.h5")
        _ = try HDF5File.create(path)
        try Self.addDataset(path, name: "/model/layer/weight", key: "ignored", shape: [2, 2], write: true)
        try Self.edit(path) { file, scope in
            let dataset = try scope.own(H5Dopen2(file.handle.id, "/model/layer/weight", hid_t(H5P_DEFAULT)), .dataset, call: "H5Dopen2")
            try scope.check(H5Adelete(dataset.id, "key"), call: "H5Adelete")
            try scope.check(H5Adelete(dataset.id, "dtype"), call: "H5Adelete")
            try scope.check(H5Adelete(file.handle.id, "keys_json"), call: "H5Adelete")
        }
        do {
            // Scoped: libhdf5 will not reopen a file for writing while this process reads it.
            let checkpoint = try CheckpointReaders.open(path)
            #expect(checkpoint.stateDict.keys == ["model.layer.weight"])
            #expect(try checkpoint.stateDict["model.layer.weight"]?.source.floats() == [1.5, 1.5, 1.5, 1.5])
        }

        try Self.edit(path) { file, scope in
            let type = try scope.own(H5Tcopy(mc_h5t_c_s1()), .datatype, call: "H5Tcopy")
            try scope.check(H5Tset_size(type.id, 8), call: "H5Tset_size")
            var dims: [hsize_t] = [2]
            let space = try scope.own(H5Screate_simple(1, &dims, nil), .dataspace, call: "H5Screate_simple")
            _ = try scope.own(
                H5Dcreate2(file.handle.id, "text", type.id, space.id, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)),
                .dataset, call: "H5Dcreate2")
        }
        #expect(throws: HDF5Error.unsupportedType(file: path, key: "text", found: "a string")) { try CheckpointReaders.open(path) }
    }

    @Test("a failing library call carries the call name and HDF5's message, and nothing reaches stderr")
    func libraryCallMessage() throws {
        let scratch = try TemporaryFolder()
        let path = try Self.validFile(in: scratch)
        let file = try HDF5File.open(path)
        let error = hdf5Error {
            try HDF5Library.withLock {
                _ = try file.scope("/nope").own(H5Dopen2(file.handle.id, "/nope", hid_t(H5P_DEFAULT)), .dataset, call: "H5Dopen2")
            }
        }
        guard case .libraryCall(let name, let object, let call, let message) = error else {
            Issue.record("expected .libraryCall, got \(String(describing: error))")
            return
        }
        #expect(name == path && object == "/nope" && call == "H5Dopen2")
        #expect(message.contains("not found") || message.contains("doesn't exist"), "\(message)")
    }

    @Test("a file that crashes libhdf5 itself ends as exit 2 and a line naming it, never a core dump")
    func libhdf5CrashIsContained() throws {
        let file = Fixtures.repo.appendingPathComponent("scripts/fuzz/known/libhdf5-1.10.8-free-invalid-pointer.h5").path
        let dir = try TemporaryFolder().url
        for arguments in [["inspect", file], ["convert", file, dir.appendingPathComponent("out").path, "--to", "hf"]] {
            let run = try TestSupport.run(arguments)
            #expect(run.status == 2, "\(arguments[0]): \(run.status) \(run.stderr)")
            let last = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
            // This libhdf5 aborts on it; a fixed one may refuse it with an ordinary error instead.
            #expect(last.hasPrefix("moe-ckpt: error: \(file):"), "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }
}
