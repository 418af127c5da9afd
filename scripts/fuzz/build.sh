#!/usr/bin/env bash
# Builds the libFuzzer harness (Sources/FuzzParsers) with ASan into .build-fuzz.
# FUZZ_CONFIG=debug builds unoptimised (slower runs, quicker build); release is the default,
# because long runs need the executions: the optimised build runs each input many times faster.
set -euo pipefail
cd "$(dirname "$0")/../.."
config=${FUZZ_CONFIG:-release}
swift build -c "$config" --scratch-path .build-fuzz --product FuzzParsers \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 | grep -v "Cannot export local symbol" || true
test -x ".build-fuzz/$config/FuzzParsers"
