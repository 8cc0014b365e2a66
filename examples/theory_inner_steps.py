"""Whether a theory run's held-out loss is the inner loop's or the student's: adaptation with more steps.

A meta-learned student adapts only its embedding to a new task, for learner.inner_steps steps
from its learned starting point. A held-out task can be missed for two reasons: the steps do not
reach the embedding that fits it (the inner loop's shortfall: more steps would help), or no
embedding of the student fits it (the student's shortfall: its network, right where the training
codes put it, is not the teacher's elsewhere). This script adapts the run to tasks of its
evaluation sets, as `hypercomp eval` draws them, with several step counts, and reports for each
the relative loss (0.5 x squared error / target power, the evaluator's rel_loss) on the support
set the steps fit and on the query set scored. Support and query losses falling together with
steps point at the inner loop; a support loss that stays high points at the student.

    PYTHONPATH=build/python python3 examples/theory_inner_steps.py [--steps 0,100,1000,10000]
        [--tasks 32] [--sets test,ood_hot1,ood_hot2] [--check] RUN_DIR [RUN_DIR ...]

--check compares the rows at the run's own learner.inner_steps with its evaluation (summary.json);
it needs --tasks 0 (every task of each set, as the evaluation scores them).
"""
import argparse
import sys

import numpy as np

import hypercomp as hc


def relative(outputs, targets):
    """Per-set sums for the evaluator's rel_loss: squared error and target power, in float64."""
    out, y = np.asarray(outputs, np.float64), np.asarray(targets, np.float64)
    return ((out - y) ** 2).sum(), (y**2).sum()


def analyse(run_dir, steps, tasks, sets, check):
    policy = hc.load_run(run_dir)
    if policy.family.config["name"] != "theory":
        raise SystemExit(f"{run_dir}: a theory run is needed, this one is "
                         f"{policy.family.config['name']}")
    own = int(policy.config["learner"]["inner_steps"])
    known = policy.eval_sets()
    names = sets or [n for n in known if n == "test" or n.startswith("ood_hot")]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"{run_dir}: no evaluation set {unknown[0]} (known: {', '.join(known)})")
    final = {}
    if check:
        if tasks != 0:
            raise SystemExit("--check needs --tasks 0: the evaluation scores every task of a set")
        if own not in steps:
            raise SystemExit(f"--check needs the run's own inner steps ({own}) among --steps")
        final = policy.final_metrics()
    print(f"{run_dir}: support {policy.family.config['tasks']}"
          f"{' (continuous)' if policy.family.config.get('continuous') else ''}, step "
          f"{policy.step}, trained with {own} inner steps")
    print("  set       tasks  inner steps  support rel. loss  query rel. loss")
    worst = 0.0
    for name in names:
        data = list(policy.eval_data(name))
        if tasks:
            data = data[:tasks]
        for k in steps:
            support = np.zeros(2)
            query = np.zeros(2)
            for d in data:
                adapted = policy.adapt(d, inner_steps=k)
                support += relative(adapted.outputs(d["support"]["inputs"]),
                                    d["support"]["targets"])
                query += relative(adapted.outputs(d["query"]["inputs"]), d["query"]["targets"])
            s, q = 0.5 * support[0] / support[1], 0.5 * query[0] / query[1]
            mark = " (as trained)" if k == own else ""
            print(f"  {name:8s}  {len(data):5d}  {k:11d}  {s:17.4f}  {q:15.4f}{mark}", flush=True)
            if check and k == own:
                ref = final[f"{name}/rel_loss"]
                worst = max(worst, abs(q - ref) / max(abs(ref), 1e-12))
    if check:
        # float32 sums in the evaluator, float64 here; tasks adapted in batches there and one at a
        # time here, which moves outputs in their last bits (examples/theory_components.py)
        print(f"  check: query rel. loss at {own} steps within {worst:.1e} (relative) of the run's")
        if worst > 1e-4:
            raise SystemExit(f"{run_dir}: the query rel. loss at the run's own inner steps differs "
                             f"from its evaluation by {worst:.1e} (relative)")


def counts(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated step counts, got '{text}'")
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected step counts >= 0, got '{text}'")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories of theory runs")
    parser.add_argument("--steps", type=counts, default=[0, 100, 1000, 10000],
                        help="inner step counts to adapt with (default 0,100,1000,10000)")
    parser.add_argument("--tasks", type=int, default=32,
                        help="first tasks of each set to adapt (0: all; default 32)")
    parser.add_argument("--sets", type=lambda s: s.split(","), default=None,
                        help="evaluation sets (default: test and every ood_hot set)")
    parser.add_argument("--check", action="store_true",
                        help="compare the run's own inner steps with its evaluation")
    args = parser.parse_args()
    if args.tasks < 0:
        parser.error(f"--tasks: expected a count >= 0, got {args.tasks}")
    for run in args.runs:
        analyse(run, args.steps, args.tasks, args.sets, args.check)


if __name__ == "__main__":
    sys.exit(main())
