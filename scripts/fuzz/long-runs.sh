#!/usr/bin/env bash
# Long runs of several targets, one after another (the build machine is shared):
#   scripts/fuzz/long-runs.sh [SECONDS_CAP] [TARGET...]
# Each target runs until 1,000,000 executions or SECONDS_CAP seconds (default 3600), with a
# 5 s per-input timeout (a hang is a finding) and a 512 MB cap on any single allocation (an
# allocation the input cannot back is a finding). Logs go to scripts/fuzz/logs/TARGET.log and
# one summary line per target to scripts/fuzz/logs/summary.tsv:
# target, executions, seconds, exec/s, corpus inputs, result, command.
set -uo pipefail
cd "$(dirname "$0")/../.."
cap=${1:-3600}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors json hf-config moe-config safetensors-index dcp-metadata zip pickle torch-save megatron-args olmo-config hdf5)
mkdir -p scripts/fuzz/logs
[ -n "${FUZZ_SKIP_BUILD:-}" ] || scripts/fuzz/build.sh || exit 1
for target in "${targets[@]}"; do
    flags=(-runs=1000000 -max_total_time="$cap" -timeout=5 -malloc_limit_mb=512 -print_final_stats=1)
    # Pickle-heavy targets run ~150 inputs/s on the fixtures' 20–30 KB pickles under ASan: cap
    # the input size (larger seeds are cut) so the small synthesized seeds carry the run.
    # JSON targets: config files are 1–3 KB; the fixtures' 26 KB manifests halve the rate.
    case "$target" in
        pickle|megatron-args|dcp-metadata|torch-save) flags+=(-max_len=8192) ;;
        json|moe-config|hf-config|safetensors-index) flags+=(-max_len=4096) ;;
        # Headers of the fixtures are at most 10 KB; tensor data past them only costs time.
        safetensors) flags+=(-max_len=12288) ;;
    esac
    log=scripts/fuzz/logs/$target.log
    start=$(date +%s)
    FUZZ_SKIP_BUILD=1 scripts/fuzz/run.sh "$target" "${flags[@]}" > "$log" 2>&1
    status=$?
    seconds=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}')
    corpus=$(ls "scripts/fuzz/corpus-work/$target" | wc -l)
    result=$([ $status -eq 0 ] && echo "no crash, hang or sanitizer report" || echo "FAILED (exit $status): see $log")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "${execs:-?}" "$seconds" "${rate:-?}" "$corpus" "$result" \
        "scripts/fuzz/run.sh $target ${flags[*]}" | tee -a scripts/fuzz/logs/summary.tsv
done
