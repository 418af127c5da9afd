#!/usr/bin/env bash
# Seeds scripts/fuzz/corpus-work/TARGET from the committed fixtures (and scripts/fuzz/seeds/).
# Needs unzip and zip for the pickle and zip seeds, and the built harness (scripts/fuzz/build.sh)
# for the HDF5 seeds, which it writes itself (FuzzSeeds).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: seed.sh TARGET}
dir=scripts/fuzz/corpus-work/$target
mkdir -p "$dir"
# Copies each file given on stdin into $dir under a name made from its path.
copy_in() { while read -r f; do cp "$f" "$dir/$(echo "$f" | tr / _)"; done; }
# data.pkl of each torch.save archive given on stdin.
pickles_of() { while read -r f; do unzip -p "$f" '*/data.pkl' > "$dir/$(echo "$f" | tr / _).pkl" 2>/dev/null || rm -f "$dir/$(echo "$f" | tr / _).pkl"; done; }
case "$target" in
    safetensors) find Tests/Fixtures -name '*.safetensors' -size -400k -exec cp {} "$dir"/ \; ;;
    json|moe-config|hf-config|safetensors-index) find Tests/Fixtures -name '*.json' | copy_in ;;
    dcp-metadata) find Tests/Fixtures -name '.metadata' | copy_in ;;
    zip|torch-save)
        find Tests/Fixtures -name '*.pt' -size -100k | copy_in
        # Deflated records (torch writes stored ones): a re-zipped common.pt and OLMo train state.
        scratch=$(mktemp -d)
        for f in Tests/Fixtures/softmax_top2_renorm/megatron/torch_dist/iter_0000001/common.pt \
                 Tests/Fixtures/softmax_top2_renorm/olmo_core/dcp/step1/train/rank0.pt; do
            rm -rf "$scratch"/*; (cd "$scratch" && unzip -q "$OLDPWD/$f" && zip -q -r -9 rezipped.pt .)
            cp "$scratch/rezipped.pt" "$dir/deflated_$(echo "$f" | tr / _)"
        done
        rm -rf "$scratch" ;;
    pickle)
        find Tests/Fixtures -name '*.pt' -size -100k | pickles_of
        find Tests/Fixtures -name '.metadata' | copy_in ;;
    megatron-args) find Tests/Fixtures/*/megatron -name '*.pt' -size -100k | pickles_of ;;
    olmo-config)
        cp scripts/fuzz/seeds/olmo-config/*.json "$dir"/
        find Tests/Fixtures -name 'case.json' | head -4 | copy_in ;;
    hdf5)
        # The target's input is an HDF5FuzzImage program (the file libhdf5 writes for it is what
        # the reader sees), so its seeds are programs the harness writes: the convention as
        # the writer applies it to a fixture's keys and dtypes, and a file from another tool.
        MOE_CKPT_FUZZ_TARGET=hdf5 MOE_CKPT_FUZZ_SEEDS="$dir" ".build-fuzz/${FUZZ_CONFIG:-release}/FuzzParsers" ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
echo "seeded $(ls "$dir" | wc -l) inputs into $dir"
