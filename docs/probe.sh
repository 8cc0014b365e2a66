#!/usr/bin/env bash
# Regenerates the results regions of docs/probe.md: trains the runs that are missing, then probes
# them and rewrites each family's region (and docs/probe/<family>/: CSV tables and plots).
#
#   docs/probe.sh [goals|hyperteacher|goals-defaults|push|lander|all]     (after a Release build in build/)
#
# A run directory that already holds a finished run (summary.json) is reused, not retrained: after
# a change to a family or policy, remove runs/probe/<family> to train again with the new defaults.
# Environment: SEEDS (training seeds, default "2023"), MODULES (hyperteacher and lander subroutines,
# default every module, or a list such as module_0,module_1), PROBE_ARGS (probe settings), HC (the
# hypercomp binary).
set -euo pipefail
cd "$(dirname "$0")/.."
hc=${HC:-build/app/hypercomp}
what=${1:-all}
SEEDS=${SEEDS:-2023}
MODULES=${MODULES:-}
POLICIES=(hnet_linear anil learned_init)
# The documented results use a third of the epochs and four of the twelve search settings: the
# defaults (configs/probe.yaml) would take hours for the 40 probes below on a shared 2-core machine
# (docs/probe.md, "How the results below were made"); goals-defaults probes compositional_goals
# again with the defaults (network masks), to show what the reduction changes. PROBE_ARGS= (empty) gives the
# defaults to the other two as well.
read -r -a PROBE <<<"${PROBE_ARGS-probe.epochs=30 probe.search.lr=[0.01,0.001] probe.search.init=[0.05,-0.05]}"

runs=()
runs_of() {  # runs_of FAMILY: train what is missing; the run directories in $runs
  local fam=$1 pol seed dir
  runs=()
  for pol in "${POLICIES[@]}"; do
    for seed in $SEEDS; do
      dir=runs/probe/$fam/$pol/seed$seed
      if [ ! -f "$dir/summary.json" ]; then
        rm -rf "$dir"
        "$hc" train "configs/quick/${fam}_$pol.yaml" "train.seed=$seed" --run-dir "$dir" -q
      fi
      runs+=("$dir")
    done
  done
}

if [[ $what == goals || $what == all ]]; then
  runs_of goals
  "$hc" probe "${runs[@]}" "${PROBE[@]}" --out docs/probe/goals --report docs/probe.md --name goals
fi
if [[ $what == hyperteacher || $what == all ]]; then
  runs_of hyperteacher
  subs=()
  [ -n "$MODULES" ] && subs=(--subroutine "$MODULES")
  "$hc" probe "${runs[@]}" "${PROBE[@]}" "${subs[@]}" --out docs/probe/hyperteacher \
    --report docs/probe.md --name hyperteacher
fi
for fam in push lander; do
  if [[ $what == "$fam" || $what == all ]]; then
    runs_of "$fam"
    subs=()
    [[ $fam == lander && -n "$MODULES" ]] && subs=(--subroutine "$MODULES")
    "$hc" probe "${runs[@]}" "${PROBE[@]}" "${subs[@]}" --out "docs/probe/$fam" \
      --report docs/probe.md --name "$fam"
  fi
done
if [[ $what == goals-defaults || $what == all ]]; then
  runs_of goals
  # Network masks only: the bank masks at the default settings would double its 25 minutes.
  "$hc" probe "${runs[@]}" probe.targets=network --out docs/probe/goals-defaults \
    --report docs/probe.md --name goals-defaults
fi
