#!/usr/bin/env bash
# Installs the system packages moe-ckpt builds against, only when one is missing.
# libhdf5-dev (HDF5 via pkg-config), zlib1g-dev (CRC-32, inflate), pkg-config, libopenblas-dev (forward).
set -euo pipefail

packages=(libhdf5-dev zlib1g-dev pkg-config libopenblas-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "setup: the Swift toolchain (6.x) is required and was not found on PATH" >&2
    exit 1
fi
