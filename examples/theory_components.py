"""Where a theory run fails to generalise: its held-out loss split by the support's components.

The theory family's support is connected when every module can be reached from every other
through training sets that share modules (0,1 and 1,2 connect 0 to 2). The theory says a student
identifies the modules only on connected support; a disconnected support (two halves that never
meet) leaves the student free to keep the halves apart, so it should fail exactly on the held-out
sets that cross them. This script adapts a trained run to its evaluation's held-out sets, as
`hypercomp eval` does, and reports the relative loss (0.5 x squared error / target power, the
evaluator's rel_loss) per hotness, for the sets within one component and the sets across, and
among the sets within, those that are training sets (held out only in their continuous weights)
and those that are new combinations. A connected support's new combinations are the theory's
test of identification; for a disconnected one, the sets across are.

    PYTHONPATH=build/python python3 examples/theory_components.py RUN_DIR [RUN_DIR ...]

--check also recomputes each set's pooled relative loss over all its tasks and compares it with
the run's own evaluation (summary.json), which validates the split's arithmetic.
"""
import argparse
import sys

import numpy as np

import hypercomp as hc


def support_sets(tasks):
    """The training module sets of a `family.tasks` string ("0,1;1,2"), each as a frozenset."""
    return [frozenset(int(m) for m in module_set.split(",")) for module_set in tasks.split(";")]


def components(sets, num_modules):
    """Connected components of the modules under the training sets (a union-find)."""
    parent = list(range(num_modules))

    def root(m):
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    for module_set in sets:
        ids = sorted(module_set)
        for m in ids[1:]:
            parent[root(m)] = root(ids[0])
    return [root(m) for m in range(num_modules)]


def analyse(run_dir, check):
    policy = hc.load_run(run_dir)
    f = policy.family
    if f.config["name"] != "theory":
        raise SystemExit(f"{run_dir}: a theory run is needed, this one is {f.config['name']}")
    trained = set(support_sets(f.config["tasks"]))
    comp = components(trained, f.config["num_modules"])
    print(f"{run_dir}: support {f.config['tasks']}; {len(set(comp))} component(s)")
    print("  set       where   sets     tasks  rel. loss")
    final = policy.final_metrics() if check else {}
    worst = 0.0
    for name in policy.eval_sets():
        if not name.startswith("ood_hot"):
            continue
        sums = {}  # (where, sets) -> [squared error, target power, tasks]
        for data in policy.eval_data(name):
            modules = np.flatnonzero(data["latent"])
            roots = {comp[m] for m in modules}
            where = ("within" if len(roots) == 1 else "across",
                     "trained" if frozenset(int(m) for m in modules) in trained else "new")
            y = data["query"]["targets"].astype(np.float64)
            out = np.asarray(policy.adapt(data).outputs(data["query"]["inputs"]), np.float64)
            s = sums.setdefault(where, [0.0, 0.0, 0])
            s[0] += ((out - y) ** 2).sum()
            s[1] += (y**2).sum()
            s[2] += 1
        for where in (("within", "trained"), ("within", "new"), ("across", "new")):
            if where in sums:
                sse, power, n = sums[where]
                print(f"  {name:9s} {where[0]:7s} {where[1]:7s} {n:6d}  {0.5 * sse / power:.4f}")
        if check:
            pooled = 0.5 * sum(s[0] for s in sums.values()) / sum(s[1] for s in sums.values())
            reported = final[f"{name}/rel_loss"]
            worst = max(worst, abs(pooled - reported) / reported)
    if check:
        # The same float32 outputs, summed by the evaluator in float32 per chunk of tasks (relative
        # rounding about log2(terms) x 6e-8, some 1e-6 for a set's 10^5 terms) and here in
        # float64: a bound ten times that leaves room for other reduction orders.
        print(f"  check: pooled relative loss within {worst:.1e} of the run's evaluation")
        if worst > 1e-5:
            raise SystemExit(f"{run_dir}: the pooled loss differs from the evaluation by "
                             f"{worst:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories of theory runs")
    parser.add_argument("--check", action="store_true",
                        help="compare the pooled loss with the run's evaluation")
    args = parser.parse_args()
    for run in args.runs:
        analyse(run, args.check)


if __name__ == "__main__":
    sys.exit(main())
