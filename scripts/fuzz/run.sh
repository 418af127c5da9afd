#!/usr/bin/env bash
# Long libFuzzer runs of one parser: scripts/fuzz/run.sh TARGET [libFuzzer flags...]
# TARGET is one of the FuzzTarget raw values (safetensors, json, hf-config, moe-config, ...).
# The corpus is seeded from the committed fixtures (scripts/fuzz/seed.sh) and kept in
# scripts/fuzz/corpus-work/TARGET (ignored by git); crashes land in scripts/fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: run.sh TARGET [libFuzzer flags]}; shift
scripts/fuzz/seed.sh "$target"
swift build --scratch-path .build-fuzz --product FuzzParsers \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 | grep -v "Cannot export local symbol" || true
mkdir -p scripts/fuzz/crashes
SWIFT_BACKTRACE=enable=no MOE_CKPT_FUZZ_TARGET="$target" \
    .build-fuzz/debug/FuzzParsers -artifact_prefix=scripts/fuzz/crashes/"$target"- "$@" scripts/fuzz/corpus-work/"$target"
