#!/usr/bin/env bash
# Regenerates the results regions of docs/probe.md: trains the runs that are missing, then probes
# them and rewrites each region (and docs/probe/<region>/: CSV tables and plots).
#
#   docs/probe.sh [controls|goals|goals-hidden|hyperteacher|push|lander|all] [POLICY...]
#                                                      (after a Release build in build/)
#
# One region per family and policy (goals-anil, ...) and one for the controls, so that each is
# written, and can be committed, as soon as it is done. A run directory that already holds a
# finished run (summary.json) is reused, not retrained: after a change to a family or policy,
# remove runs/probe/<family> to train again. A probe that is stopped keeps its finished subroutine
# probes in docs/probe/<region>/parts (`hypercomp probe --out`): running the same line again
# continues it.
# Environment: SEEDS (training seeds, default "2023 2024 2025": the verdict needs three trained
# models), SETTINGS (the probe settings of the committed results, applied to the controls and to
# every family alike; below), PROBE_ARGS (more settings after them), HC (the hypercomp binary),
# THREADS (train.threads of the runs, default 1), JOBS (subroutine probes at once, `probe --jobs`;
# default: the machine's cores; the results do not depend on it, the times in the report do).
set -euo pipefail
cd "$(dirname "$0")/.."
hc=${HC:-build/app/hypercomp}
what=${1:-all}
shift || true
SEEDS=${SEEDS:-2023 2024 2025}
THREADS=${THREADS:-1}
JOBS=${JOBS:-$(nproc)}
# The committed results use configs/probe.yaml with two changes, so that three trained models per
# policy fit in hours on 2 cores (docs/probe.md, "Results with the current procedure"):
# 30 epochs instead of 90 (4,710 mask steps instead of 14,130; the reference's 157 steps per
# epoch and its temperature schedule, 1 to 200 over the run, are kept) and network masks only
# (a bank mask differentiates through the inner loop, about 25 times the cost of a network
# mask step). SETTINGS= gives the defaults.
SETTINGS=${SETTINGS-probe.epochs=30 probe.targets=network}
# The bank control tests bank masks: it is left out of the controls above and probed alone at
# the small budget its bank masks fit in (BANK_SETTINGS).
CONTROLS=${CONTROLS:-dense,shared,untrained,unstructured}
BANK_SETTINGS=${BANK_SETTINGS-probe.epochs=20 probe.train_tasks=64 probe.batch=8 \
probe.select_tasks=16 probe.test_tasks=32 probe.search.lr=[0.01] probe.search.init=[0.05]}
read -r -a BANK <<<"$BANK_SETTINGS ${PROBE_ARGS:-}"
read -r -a EXTRA <<<"$SETTINGS ${PROBE_ARGS:-}"
policies=("$@")
[ ${#policies[@]} -eq 0 ] && policies=(hnet_linear anil learned_init hnet_mlp)

runs=()
runs_of() {  # runs_of FAMILY POLICY: train what is missing; the run directories in $runs
  local fam=$1 pol=$2 seed dir
  runs=()
  for seed in $SEEDS; do
    dir=runs/probe/$fam/$pol/seed$seed
    if [ ! -f "$dir/summary.json" ]; then
      rm -rf "$dir"
      "$hc" train "configs/quick/${fam}_$pol.yaml" "train.seed=$seed" "train.threads=$THREADS" \
        --run-dir "$dir" -q
    fi
    runs+=("$dir")
  done
}

# What each family is probed with beyond the defaults (configs/probe.yaml), and why, is in
# docs/probe.md ("How the results were made").
settings() {
  case $1 in
    # Accuracy cannot score the lander (the mean action is within the tolerance on 98% of a
    # module's rows): the loss metric, as the actions control shows it can.
    lander) echo "probe.test_tasks=128 probe.metric=loss" ;;
    # 8 module subroutines would double the probe's time: modules 0 to 3, as the earlier results.
    hyperteacher) echo "--subroutine module_0,module_1,module_2,module_3" ;;
    *) echo "" ;;
  esac
}

if [[ $what == controls || $what == all ]]; then
  "$hc" probe --controls "$CONTROLS" "${EXTRA[@]}" --out docs/probe/controls --report docs/probe.md \
    --name controls
  "$hc" probe --controls shared "probe.search.layers=[all]" "${EXTRA[@]}" \
    --out docs/probe/controls-shared-all --report docs/probe.md --name controls-shared-all
  "$hc" probe --controls bank "${BANK[@]}" --out docs/probe/controls-bank --report docs/probe.md \
    --name controls-bank
  "$hc" probe --controls dense,untrained --control-actions "${EXTRA[@]}" probe.metric=loss \
    --out docs/probe/controls-actions --report docs/probe.md --name controls-actions
fi
# goals-hidden: the goals runs with masks that leave the output layer out (its subroutines answer
# in disjoint action classes, which an output-layer mask can split in any network).
if [[ $what == goals-hidden || $what == all ]]; then
  for pol in "${policies[@]}"; do
    runs_of goals "$pol"
    "$hc" probe "${runs[@]}" "${EXTRA[@]}" 'probe.search.layers=[layer1, "layer0,layer1"]' \
      --jobs "$JOBS" --out "docs/probe/goals-hidden/$pol" --report docs/probe.md \
      --name "goals-hidden-$pol"
  done
fi
for fam in goals hyperteacher push lander; do
  [[ $what == "$fam" || $what == all ]] || continue
  for pol in "${policies[@]}"; do
    runs_of "$fam" "$pol"
    read -r -a own <<<"$(settings "$fam")"
    "$hc" probe "${runs[@]}" "${own[@]}" "${EXTRA[@]}" --jobs "$JOBS" \
      --out "docs/probe/$fam/$pol" --report docs/probe.md --name "$fam-$pol"
  done
done
