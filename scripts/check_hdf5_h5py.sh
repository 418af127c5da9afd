#!/usr/bin/env bash
# Checks with h5py that moe-ckpt's HDF5 files read back with the right values (docs/hdf5.md).
#
#   scripts/check_hdf5_h5py.sh OUT.h5 SOURCE...   check one file against its safetensors source
#   scripts/check_hdf5_h5py.sh                    convert the safetensors fixtures that are
#                                                 checkpoints (plain and --compress) and check each
#
# Makes a throwaway venv (h5py, numpy, ml_dtypes, safetensors from PyPI) and removes it on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  'h5py==3.16.0' 'numpy==2.4.6' 'ml-dtypes==0.6.0' 'safetensors==0.8.0'
CHECK=("$WORK/venv/bin/python" "$ROOT/scripts/check_hdf5_h5py.py")

if [ $# -gt 0 ]; then
  exec "${CHECK[@]}" "$@"
fi

BIN="$ROOT/.build/debug/moe-ckpt"
[ -x "$BIN" ] || (cd "$ROOT" && swift build --product moe-ckpt)
# Fixture roots as the Swift tests find them; a missing root is not an error.
FIXTURES=$({ find "$ROOT/Tests/Fixtures" "$ROOT/../shared/fixtures" ${MOECKPT_FIXTURES:+${MOECKPT_FIXTURES//:/ }} \
             \( -name '*.safetensors' -o -name model.safetensors.index.json \) 2>/dev/null || true; } \
           | sed 's|/model.safetensors.index.json$||' | sort -u)
# One more source with every dtype (bf16 weights, float32 bias, float8, bool, ...), made from
# the first NeMo native fixture.
NATIVE=$(grep '/nemo_automodel/native/model.safetensors$' <<<"$FIXTURES" | head -n 1 || true)
if [ -n "$NATIVE" ]; then
  "${CHECK[@]}" --make-all-dtypes "$NATIVE" "$WORK/all_dtypes.safetensors"
  FIXTURES="$FIXTURES"$'\n'"$WORK/all_dtypes.safetensors"
fi
status=0
checked=0
while IFS= read -r src; do
  # Files in no known layout (activations, canonical tensors) are not checkpoints: skip them.
  layout="$("$BIN" inspect "$src" --json 2>/dev/null \
    | "$WORK/venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["framework"])' 2>/dev/null)" || continue
  for flag in "" "--compress"; do
    out="$WORK/out-$checked$flag.h5"
    if ! "$BIN" convert "$src" "$out" --to "$layout" --format hdf5 $flag >/dev/null 2>"$WORK/err"; then
      echo "skipped $src: convert refused it: $(cat "$WORK/err")"  # e.g. deliberately incomplete experts
      continue 2
    fi
    "${CHECK[@]}" "$out" "$src" || status=1
  done
  checked=$((checked + 1))
done <<<"$FIXTURES"
echo "checked $checked checkpoint(s) with h5py"
[ "$checked" -gt 0 ] || { echo "no safetensors checkpoints found" >&2; exit 1; }
exit $status
