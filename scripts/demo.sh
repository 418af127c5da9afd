#!/usr/bin/env bash
# Installs what is missing, builds moe-ckpt, and runs the main job on samples/ (see samples/README.md):
# inspect the real checkpoints, convert them between layouts, and inspect the results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A static Swift runtime: no dynamic linking of Foundation at start-up, so inspect stays in milliseconds.
swift build -c release --product moe-ckpt --static-swift-stdlib 2>&1 | { grep -v "mktemp. is dangerous" || true; }
bin=.build/release/moe-ckpt
out=$(mktemp -d "${TMPDIR:-/tmp}/moe-ckpt-demo.XXXXXX")

step() { echo; echo "\$ moe-ckpt $*"; "$bin" "$@"; }

step inspect samples/nemo_hf
step convert samples/nemo_hf "$out/nemo_native.safetensors" --to nemo
step inspect "$out/nemo_native.safetensors"
step convert samples/nemo_hf "$out/megatron.safetensors" --to megatron --format safetensors --dtype bf16
step inspect --json "$out/megatron.safetensors"
echo
echo "outputs in $out"
