import CHDF5

/// Turns fuzz bytes into an HDF5 file image that libhdf5 itself writes (core driver, in memory),
/// so the `hdf5` target fuzzes moe-ckpt's own code around libhdf5 (key paths, `key`/`dtype`/
/// `shape` attributes, root metadata, stored types, links, storage checks) on every structure
/// libhdf5 can produce. Mutating raw images instead fuzzes libhdf5's decoder, which crashes
/// within seconds (`docs/security.md`).
///
/// The input is a program: each operation is one byte (`Operation`) followed by its operands;
/// names and values are length-prefixed text, or an index into a vocabulary of the convention's
/// words when the length byte has its top bit set. Missing bytes read as zero.
public enum HDF5FuzzImage {
    /// One step of the program.
    public enum Operation: UInt8, CaseIterable, Sendable {
        /// A group: parent, name.
        case group
        /// A dataset: parent, name, type, rank and dims, layout, then its data from the input.
        case dataset
        /// A string attribute on the last object: name, value.
        case stringAttribute
        /// An int64 attribute on the last object: name, count (0 = scalar), values.
        case integerAttribute
        /// A soft link: parent, name, target path.
        case softLink
        /// An external link: parent, name, file, object.
        case externalLink
        /// A second hard link to the last object: parent, name.
        case hardLink
        /// A float64 attribute on the last object: name, value.
        case floatAttribute
    }

    /// Names the convention and the layouts use; the fuzzer reaches them with one byte.
    static let vocabulary: [String] = [
        "model", "layers", "0", "1", "mlp", "experts", "weight", "bias", "gate", "a.b", "__flat__", "__objects__",
        HDF5Convention.Root.format, HDF5Convention.Root.formatVersion, HDF5Convention.Root.framework,
        HDF5Convention.Root.variant, HDF5Convention.Root.record(.moeConfig), HDF5Convention.Root.configSources,
        HDF5Convention.Root.source, HDF5Convention.Root.keys, HDF5Convention.Dataset.key,
        HDF5Convention.Dataset.dtype, HDF5Convention.Dataset.shape, HDF5Convention.formatName,
        "hf", "megatron", "olmo", "nemo", #"["a.b","model.layers.0.mlp.gate.weight"]"#, #"{"top_k":2,"score_function":"sigmoid"}"#,
        #"[{"kind":"hf_config","file":"config.json","json":{"model_type":"qwen3_moe","num_experts":8}}]"#,
        "model.layers.0.mlp.gate.weight",
    ] + DType.allCases.map(\.rawValue) + [HDF5Convention.Root.record(.attentionHeads), #"{"heads":4,"groups":2,"head_dim":8}"#]

    /// The largest program interpreted, in operations, so one input stays fast.
    static let maxOperations = 48
    /// Largest dataset whose bytes are written from the input.
    static let maxDataBytes = 4096

    /// The image the program in `bytes` builds, or `nil` when libhdf5 refuses a step (a name
    /// that exists, a path through a dataset): the fuzzer then tries another program.
    public static func build(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        try? HDF5Library.withLock {
            var program = Program(bytes: bytes)
            let scope = HDF5Scope(file: "fuzz-image.h5", object: "/")
            let access = try scope.own(H5Pcreate(mc_h5p_file_access()), .propertyList, call: "H5Pcreate")
            try scope.check(H5Pset_fapl_core(access.id, 1 << 16, false), call: "H5Pset_fapl_core")
            let file = try scope.own(H5Fcreate("fuzz-image.h5", mc_h5f_acc_trunc(), hid_t(H5P_DEFAULT), access.id), .file, call: "H5Fcreate")
            let links = try scope.own(H5Pcreate(mc_h5p_link_create()), .propertyList, call: "H5Pcreate")
            try scope.check(H5Pset_create_intermediate_group(links.id, 1), call: "H5Pset_create_intermediate_group")
            var builder = Builder(file: file, links: links, scope: scope)
            for _ in 0..<maxOperations where !program.isAtEnd {
                guard let operation = Operation(rawValue: program.byte() % UInt8(Operation.allCases.count)) else { break }
                try? builder.apply(operation, &program)
            }
            try scope.check(H5Fflush(file.id, H5F_SCOPE_GLOBAL), call: "H5Fflush")
            let size = try scope.checkCount(H5Fget_file_image(file.id, nil, 0), call: "H5Fget_file_image")
            return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                try scope.checkCount(H5Fget_file_image(file.id, buffer.baseAddress, size), call: "H5Fget_file_image")
                initialized = size
            }
        }
    }

