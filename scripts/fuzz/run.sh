#!/usr/bin/env bash
# Long libFuzzer runs of one parser: scripts/fuzz/run.sh TARGET [libFuzzer flags...]
# TARGET is one of the FuzzTarget raw values (safetensors, json, hf-config, moe-config,
# safetensors-index, dcp-metadata, zip, pickle, torch-save, megatron-args, olmo-config, hdf5).
# The corpus is seeded from the committed fixtures (scripts/fuzz/seed.sh) and kept in
# scripts/fuzz/corpus-work/TARGET (ignored by git); crashes land in scripts/fuzz/crashes/.
# FUZZ_SKIP_BUILD=1 reuses the last build (scripts/fuzz/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: run.sh TARGET [libFuzzer flags]}; shift
config=${FUZZ_CONFIG:-release}
[ -n "${FUZZ_SKIP_BUILD:-}" ] || scripts/fuzz/build.sh
scripts/fuzz/seed.sh "$target"
mkdir -p scripts/fuzz/crashes
SWIFT_BACKTRACE=enable=no MOE_CKPT_FUZZ_TARGET="$target" \
    ".build-fuzz/$config/FuzzParsers" -artifact_prefix=scripts/fuzz/crashes/"$target"- "$@" scripts/fuzz/corpus-work/"$target"
