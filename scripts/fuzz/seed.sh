#!/usr/bin/env bash
# Seeds scripts/fuzz/corpus-work/TARGET from the committed fixtures.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: seed.sh TARGET}
dir=scripts/fuzz/corpus-work/$target
mkdir -p "$dir"
case "$target" in
    safetensors) find Tests/Fixtures -name '*.safetensors' -size -400k -exec cp {} "$dir"/ \; ;;
    json|moe-config|hf-config|safetensors-index)
        find Tests/Fixtures -name '*.json' -exec sh -c 'cp "$1" "$2/$(echo "$1" | tr / _)"' _ {} "$dir" \; ;;
    dcp-metadata) find Tests/Fixtures -name '.metadata' -exec sh -c 'cp "$1" "$2/$(echo "$1" | tr / _)"' _ {} "$dir" \; ;;
    *) find Tests/Fixtures -type f -size -400k | head -200 | while read -r f; do cp "$f" "$dir/$(echo "$f" | tr / _)"; done ;;
esac
echo "seeded $(ls "$dir" | wc -l) inputs into $dir"