    /// Reads operands; bytes past the end read as zero.
    struct Program {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func byte() -> UInt8 {
            defer { offset += 1 }
            return offset < bytes.count ? bytes[offset] : 0
        }

        mutating func int64() -> Int64 {
            (0..<8).reduce(Int64(0)) { value, _ in value << 8 | Int64(byte()) }
        }

        /// Length-prefixed text, or a vocabulary word when the length byte's top bit is set.
        mutating func text() -> String {
            let length = byte()
            if length & 0x80 != 0 { return HDF5FuzzImage.vocabulary[Int(length & 0x7F) % HDF5FuzzImage.vocabulary.count] }
            let start = min(offset, bytes.count)
            let end = min(start + Int(length), bytes.count)
            offset += Int(length)
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
    }

    /// Applies operations to the file being built. Call holding `HDF5Library.withLock`.
    struct Builder {
        let file: HDF5Object
        let links: HDF5Object
        let scope: HDF5Scope
        /// Groups made so far (parents for new objects), root first.
        var groups = ["/"]
        /// The object attributes go on, and hard links point to.
        var last: HDF5Object?
        var lastPath = "/"

        mutating func apply(_ operation: Operation, _ program: inout Program) throws {
            switch operation {
            case .group:
                let path = child(&program)
                last = try scope.own(H5Gcreate2(file.id, path, links.id, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)), .group, call: "H5Gcreate2")
                groups.append(path)
                lastPath = path
            case .dataset:
                try dataset(&program)
            case .stringAttribute:
                let name = program.text()
                try target().setStringAttribute(name, program.text(), scope)
            case .integerAttribute:
                let name = program.text()
                let count = Int(program.byte() % 5)
                let values = (0..<max(count, 1)).map { _ in program.int64() }
                try target().setIntegersAttribute(name, values, scalar: count == 0, scope)
            case .floatAttribute:
                let name = program.text()
                let type = try scope.own(H5Tcopy(mc_h5t_ieee_f64le()), .datatype, call: "H5Tcopy")
                let space = try scope.own(H5Screate(H5S_SCALAR), .dataspace, call: "H5Screate")
                let object = try target()
                let attribute = try scope.own(H5Acreate2(object.id, name, type.id, space.id, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)), .attribute, call: "H5Acreate2")
                var value = Double(bitPattern: UInt64(bitPattern: program.int64()))
                try scope.check(H5Awrite(attribute.id, mc_h5t_native_double(), &value), call: "H5Awrite")
            case .softLink:
                let path = child(&program)
                try scope.check(H5Lcreate_soft(program.text(), file.id, path, links.id, hid_t(H5P_DEFAULT)), call: "H5Lcreate_soft")
            case .externalLink:
                let path = child(&program)
                let target = program.text()
                try scope.check(H5Lcreate_external(target, program.text(), file.id, path, links.id, hid_t(H5P_DEFAULT)), call: "H5Lcreate_external")
            case .hardLink:
                let path = child(&program)
                try scope.check(H5Lcreate_hard(file.id, lastPath, file.id, path, links.id, hid_t(H5P_DEFAULT)), call: "H5Lcreate_hard")
            }
        }

        /// The object attributes go on: the last one made, or the root group.
        func target() throws -> HDF5Object {
            if let last { return last }
            return try scope.own(H5Oopen(file.id, "/", hid_t(H5P_DEFAULT)), .object, call: "H5Oopen")
        }

        /// A new path under one of the groups made so far.
        func child(_ program: inout Program) -> String {
            let parent = groups[Int(program.byte()) % groups.count]
            return (parent == "/" ? "" : parent) + "/" + program.text()
        }

