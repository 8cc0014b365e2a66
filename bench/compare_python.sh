#!/usr/bin/env bash
# Environment steps per second from Python (bench/python_env_bench.py) beside the same work from
# C++ (hc_env_bench, hc_physics_bench) and the NumPy peer (../shared/bench/peer/grid_env.py, or
# $PEER), row by row back to back, as a Markdown table (docs/performance.md#python).
#
#   bench/compare_python.sh      (after ./run.sh test or a Release build in build/)
#
# One thread throughout. Python and C++ are compared per second of CPU time (the process's, for
# Python; the benchmark thread's, for Google Benchmark), which a busy shared machine disturbs
# far less than wall time; the NumPy peer prints wall-time rates only, so it is compared with
# Python's wall-time rate measured just before it.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER=${PEER:-../shared/bench/peer}
OUT=${OUT:-build/bench-results}
PY=${PY:-/usr/bin/python3}
export PYTHONPATH=build/python
mkdir -p "$OUT"
[ -f "$PEER/grid_env.py" ] || { echo "peer scripts not found in $PEER (set PEER=...)" >&2; exit 1; }

ours() {  # ours FAMILY B THREADS -> the Python row's JSON
  "$PY" bench/python_env_bench.py --family "$1" --batch "$2" --threads "$3" --no-single
}

echo "### compositional_goals (one thread)"
echo
echo "| B | Python \`VectorEnv\` steps/CPU-s | C++ \`VectorEnv\` steps/CPU-s | Python / C++ | Python steps/s (wall) | NumPy peer steps/s (wall) | Python / peer |"
echo "|---|---|---|---|---|---|---|"
for B in 1 16 128 1024; do
  build/bench/hc_env_bench --benchmark_filter="^BM_GoalsStep/B:$B/threads:1/" \
    --benchmark_format=json >"$OUT/py_cpp_goals_B$B.json" 2>/dev/null
  ours compositional_goals "$B" 1 >"$OUT/py_goals_B$B.json"
  "$PY" "$PEER/grid_env.py" --batch "$B" >"$OUT/py_peer_B$B.txt" 2>&1
  "$PY" - "$OUT/py_cpp_goals_B$B.json" "$OUT/py_goals_B$B.json" "$OUT/py_peer_B$B.txt" "$B" <<'PYEOF'
import json, re, sys
b = json.load(open(sys.argv[1]))["benchmarks"][0]
scale = {"ns": 1e9, "us": 1e6, "ms": 1e3, "s": 1.0}[b["time_unit"]]
cpp = int(sys.argv[4]) * scale / b["cpu_time"]
py = json.loads(open(sys.argv[2]).read().splitlines()[-1])
m = re.search(r'"steps_per_s(?:ec)?"\s*:\s*([0-9.e+]+)', open(sys.argv[3]).read())
peer = float(m.group(1)) if m else float("nan")
print(f"| {sys.argv[4]} | {py['steps_per_cpu_s']:,.0f} | {cpp:,.0f} | {py['steps_per_cpu_s'] / cpp:.0%} "
      f"| {py['steps_per_s']:,.0f} | {peer:,.0f} | {py['steps_per_s'] / peer:.1f}x |")
PYEOF
done

echo
echo "### push (Box2D; one thread)"
echo
echo "| B | Python \`VectorEnv\` steps/CPU-s | C++ \`VectorEnv\` steps/CPU-s | Python / C++ |"
echo "|---|---|---|---|"
for B in 1 16 128 1024; do
  build/bench/hc_physics_bench --benchmark_filter="^BM_VectorStep/push/B:$B/" \
    --benchmark_format=json >"$OUT/py_cpp_push_B$B.json" 2>/dev/null
  ours push "$B" 1 >"$OUT/py_push_B$B.json"
  "$PY" - "$OUT/py_cpp_push_B$B.json" "$OUT/py_push_B$B.json" "$B" <<'PYEOF'
import json, sys
cpp = json.load(open(sys.argv[1]))["benchmarks"][0]["items_per_second"]
py = json.loads(open(sys.argv[2]).read().splitlines()[-1])["steps_per_cpu_s"]
print(f"| {sys.argv[3]} | {py:,.0f} | {cpp:,.0f} | {py / cpp:.0%} |")
PYEOF
done

echo
echo "### One environment, \`Env.step\` (the Gymnasium API)"
echo
echo "| family | steps/CPU-s | steps/s (wall) |"
echo "|---|---|---|"
for F in compositional_goals push; do
  "$PY" bench/python_env_bench.py --family "$F" --batch 1 --threads 1 >"$OUT/py_single_$F.json"
  "$PY" - "$OUT/py_single_$F.json" "$F" <<'PYEOF'
import json, sys
row = json.loads(open(sys.argv[1]).read().splitlines()[0])
print(f"| {sys.argv[2]} | {row['steps_per_cpu_s']:,.0f} | {row['steps_per_s']:,.0f} |")
PYEOF
done
