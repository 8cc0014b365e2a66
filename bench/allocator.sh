#!/usr/bin/env bash
# The allocator effect on the meta-step: the trainer's tensor cache (the default) against
# LibTorch's own allocator on glibc malloc, with glibc's defaults and with the settings a careful
# PyTorch user applies (the peer's --malloc tuned: mmap threshold 32 MiB, trim threshold 1 GiB,
# here through GLIBC_TUNABLES). Back to back, ROUNDS times in alternation; ms per meta-step
# (median of each benchmark's repetitions), and the process's system time, which is where page
# faults show.
#
#   bench/allocator.sh [ROW ...]     rows as in hc_meta_step_bench, default
#                                    hyperteacher/hnet_linear/threads:1 grid/hnet_linear/threads:1
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${BENCH:-build/bench/hc_meta_step_bench}
rounds=${ROUNDS:-2}
rows=("$@")
((${#rows[@]})) || rows=(hyperteacher/hnet_linear/threads:1 grid/hnet_linear/threads:1)
tuned="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"
printf '%-40s %-22s %12s %12s\n' row allocator ms/step sys_s
for row in "${rows[@]}"; do
  for round in $(seq "$rounds"); do
    for mode in cache glibc glibc-tuned; do
      env=()
      case $mode in
        glibc) env=(HC_TENSOR_CACHE=0) ;;
        glibc-tuned) env=(HC_TENSOR_CACHE=0 GLIBC_TUNABLES=$tuned) ;;
      esac
      out=$(mktemp)
      /usr/bin/time -f '%S' -o "$out.time" env "${env[@]}" "$bench" --benchmark_filter="^$row/" \
        --benchmark_format=json >"$out" 2>/dev/null
      ms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["benchmarks"][0]["real_time"])' "$out")
      printf '%-40s %-22s %12.0f %12s\n' "$row" "$mode (round $round)" "$ms" "$(cat "$out.time")"
      rm -f "$out" "$out.time"
    done
  done
done