        mutating func dataset(_ program: inout Program) throws {
            let path = child(&program)
            let type = try datatype(program.byte())
            let rank = Int(program.byte() % 4)
            // Dimensions 0–3, or 2^40 (never written: an unallocated dataset the storage check refuses).
            var dims: [hsize_t] = (0..<rank).map { _ in
                let b = program.byte()
                return b == 0xFF ? 1 << 40 : hsize_t(b % 4)
            }
            let space = rank == 0
                ? try scope.own(H5Screate(H5S_SCALAR), .dataspace, call: "H5Screate")
                : try scope.own(H5Screate_simple(Int32(rank), &dims, nil), .dataspace, call: "H5Screate_simple")
            let create = try scope.own(H5Pcreate(mc_h5p_dataset_create()), .propertyList, call: "H5Pcreate")
            let layout = program.byte() % 3
            if layout > 0, rank > 0, !dims.contains(0) {
                var chunk = dims.map { min($0, 2) }
                try scope.check(H5Pset_chunk(create.id, Int32(rank), &chunk), call: "H5Pset_chunk")
                if layout == 2 {
                    try scope.check(H5Pset_shuffle(create.id), call: "H5Pset_shuffle")
                    try scope.check(H5Pset_deflate(create.id, 4), call: "H5Pset_deflate")
                }
            }
            let dataset = try scope.own(H5Dcreate2(file.id, path, type.id, space.id, links.id, create.id, hid_t(H5P_DEFAULT)), .dataset, call: "H5Dcreate2")
            last = dataset
            lastPath = path
            let elements = dims.reduce(hsize_t(1)) { $0.multipliedReportingOverflow(by: $1).partialValue }
            let bytes = Int(min(elements, 1 << 20)) * H5Tget_size(type.id)
            guard bytes > 0, bytes <= HDF5FuzzImage.maxDataBytes, H5Tis_variable_str(type.id) <= 0 else { return }
            var data = [UInt8](repeating: 0, count: bytes)
            for i in data.indices { data[i] = program.byte() }
            try scope.check(H5Dwrite(dataset.id, type.id, mc_h5s_all(), mc_h5s_all(), hid_t(H5P_DEFAULT), &data), call: "H5Dwrite")
        }

        /// The convention's type for a dtype, or one of the types it refuses or reads specially.
        func datatype(_ selector: UInt8) throws -> HDF5Object {
            let dtypes = DType.allCases
            if Int(selector) < dtypes.count * 4 { return try HDF5StoredType.fileType(for: dtypes[Int(selector) % dtypes.count], scope) }
            let type: HDF5Object
            switch selector % 7 {
            case 0:
                type = try scope.own(H5Tcopy(mc_h5t_ieee_f32le()), .datatype, call: "H5Tcopy")
                try scope.check(H5Tset_order(type.id, H5T_ORDER_BE), call: "H5Tset_order")
            case 1:
                // bfloat16 as a user-defined float (the `--h5-native-float` recipe).
                type = try scope.own(H5Tcopy(mc_h5t_ieee_f32le()), .datatype, call: "H5Tcopy")
                try scope.check(H5Tset_fields(type.id, 15, 7, 8, 0, 7), call: "H5Tset_fields")
                try scope.check(H5Tset_offset(type.id, 0), call: "H5Tset_offset")
                try scope.check(H5Tset_precision(type.id, 16), call: "H5Tset_precision")
                try scope.check(H5Tset_size(type.id, 2), call: "H5Tset_size")
                try scope.check(H5Tset_ebias(type.id, 127), call: "H5Tset_ebias")
            case 2:
                type = try scope.own(H5Tcopy(mc_h5t_c_s1()), .datatype, call: "H5Tcopy")
                try scope.check(H5Tset_size(type.id, Int(selector % 5) + 1), call: "H5Tset_size")
            case 3:
                type = try scope.own(H5Tcopy(mc_h5t_c_s1()), .datatype, call: "H5Tcopy")
                try scope.check(H5Tset_size(type.id, mc_h5t_variable()), call: "H5Tset_size")
            case 4:
                type = try scope.own(H5Tcreate(H5T_COMPOUND, 8), .datatype, call: "H5Tcreate")
                try scope.check(H5Tinsert(type.id, "a", 0, mc_h5t_std_i32le()), call: "H5Tinsert")
                try scope.check(H5Tinsert(type.id, "b", 4, mc_h5t_ieee_f32le()), call: "H5Tinsert")
            case 5:
                type = try scope.own(H5Tcreate(H5T_OPAQUE, Int(selector % 3) + 1), .datatype, call: "H5Tcreate")
            default:
                // A 3-byte integer with padding: precision below its size.
                type = try scope.own(H5Tcopy(mc_h5t_std_u32le()), .datatype, call: "H5Tcopy")
                try scope.check(H5Tset_precision(type.id, 24), call: "H5Tset_precision")
            }
            return type
        }
    }
}
