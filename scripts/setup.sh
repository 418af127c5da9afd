#!/usr/bin/env bash
# Installs the system libraries moe-ckpt builds against, when they are missing:
# libhdf5-dev (HDF5 state dicts), zlib1g-dev and pkg-config (SwiftPM finds both through it).
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
missing=()
for package in libhdf5-dev zlib1g-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system libraries present: libhdf5-dev zlib1g-dev pkg-config"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
