#!/usr/bin/env python3
"""Checks that h5py reads an HDF5 file written by moe-ckpt with the right values.

Usage: check_hdf5_h5py.py OUT.h5 SOURCE [SOURCE ...]
       check_hdf5_h5py.py --make-all-dtypes SOURCE.safetensors OUT.safetensors

SOURCE is the safetensors file or folder the HDF5 file was converted from (same layout). The
script opens OUT.h5 with plain h5py, follows docs/hdf5.md exactly as a user would (the `key`
attribute gives the state-dict key; bf16 and float8 are raw bits in unsigned integers, decoded
by the `dtype` attribute with ml_dtypes), and compares every tensor, bit for bit, with the same
tensor read from SOURCE by the `safetensors` package. It also decodes bf16 by hand
(`uint16 << 16` viewed as float32) to show the convention needs no ml_dtypes. Exit 0 when
everything matches, 1 otherwise.

--make-all-dtypes copies a small checkpoint with its float weights cast to bf16 (the expert
bias stays float32, as the frameworks keep it) and one extra tensor of every other dtype added
under `extra.*` (non-MoE keys are carried through conversion), so one check covers them all.
"""

import json
import sys
from pathlib import Path

import h5py
import ml_dtypes
import numpy as np
from safetensors import safe_open

# safetensors 0.8's numpy loader looks float8 types up as `numpy.float8_*`, which numpy lacks;
# point those names at ml_dtypes so F8 tensors load (bf16 already goes through ml_dtypes).
for _name in ("float8_e4m3fn", "float8_e5m2"):
    if not hasattr(np, _name):
        setattr(np, _name, getattr(ml_dtypes, _name))

# The `dtype` attribute values stored as raw bits, and the numpy type that decodes them.
RAW_BITS = {
    "bfloat16": (np.uint16, ml_dtypes.bfloat16),
    "float8_e4m3fn": (np.uint8, ml_dtypes.float8_e4m3fn),
    "float8_e5m2": (np.uint8, ml_dtypes.float8_e5m2),
    "bool": (np.uint8, np.bool_),
}


def source_tensors(sources):
    """Every tensor of the safetensors files given (folders: every *.safetensors inside)."""
    tensors = {}
    for source in map(Path, sources):
        files = sorted(source.glob("*.safetensors")) if source.is_dir() else [source]
        for file in files:
            with safe_open(str(file), framework="numpy") as reader:
                for key in reader.keys():
                    tensors[key] = reader.get_tensor(key)
    return tensors


def decode(dataset):
    """The dataset's key and its values as the numpy dtype the `dtype` attribute names."""
    key = dataset.attrs["key"]
    dtype = dataset.attrs["dtype"]
    if not isinstance(key, str) or not isinstance(dtype, str):
        raise AssertionError(f"{dataset.name}: key/dtype attributes must read as str, got {type(key)}, {type(dtype)}")
    raw = dataset[()]
    if dtype in RAW_BITS:
        stored, logical = RAW_BITS[dtype]
        if raw.dtype != stored:
            raise AssertionError(f"{key}: dtype {dtype} should be stored as {np.dtype(stored)}, h5py reads {raw.dtype}")
        values = raw.astype(np.bool_) if dtype == "bool" else raw.view(logical)
    else:
        values = raw
        if values.dtype != np.dtype(dtype):
            raise AssertionError(f"{key}: dtype attribute {dtype}, h5py reads {values.dtype}")
    shape = tuple(int(d) for d in dataset.attrs["shape"])
    if values.shape != shape:
        raise AssertionError(f"{key}: shape attribute {shape}, dataset {values.shape}")
    return key, dtype, raw, values


def make_all_dtypes(source, out):
    """Writes the all-dtypes variant of `source` to `out` (see the module doc)."""
    from safetensors.numpy import save_file

    tensors = {}
    for key, value in source_tensors([source]).items():
        keep = "bias" in key or value.dtype != np.float32
        tensors[key] = value if keep else value.astype(ml_dtypes.bfloat16)
    rng = np.random.default_rng(7)
    base = rng.standard_normal((3, 5)).astype(np.float32) * 4
    tensors.update({
        "extra.float64": base.astype(np.float64),
        "extra.float16": base.astype(np.float16),
        "extra.float8_e4m3fn": base.astype(ml_dtypes.float8_e4m3fn),
        "extra.float8_e5m2": base.astype(ml_dtypes.float8_e5m2),
        "extra.int8": rng.integers(-128, 128, (3, 5), dtype=np.int8),
        "extra.int16": rng.integers(-(2**15), 2**15, (4,), dtype=np.int16),
        "extra.int32": rng.integers(-(2**31), 2**31, (4,), dtype=np.int32),
        "extra.int64": rng.integers(-(2**62), 2**62, (4,), dtype=np.int64),
        "extra.uint8": rng.integers(0, 256, (4,), dtype=np.uint8),
        "extra.bool": rng.integers(0, 2, (2, 3)).astype(np.bool_),
        "extra.scalar": np.array(3.25, dtype=np.float32),
    })
    save_file(tensors, out)
    print(f"wrote {out}: {len(tensors)} tensors")


def main(argv):
    if len(argv) == 4 and argv[1] == "--make-all-dtypes":
        make_all_dtypes(argv[2], argv[3])
        return 0
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path, sources = argv[1], argv[2:]
    expected = source_tensors(sources)
    failures = []
    counts = {}
    with h5py.File(path, "r") as f:
        attrs = f.attrs
        assert attrs["format"] == "moe-ckpt/state-dict", attrs["format"]
        assert int(attrs["format_version"]) == 1
        keys = json.loads(attrs["keys_json"])
        moe = json.loads(attrs["moe_config_json"])
        sources_meta = json.loads(attrs["config_sources_json"])
        framework = attrs.get("framework")
        datasets = []
        f.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        seen = set()
        for dataset in datasets:
            try:
                key, dtype, raw, values = decode(dataset)
            except AssertionError as error:
                failures.append(str(error))
                continue
            seen.add(key)
            counts[dtype] = counts.get(dtype, 0) + 1
            reference = expected.get(key)
            if reference is None:
                failures.append(f"{key}: not in the source")
                continue
            if values.dtype != reference.dtype or values.shape != reference.shape:
                failures.append(f"{key}: h5py gives {values.dtype}{values.shape}, source {reference.dtype}{reference.shape}")
                continue
            if values.tobytes() != np.ascontiguousarray(reference).tobytes():
                failures.append(f"{key}: values differ")
                continue
            if dtype == "bfloat16":
                by_hand = (raw.astype(np.uint32) << 16).view(np.float32)
                if not np.array_equal(by_hand, reference.astype(np.float32), equal_nan=True):
                    failures.append(f"{key}: bf16 decoded by hand differs")
        if set(keys) != seen:
            failures.append(f"keys_json lists {len(keys)} keys, datasets carry {len(seen)}")
        missing = sorted(set(expected) - seen)
        if missing:
            failures.append(f"{len(missing)} source tensors missing, e.g. {missing[:3]}")
    summary = ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))
    print(f"{path}: h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}) read {len(seen)} tensors ({summary}); "
          f"framework={framework}, top_k={moe.get('top_k')}, {len(sources_meta)} config source(s)")
    for failure in failures[:20]:
        print(f"  FAIL {failure}")
    print("  OK: every tensor matches the source bit for bit" if not failures else f"  {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
