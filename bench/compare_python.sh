#!/usr/bin/env bash
# Environment steps per second from Python (bench/python_env_bench.py) beside the same work from
# C++ (hc_env_bench, hc_physics_bench) and the NumPy peer (../shared/bench/peer/grid_env.py, or
# $PEER), row by row back to back, as a Markdown table (docs/performance.md#python).
#
#   bench/compare_python.sh      (after ./run.sh test or a Release build in build/)
#
# The gridworld rows compare wall time (hc_env_bench uses real time); the physics rows compare
# CPU time, as hc_physics_bench reports it (one thread, so CPU time is the stepping thread's).
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

echo "### compositional_goals (steps/s, wall time)"
echo
echo "| B | threads | Python \`VectorEnv\` | C++ \`VectorEnv\` | Python / C++ | NumPy peer | Python / peer |"
echo "|---|---|---|---|---|---|---|"
for T in 1 2; do
  for B in 1 16 128 1024; do
    build/bench/hc_env_bench --benchmark_filter="^BM_GoalsStep/B:$B/threads:$T/" \
      --benchmark_format=json >"$OUT/py_cpp_goals_B${B}_T$T.json" 2>/dev/null
    ours compositional_goals "$B" "$T" >"$OUT/py_goals_B${B}_T$T.json"
    [ "$T" = 1 ] && "$PY" "$PEER/grid_env.py" --batch "$B" >"$OUT/py_peer_B$B.txt" 2>&1
    "$PY" - "$OUT/py_cpp_goals_B${B}_T$T.json" "$OUT/py_goals_B${B}_T$T.json" "$OUT/py_peer_B$B.txt" "$B" "$T" <<'PYEOF'
import json, re, sys
cpp = json.load(open(sys.argv[1]))["benchmarks"][0]["items_per_second"]
py = json.loads(open(sys.argv[2]).read().splitlines()[-1])["steps_per_s"]
m = re.search(r'"steps_per_s(?:ec)?"\s*:\s*([0-9.e+]+)', open(sys.argv[3]).read())
peer = float(m.group(1)) if m else float("nan")
peer_cells = f"{peer:,.0f} | {py / peer:.1f}x" if sys.argv[5] == "1" else "- | -"
print(f"| {sys.argv[4]} | {sys.argv[5]} | {py:,.0f} | {cpp:,.0f} | {py / cpp:.0%} | {peer_cells} |")
PYEOF
  done
done

echo
echo "### push (Box2D; steps per CPU second, one thread)"
echo
echo "| B | Python \`VectorEnv\` | C++ \`VectorEnv\` | Python / C++ |"
echo "|---|---|---|---|"
for B in 1 16 128 1024; do
  build/bench/hc_physics_bench --benchmark_filter="^BM_VectorStep/push/B:$B\$" \
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
echo "### One environment, \`Env.step\` (the Gymnasium API; steps/s, wall time)"
echo
echo "| family | Python \`Env.step\` |"
echo "|---|---|"
for F in compositional_goals push; do
  "$PY" bench/python_env_bench.py --family "$F" --batch 1 --threads 1 >"$OUT/py_single_$F.json"
  "$PY" - "$OUT/py_single_$F.json" "$F" <<'PYEOF'
import json, sys
row = json.loads(open(sys.argv[1]).read().splitlines()[0])
print(f"| {sys.argv[2]} | {row['steps_per_s']:,.0f} |")
PYEOF
done
