#!/usr/bin/env bash
# Regenerates the results regions of docs/probe.md: trains the runs that are missing, then probes
# them and rewrites each region (and docs/probe/<region>/: CSV tables and plots).
#
#   docs/probe.sh [controls|goals|hyperteacher|push|lander|all] [POLICY...]
#                                                      (after a Release build in build/)
#
# One region per family and policy (goals-anil, ...) and one for the controls, so that each is
# written, and can be committed, as soon as it is done. A run directory that already holds a
# finished run (summary.json) is reused, not retrained: after a change to a family or policy,
# remove runs/probe/<family> to train again.
# Environment: SEEDS (training seeds, default "2023 2024 2025": the verdict needs three trained
# models), PROBE_ARGS (probe settings added to each family's, e.g. probe.epochs=30), HC (the
# hypercomp binary), THREADS (train.threads of the runs, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
hc=${HC:-build/app/hypercomp}
what=${1:-all}
shift || true
SEEDS=${SEEDS:-2023 2024 2025}
THREADS=${THREADS:-1}
read -r -a EXTRA <<<"${PROBE_ARGS:-}"
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
    lander) echo "probe.test_tasks=128" ;;
    *) echo "" ;;
  esac
}

if [[ $what == controls || $what == all ]]; then
  "$hc" probe --controls all "${EXTRA[@]}" --out docs/probe/controls --report docs/probe.md \
    --name controls
  "$hc" probe --controls shared "probe.search.layers=[all]" "${EXTRA[@]}" \
    --out docs/probe/controls-shared-all --report docs/probe.md --name controls-shared-all
fi
for fam in goals hyperteacher push lander; do
  [[ $what == "$fam" || $what == all ]] || continue
  for pol in "${policies[@]}"; do
    runs_of "$fam" "$pol"
    read -r -a own <<<"$(settings "$fam")"
    "$hc" probe "${runs[@]}" "${own[@]}" "${EXTRA[@]}" --out "docs/probe/$fam/$pol" \
      --report docs/probe.md --name "$fam-$pol"
  done
done
