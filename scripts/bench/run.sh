#!/usr/bin/env bash
# Builds the forward benchmark in release and times one realistic MoE layer (64 experts,
# D=2048, F=1408, top-8, bf16, 64 tokens) against reading that layer's bytes from disk.
# The 1.1 GB checkpoint is generated once into scripts/bench/data/ (git-ignored).
# Extra arguments go to the harness, e.g. `scripts/bench/run.sh --top-k 6 --repeats 3`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# SwiftPM can keep a stale build plan of the path dependency (a source file added to the main
# package is then "not in scope"); dropping the plan makes it re-scan, and costs nothing else.
rm -f "$here/.build/release.yaml"
swift build -c release --package-path "$here" --product forward-bench >&2
mkdir -p "$here/data"
exec "$here/.build/release/forward-bench" "$here/data" "$@"
