#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (no Python needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test
