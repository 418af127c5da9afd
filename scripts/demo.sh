#!/usr/bin/env bash
# Installs what is missing, builds moe-ckpt, and runs the main job on samples/:
# inspect every sample checkpoint, then convert it and inspect the result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product moe-ckpt
bin=.build/release/moe-ckpt
out=$(mktemp -d "${TMPDIR:-/tmp}/moe-ckpt-demo.XXXXXX")
for sample in samples/*/; do
    sample=${sample%/}
    [ -f "$sample/demo.conf" ] || continue
    # demo.conf names the checkpoint path and the conversion to run: CHECKPOINT=…, TO=…, FORMAT=…, EXTRA=…
    CHECKPOINT= TO= FORMAT= EXTRA=
    . "$sample/demo.conf"
    echo "== inspect $sample/$CHECKPOINT"
    "$bin" inspect "$sample/$CHECKPOINT"
    dst="$out/$(basename "$sample")-$TO${FORMAT:+-$FORMAT}"
    echo "== convert → $dst (--to $TO ${FORMAT:+--format $FORMAT} $EXTRA)"
    # shellcheck disable=SC2086
    "$bin" convert "$sample/$CHECKPOINT" "$dst" --to "$TO" ${FORMAT:+--format "$FORMAT"} $EXTRA
    "$bin" inspect "$dst"
    echo
done
echo "outputs in $out"
