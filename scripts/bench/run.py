#!/usr/bin/env python3
"""moe-ckpt benchmarks: conversion throughput and peak memory against `cp -r` + `sync` and a
torch-based converter on the same bytes, plus inspect latency, at several checkpoint sizes.

    scripts/bench/run.py [--layers 1 3 11] [--out docs/benchmarks-results.md]

Synthetic checkpoints (DeepSeek-V3-style HF keys, 64 experts, D=2048, F=1408, bf16, float32
bias; ~1.44 GB per layer) are made with the project's own writer (BenchSynth) into
scripts/bench/data/ (ignored by git). Ratios, never absolute timings, are the results.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "scripts", "bench", "data")
BIN = os.path.join(ROOT, ".build", "release")
VENV_PY = os.path.join(ROOT, "scripts", "fixtures", ".venv", "bin", "python")


def drop_caches():
    subprocess.run(["sync"], check=True)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def timed(cmd, cold=True):
    """Runs cmd under /usr/bin/time -v; returns (seconds, peak RSS bytes)."""
    if cold:
        drop_caches()
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) * 1024
    return elapsed, rss


def size_of(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--out", default=os.path.join(ROOT, "scripts", "bench", "results.md"))
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "moe-ckpt", "--static-swift-stdlib"], cwd=ROOT, check=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "BenchSynth"], cwd=ROOT, check=True)
    moe = os.path.join(BIN, "moe-ckpt")
    os.makedirs(DATA, exist_ok=True)
    rows = []
    for layers in args.layers:
        src = os.path.join(DATA, f"hf_{layers}l")
        if not os.path.exists(src):
            subprocess.run([os.path.join(BIN, "BenchSynth"), "--out", src, "--layers", str(layers)], check=True)
        nbytes = size_of(src)
        largest = 64 * 2 * 1408 * 2048 * 2  # NeMo's gate_and_up_projs, the largest target tensor
        result = {"layers": layers, "bytes": nbytes, "largest": largest}
        out = os.path.join(DATA, "out")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        result["cp"] = timed(["sh", "-c", f"cp -r {src} {out}/cp && sync"])
        shutil.rmtree(f"{out}/cp")
        jobs = {
            "hf→hf (same layout)": ["--to", "hf"],
            "hf→nemo (stack + transpose)": ["--to", "nemo"],
            "hf→megatron safetensors (concat)": ["--to", "megatron", "--format", "safetensors"],
        }
        probe = subprocess.run([moe, "convert", "--help"], capture_output=True, text=True).stdout
        if "torch_dist" in probe:
            jobs["hf→megatron torch_dist"] = ["--to", "megatron", "--format", "torch_dist"]
            jobs["hf→olmo dcp"] = ["--to", "olmo", "--format", "dcp"]
        for name, flags in jobs.items():
            dst = os.path.join(out, re.sub(r"\W+", "_", name))
            try:
                result[name] = timed([moe, "convert", src, dst] + flags)
            except SystemExit as error:
                result[name] = None
                print(error, file=sys.stderr)
            shutil.rmtree(dst, ignore_errors=True)
            if os.path.exists(dst):
                os.remove(dst)
        if not args.no_torch and os.path.exists(VENV_PY):
            dst = os.path.join(out, "torch.safetensors")
            result["torch hf→nemo"] = timed([VENV_PY, os.path.join(ROOT, "scripts", "bench", "torch_convert.py"), src, dst])
            os.remove(dst)
        times = []
        for _ in range(10):
            start = time.monotonic()
            subprocess.run([moe, "inspect", "--json", src], capture_output=True, check=True)
            times.append(time.monotonic() - start)
        result["inspect"] = min(times)
        rows.append(result)
        shutil.rmtree(out, ignore_errors=True)
        print(json.dumps(result, default=str), flush=True)
    write_report(rows, args.out)


def write_report(rows, path):
    lines = ["| checkpoint | job | time (s) | GB/s | ÷ cp | torch ÷ job | peak RSS (MiB) | RSS − largest tensor (MiB) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gb = r["bytes"] / 1e9
        cp_time = r["cp"][0]
        torch_time = r.get("torch hf→nemo", (None,))[0] if r.get("torch hf→nemo") else None
        for name, value in r.items():
            if name in ("layers", "bytes", "largest", "inspect") or value is None:
                continue
            t, rss = value
            ratio = f"{cp_time / t:.2f}" if name != "cp" else "1.00"
            versus = f"{torch_time / t:.1f}" if torch_time and "nemo" in name and not name.startswith("torch") else ""
            lines.append(f"| {r['layers']} layers, {gb:.1f} GB | {name} | {t:.2f} | {gb / t:.2f} | {ratio} | {versus} | {rss / 2**20:.0f} | {(rss - r['largest']) / 2**20:.0f} |")
        lines.append(f"| {r['layers']} layers, {gb:.1f} GB | inspect --json (best of 10) | {r['inspect'] * 1000:.0f} ms | | | | | |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
