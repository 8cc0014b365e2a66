#!/usr/bin/env bash
# Throughput of distributed meta-training on this machine: the same config, seed and shards run
# as 1 process x 1 thread, 1 process x 1 thread confined to one core (`taskset`: the process
# makes the next step's data on a background thread, which otherwise borrows the second core),
# 1 process x 2 threads (the single-machine default) and 2 processes x 1 thread
# (`hypercomp launch`), back to back, ROUNDS times in alternation. Reports outer steps
# per second (time in outer steps, from summary.json's step_s: evaluations excluded), the ratio
# to 1 x 1, and for the 2-process runs the bytes all-reduced per step and the time per step
# inside collectives (waiting for the slower rank included). The three runs compute the same
# thing (train.shards=2): their metrics files must be bitwise equal, and are checked.
#
#   bench/distributed.sh [CONFIG ...]      (default: the paper goals and hyperteacher configs)
#   STEPS=40 ROUNDS=2 HYPERCOMP=build/app/hypercomp bench/distributed.sh configs/quick/...
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HYPERCOMP:-build/app/hypercomp}
rounds=${ROUNDS:-2}
configs=("$@")
((${#configs[@]})) || configs=(configs/paper/compositional_goals_hnet_linear.yaml
                                configs/paper/hyperteacher_hnet_linear.yaml)
out=$(mktemp -d /tmp/hc-dist-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT

summary() {  # dir -> "steps/s bytes/step comm-ms/step"
  python3 - "$1/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
d = s.get("distributed", {})
n = max(1, s["session_steps"])
print(f'{n / s["step_s"]:.4f} {d.get("bytes_reduced_per_step", 0)} '
      f'{1000 * d.get("comm_s", 0) / n:.2f}')
EOF
}

printf '%-44s %-8s %10s %8s %14s %14s\n' config mode steps/s ratio bytes/step comm_ms/step
for cfg in "${configs[@]}"; do
  steps=${STEPS:-}
  if [ -z "$steps" ]; then
    case "$cfg" in *hyperteacher*) steps=12 ;; *) steps=60 ;; esac
  fi
  common=("train.steps=$steps" "train.eval_every=$steps" "train.checkpoint_every=$steps"
          "train.shards=2" eval.tasks=16 eval.identification=false eval.closed_loop=false)
  declare -A rate=() bytes=() comm=()
  for round in $(seq "$rounds"); do
    for mode in 1x1 1x1core 1x2 2x1; do
      dir="$out/$(basename "$cfg" .yaml)-$mode-$round"
      case $mode in
        1x1) "$bin" train "$cfg" "${common[@]}" train.threads=1 --run-dir "$dir" -q ;;
        1x1core) taskset -c 0 "$bin" train "$cfg" "${common[@]}" train.threads=1 --run-dir "$dir" -q ;;
        1x2) "$bin" train "$cfg" "${common[@]}" train.threads=2 --run-dir "$dir" -q ;;
        2x1) "$bin" launch --nproc 2 train "$cfg" "${common[@]}" train.threads=1 \
               --run-dir "$dir" -q ;;
      esac
      read -r r b c < <(summary "$dir")
      rate[$mode]="${rate[$mode]:-} $r"
      bytes[$mode]=$b
      comm[$mode]="${comm[$mode]:-} $c"
      if ! cmp -s "$out/$(basename "$cfg" .yaml)-1x1-1/metrics.jsonl" "$dir/metrics.jsonl"; then
        echo "error: $mode round $round of $cfg computed something else than 1x1" >&2
        exit 1
      fi
    done
  done
  median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  base=$(echo "${rate[1x1]}" | median)
  for mode in 1x1 1x1core 1x2 2x1; do
    r=$(echo "${rate[$mode]}" | median)
    c=$(echo "${comm[$mode]}" | median)
    printf '%-44s %-8s %10.3f %7.2fx %14s %14s\n' "$(basename "$cfg")" "$mode" "$r" \
      "$(echo "$r / $base" | bc -l)" "${bytes[$mode]}" "$c"
  done
  unset rate bytes comm
done
