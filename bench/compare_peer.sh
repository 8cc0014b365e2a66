#!/usr/bin/env bash
# Runs hypercomp's benchmarks and the Python peer's (../shared/bench/peer or $PEER) back to back,
# row by row, and prints a Markdown table of both with their ratio. Raw outputs go to $OUT.
#
#   bench/compare_peer.sh [env|meta|all]      (after ./run.sh test or a Release build in build/)
#
# The peer needs Debian's python3-torch and python3-numpy. Rows are paired in time (ours, then
# the peer's, then the next row) because the machine's speed drifts.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER=${PEER:-../shared/bench/peer}
OUT=${OUT:-build/bench-results}
PY=${PY:-/usr/bin/python3}
what=${1:-all}
mkdir -p "$OUT"
[ -f "$PEER/meta_step.py" ] || { echo "peer scripts not found in $PEER (set PEER=...)" >&2; exit 1; }

json_field() {  # json_field FILE KEY: a field of the last JSON object line in FILE
  "$PY" -c 'import json,sys; l=[x for x in open(sys.argv[1]) if x.startswith("{")]; print(json.loads(l[-1])[sys.argv[2]])' "$1" "$2"
}

if [[ $what == env || $what == all ]]; then
  echo "## compositional_goals step + observation (steps/s)"
  echo
  echo "| B | hypercomp 1 thread | hypercomp 2 threads | memcpy bound | fraction of bound | peer (NumPy, 1 core) | ratio |"
  echo "|---|---|---|---|---|---|---|"
  for B in 1 16 128 1024; do
    build/bench/hc_env_bench --benchmark_filter="^BM_(GoalsStep/B:$B/threads:[12]/|ObservationMemcpy/B:$B\$)" \
      --benchmark_format=json >"$OUT/env_B$B.json" 2>/dev/null
    "$PY" "$PEER/grid_env.py" --batch "$B" >"$OUT/peer_env_B$B.txt" 2>&1
    "$PY" - "$OUT/env_B$B.json" "$OUT/peer_env_B$B.txt" "$B" <<'EOF'
import json, re, sys
bench = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
def rate(prefix):
    for name, b in bench.items():
        if name.startswith(prefix):
            return b["items_per_second"]
    return float("nan")
B = sys.argv[3]
one, two = rate(f"BM_GoalsStep/B:{B}/threads:1"), rate(f"BM_GoalsStep/B:{B}/threads:2")
bound = rate(f"BM_ObservationMemcpy/B:{B}")
text = open(sys.argv[2]).read()
m = re.search(r'"steps_per_s(?:ec)?"\s*:\s*([0-9.e+]+)', text) or re.search(r"([0-9.,]+)\s*steps/s", text)
peer = float(m.group(1).replace(",", "")) if m else float("nan")
print(f"| {B} | {one:,.0f} | {two:,.0f} | {bound:,.0f} | {one / bound:.0%} | {peer:,.0f} | {one / peer:.1f}x |")
EOF
  done
  build/bench/hc_env_bench --benchmark_filter='^BM_GoalsDemonstrations' --benchmark_format=json \
    >"$OUT/env_demos.json" 2>/dev/null
  "$PY" - "$OUT/env_demos.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["benchmarks"][0]
print(f"\nExpert demonstrations: {b['items_per_second']:,.0f} demos/s, "
      f"{b['rows_per_demo']:.1f} steps per demo (1 thread).\n")
EOF
fi

if [[ $what == meta || $what == all ]]; then
  echo "## Meta-step, second order (ms per step, lower is better)"
  echo
  echo "| row | threads | hypercomp | tuned peer (PyTorch) | speed-up | untuned peer | compute floor | floor / step | peak RSS |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for row in "hyperteacher hnet_linear 3" "hyperteacher anil 3" "hyperteacher learned_init 3" "grid hnet_linear 5"; do
    read -r task model steps <<<"$row"
    for threads in 1 2; do
      name="$task/$model/threads:$threads"
      # Ours in float32 and, where its products are large enough, with learner.precision bf16.
      variants=("")
      [[ $task == hyperteacher ]] && variants+=("/bf16")
      for v in "${variants[@]}"; do
        build/bench/hc_meta_step_bench --benchmark_filter="^$name${v:-}/iterations" --benchmark_format=json \
          >"$OUT/meta_${task}_${model}_$threads${v/\//_}.json" 2>/dev/null
      done
      # The peer as a careful user runs it (--malloc tuned, its default), then with glibc's
      # default allocator settings, for reference.
      "$PY" "$PEER/meta_step.py" --task "$task" --model "$model" --threads "$threads" --steps "$steps" \
        --malloc tuned >"$OUT/peer_meta_${task}_${model}_$threads.txt" 2>&1
      "$PY" "$PEER/meta_step.py" --task "$task" --model "$model" --threads "$threads" --steps "$steps" \
        --malloc default >"$OUT/peer_untuned_meta_${task}_${model}_$threads.txt" 2>&1
      for v in "${variants[@]}"; do
        "$PY" - "$OUT/meta_${task}_${model}_$threads${v/\//_}.json" "$OUT/peer_meta_${task}_${model}_$threads.txt" \
          "$task/$model${v:+ (bf16)}" "$threads" "$OUT/peer_untuned_meta_${task}_${model}_$threads.txt" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["benchmarks"][0]
ours = b["real_time"]
def peer_ms(path):
    return [json.loads(l) for l in open(path) if l.startswith("{")][-1]["ms_per_meta_step_median"]
peer, untuned = peer_ms(sys.argv[2]), peer_ms(sys.argv[5])
floor = b.get("floor_ms")
floor_txt = f"{floor:,.0f} ms" if floor else "-"
frac = f"{floor / ours:.0%}" if floor else "-"
print(f"| {sys.argv[3]} | {sys.argv[4]} | {ours:,.0f} | {peer:,.0f} | {peer / ours:.2f}x | {untuned:,.0f} | {floor_txt} | {frac} | {b['peak_rss_mb']:,.0f} MB |")
EOF
      done
    done
  done
  build/bench/hc_meta_step_bench --benchmark_filter='intra_op' --benchmark_format=json \
    >"$OUT/meta_intra_op.json" 2>/dev/null
  "$PY" - "$OUT/meta_intra_op.json" <<'EOF'
import json, sys
print()
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    print(f"Torch intra-op threads instead of shards, {b['name'].split('/iterations')[0]}: "
          f"{b['real_time']:,.0f} ms per step.  ")
EOF
fi
