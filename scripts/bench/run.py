#!/usr/bin/env python3
"""moe-ckpt benchmarks (issue 10): conversion throughput and peak memory against `cp -r` + `sync`
and a torch-based converter on the same bytes, inspect latency, verify time per layer, and a
cluster-mode run, at several checkpoint sizes.

    scripts/bench/run.py [--layers 1 3 11] [--python PATH] [--out scripts/bench/results.md]
    scripts/bench/run.py --inspect-only [--layers 1 3 11 30]   # inspect latency only, a minute

Per size it makes a synthetic HF checkpoint (DeepSeek-V3-style keys, 64 experts, D=2048,
F=1408, bf16, float32 bias, ~1.44 GB per layer) with BenchSynth, then a Megatron torch_dist and
an OLMo-core DCP checkpoint from it with moe-ckpt's own writers (those conversions are timed jobs
too), and converts between them. Everything goes to scripts/bench/data/ (ignored by git) and is
deleted as soon as no later job needs it, so the disk holds at most three copies. Each job runs
after `sync; echo 3 > /proc/sys/vm/drop_caches` (cold cache) under `/usr/bin/time -v`. The load
average is recorded with every job: compare ratios from one run, never absolute times.
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "scripts", "bench", "data")
BIN = os.path.join(ROOT, ".build", "release")
VENV_PY = os.path.join(ROOT, "scripts", "fixtures", ".venv", "bin", "python")
# One layer of the synthetic model: the largest tensors moe-ckpt holds whole.
E, D, F = 64, 2048, 1408
LARGEST = E * 2 * F * D * 2  # [E, 2F, D] bf16: NeMo gate_and_up_projs, one layer of Megatron's stacked fc1


def drop_caches():
    subprocess.run(["sync"], check=True)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def timed(cmd, cold=True):
    """Runs cmd under /usr/bin/time -v; returns {seconds, rss, cpu, load}."""
    if cold:
        drop_caches()
    load = os.getloadavg()[0]
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) * 1024
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    return {"seconds": elapsed, "rss": rss, "cpu": user + system, "load": load, "stdout": proc.stdout}


def size_of(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def run_size(moe, python, layers, torch_limit, full_limit):
    """All jobs of one checkpoint size (the core ones above `full_limit` bytes, to bound the
    run time); returns the result rows."""
    hf = os.path.join(DATA, f"hf_{layers}l")
    if not os.path.exists(hf):
        subprocess.run([os.path.join(BIN, "BenchSynth"), "--out", hf, "--layers", str(layers)], check=True)
    nbytes = size_of(hf)
    rows = []
    out = os.path.join(DATA, "out")
    remove(out)
    os.makedirs(out)

    def job(name, cmd, keep=None):
        dst = keep or os.path.join(out, re.sub(r"\W+", "_", name))
        try:
            result = timed(cmd(dst))
        except RuntimeError as error:
            print(error, file=sys.stderr)
            rows.append({"layers": layers, "bytes": nbytes, "job": name, "failed": True})
            return
        result.pop("stdout")
        rows.append({"layers": layers, "bytes": nbytes, "job": name, **result})
        print(json.dumps(rows[-1]), flush=True)
        if keep is None:
            remove(dst)

    def convert(src, *flags):
        return lambda dst: [moe, "convert", src, dst, *flags]

    job("cp -r + sync", lambda dst: ["sh", "-c", f"cp -r {hf} {dst} && sync"])
    job("hf → hf (same layout)", convert(hf, "--to", "hf"))
    job("hf → nemo (stack + transpose)", convert(hf, "--to", "nemo"))
    if python and nbytes <= torch_limit:
        job("torch: hf → nemo", lambda dst: [python, os.path.join(ROOT, "scripts", "bench", "torch_convert.py"), hf, dst + ".safetensors"])
        remove(os.path.join(out, "torch_hf_nemo.safetensors"))
    megatron = os.path.join(DATA, f"megatron_{layers}l")
    job("hf → megatron torch_dist", convert(hf, "--to", "megatron", "--format", "torch_dist"), keep=megatron)
    full = nbytes <= full_limit
    if full:
        job("megatron torch_dist → hf", convert(megatron, "--to", "hf"))
        job("megatron torch_dist → megatron torch_dist --ep 8", convert(megatron, "--to", "megatron", "--format", "torch_dist", "--ep", "8"))
    olmo = os.path.join(DATA, f"olmo_{layers}l")
    if not full:
        # Large sizes: the core jobs only (the run must fit the machine's time), verify of one layer.
        inspect_latency(moe, layers, nbytes, rows, {"hf": hf, "megatron": megatron})
        verify_layers(moe, hf, megatron, layers, nbytes, rows, ["--layer", "0"], 1)
        remove(megatron)
        remove(out)
        return rows
    job("megatron torch_dist → olmo dcp", convert(megatron, "--to", "olmo", "--format", "dcp"), keep=olmo)
    inspect_latency(moe, layers, nbytes, rows, {"hf": hf, "megatron": megatron, "olmo": olmo})
    verify_layers(moe, hf, megatron, layers, nbytes, rows, [], layers)
    remove(megatron)
    job("olmo dcp → hf", convert(olmo, "--to", "hf"))
    job("olmo dcp → megatron torch_dist", convert(olmo, "--to", "megatron", "--format", "torch_dist"))
    remove(olmo)
    cluster(moe, hf, layers, nbytes, rows, out)
    remove(out)
    return rows


def verify_layers(moe, hf, megatron, layers, nbytes, rows, flags, count):
    """`verify` of the HF source against its torch_dist conversion, time per layer (warm)."""
    try:
        verify = timed([moe, "verify", hf, megatron] + flags, cold=False)
        rows.append({"layers": layers, "bytes": nbytes, "job": "verify hf megatron (per layer, warm)",
                     "seconds": verify["seconds"] / count, "rss": verify["rss"], "cpu": verify["cpu"] / count, "load": verify["load"]})
        print(json.dumps(rows[-1]), flush=True)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        rows.append({"layers": layers, "bytes": nbytes, "job": "verify hf megatron", "failed": True})


def inspect_latency(moe, layers, nbytes, rows, sources):
    for name, path in sources.items():
        times = []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(10):
            start = time.monotonic()
            subprocess.run([moe, "inspect", "--json", path], capture_output=True, check=True)
            times.append(time.monotonic() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / 10
        rows.append({"layers": layers, "bytes": nbytes, "job": f"inspect --json {name} (best of 10, warm)", "seconds": min(times),
                     "cpu": cpu, "load": os.getloadavg()[0]})
        print(json.dumps(rows[-1]), flush=True)


def inspect_only(moe, layer_counts, path, machine):
    """`inspect` latency alone, which depends on the tensor count, not the bytes: the same keys as
    the full runs (64 experts per layer) with tiny dims, so it runs in a minute. The baseline in
    the same run is the process start-up (`moe-ckpt --help`)."""
    lines = [machine, "", "| layers | tensors | job | best of 10 (ms) | CPU per run (ms) | ÷ start-up | load |", "|---|---|---|---|---|---|---|"]
    startup = best_of(moe, ["--help"])
    lines.append(f"| | | moe-ckpt --help (start-up) | {startup[0] * 1000:.0f} | {startup[1] * 1000:.0f} | 1.0 | {os.getloadavg()[0]:.1f} |")
    for layers in layer_counts:
        hf = os.path.join(DATA, f"tiny_hf_{layers}l")
        remove(hf)
        subprocess.run([os.path.join(BIN, "BenchSynth"), "--out", hf, "--layers", str(layers), "--hidden", "64", "--ffn", "32",
                        "--shared-ffn", "32", "--vocab", "128"], check=True, capture_output=True)
        tensors = json.loads(subprocess.run([moe, "inspect", "--json", hf], capture_output=True, check=True).stdout)["tensors"]
        sources = {"hf": hf}
        for layout, fmt in (("megatron", "torch_dist"), ("olmo", "dcp")):
            sources[layout] = os.path.join(DATA, f"tiny_{layout}_{layers}l")
            remove(sources[layout])
            subprocess.run([moe, "convert", hf, sources[layout], "--to", layout, "--format", fmt], check=True, capture_output=True)
        for name, src in sources.items():
            wall, cpu = best_of(moe, ["inspect", "--json", src])
            lines.append(f"| {layers} | {tensors} | inspect --json {name} | {wall * 1000:.0f} | {cpu * 1000:.0f} | {wall / startup[0]:.1f} | {os.getloadavg()[0]:.1f} |")
            print(lines[-1], flush=True)
        for src in sources.values():
            remove(src)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def best_of(moe, arguments, runs=10):
    """Best wall time and mean CPU time of `runs` warm runs."""
    times = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run([moe, *arguments], capture_output=True, check=True)
        times.append(time.monotonic() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return min(times), (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs


def cluster(moe, hf, layers, nbytes, rows, out):
    """hf → megatron torch_dist in 2 concurrent parts + finalize, against the same job whole."""
    dst = os.path.join(out, "parted")
    flags = ["--to", "megatron", "--format", "torch_dist", "--shard-size", "500000000"]
    drop_caches()
    load = os.getloadavg()[0]
    start = time.monotonic()
    parts = [subprocess.Popen([moe, "convert", hf, dst, *flags, "--part", f"{i}/2"], stdout=subprocess.DEVNULL) for i in (1, 2)]
    if any(p.wait() != 0 for p in parts):
        raise SystemExit("a part failed")
    subprocess.run([moe, "convert", hf, dst, *flags, "--finalize"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["sync"], check=True)
    rows.append({"layers": layers, "bytes": nbytes, "job": "hf → megatron torch_dist, 2 parts + finalize (one machine)",
                 "seconds": time.monotonic() - start, "load": load})
    print(json.dumps(rows[-1]), flush=True)
    remove(dst)


def write_report(rows, path, machine):
    lines = [machine, "", "| checkpoint | job | time (s) | GB/s | ÷ cp | torch ÷ job | CPU (s) | peak RSS (MiB) | RSS − largest tensor (MiB) | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    by_size = {}
    for r in rows:
        by_size.setdefault(r["layers"], []).append(r)
    for layers, group in by_size.items():
        cp = next((r["seconds"] for r in group if r["job"].startswith("cp") and "seconds" in r), None)
        torch = next((r["seconds"] for r in group if r["job"].startswith("torch") and "seconds" in r), None)
        for r in group:
            gb = r["bytes"] / 1e9
            label = f"{layers} layers, {gb:.1f} GB"
            if r.get("failed"):
                lines.append(f"| {label} | {r['job']} | failed | | | | | | | |")
                continue
            t = r["seconds"]
            if r["job"].startswith("inspect"):
                lines.append(f"| {label} | {r['job']} | {t * 1000:.0f} ms | | | | {r.get('cpu', 0) * 1000:.0f} ms | | | {r['load']:.1f} |")
                continue
            if r["job"].startswith("verify"):
                lines.append(f"| {label} | {r['job']} | {t:.2f} | | | | {r['cpu']:.2f} | {r['rss'] / 2**20:.0f} | | {r['load']:.1f} |")
                continue
            moves = "cp" in r["job"] or "→" in r["job"]
            ratio = f"{cp / t:.2f}" if cp and moves else ""
            versus = f"{torch / t:.1f}" if torch and "hf → nemo" in r["job"] and not r["job"].startswith("torch") else ""
            rss = r.get("rss")
            lines.append(
                f"| {label} | {r['job']} | {t:.1f} | {gb / t:.2f} | {ratio} | {versus} | {r.get('cpu', 0):.1f} | "
                f"{rss / 2**20 if rss else 0:.0f} | {(rss - LARGEST) / 2**20 if rss else 0:.0f} | {r['load']:.1f} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 3, 11])
    parser.add_argument("--out", default=os.path.join(ROOT, "scripts", "bench", "results.md"))
    parser.add_argument("--python", default=VENV_PY, help="the fixtures virtualenv's python (torch baseline); '' to skip")
    parser.add_argument("--torch-limit-gb", type=float, default=6.0, help="largest checkpoint the torch script may load (it needs ~2× in RAM)")
    parser.add_argument("--full-limit-gb", type=float, default=6.0, help="larger checkpoints run only the core jobs")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic HF checkpoints")
    parser.add_argument("--no-build", action="store_true", help="use the release binaries already built")
    parser.add_argument("--inspect-only", action="store_true", help="only inspect latency, on tiny-dim checkpoints with the same keys")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "moe-ckpt", "--static-swift-stdlib"], cwd=ROOT, check=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", "BenchSynth"], cwd=ROOT, check=True)
    moe = os.path.join(BIN, "moe-ckpt")
    python = args.python if args.python and os.path.exists(args.python) else None
    os.makedirs(DATA, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")) / 2**20
    machine = f"Machine: {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, {platform.platform()}; started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()}"
    if args.inspect_only:
        out = args.out if args.out != parser.get_default("out") else os.path.join(ROOT, "scripts", "bench", "results-inspect.md")
        inspect_only(moe, args.layers, out, machine)
        return
    rows = []
    for layers in args.layers:
        rows += run_size(moe, python, layers, args.torch_limit_gb * 1e9, args.full_limit_gb * 1e9)
        write_report(rows, args.out, machine)
        if not args.keep:
            remove(os.path.join(DATA, f"hf_{layers}l"))


if __name__ == "__main__":
    main()
