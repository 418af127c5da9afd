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

step inspect samples/megatron_torch_dist
step inspect samples/nemo_hf
# Megatron torch_dist → Hugging Face (DeepSeek-V3 keys, config.json written), then back to
# Megatron at EP=2 and to OLMo-core; the float32 expert bias stays float32 throughout.
step convert samples/megatron_torch_dist "$out/hf" --to hf
step inspect "$out/hf"
step convert "$out/hf" "$out/megatron_ep2" --to megatron --format torch_dist --ep 2
step inspect "$out/megatron_ep2"
step convert samples/nemo_hf "$out/nemo_native.safetensors" --to nemo --dtype bf16
step inspect --json "$out/nemo_native.safetensors"
# The embedded forward reproduces the real library's y; verify compares two checkpoints numerically.
step forward samples/megatron_torch_dist --input samples/input.safetensors --output "$out/y.safetensors"
step verify samples/megatron_torch_dist "$out/hf"
step verify samples/megatron_torch_dist samples/nemo_hf
echo
echo "outputs in $out"
