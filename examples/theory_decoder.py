"""Whether a theory run's identification R^2 is short because of the student or the decoder.

The run's id/r2_ood_hot{k} fits a ridge decoder (eval.ridge_l2 and eval.ridge_intercept) from the
adapted embedding to the true code on training combinations (the "test" set) and scores it on the
held-out k-hot codes. With continuous codes every active training weight lies in [0.5, 1), so a
1-hot code, with all other weights at 0, lies outside the codes the decoder was fitted on: an
embedding that encodes the held-out codes linearly can still score low there if the map fitted
on the training codes does not extend to them. This script scores two decoders on the same
adapted embeddings:

  training fit   fitted on the training combinations, as the run's metric (its R^2 reproduces
                 id/r2_ood_hot{k}; --check asserts it)
  held-out fit   fitted on the held-out 1- to 3-hot codes themselves, two folds (each task scored
                 by the decoder fitted on the other fold)

A high held-out fit beside a low training fit locates the shortfall in the decoder's
extrapolation. The held-out fit is not a test of identification: the two folds share module
sets, so it says only that the held-out codes can be read off the embeddings linearly, which
doomed supports achieve too (R^2 0.88 for two_triples at 3,000 steps).

    PYTHONPATH=build/python python3 examples/theory_decoder.py [--check] [--inner-steps K]
        RUN_DIR [RUN_DIR ...]

--inner-steps adapts with K steps instead of the run's learner.inner_steps (examples/
theory_inner_steps.py: whether the held-out embeddings are reached); --check needs the run's own.
"""
import argparse
import sys

import numpy as np

import hypercomp as hc

HOT = ("ood_hot1", "ood_hot2", "ood_hot3")


def ridge(x, y, l2, intercept):
    """A ridge decoder as trainer/identification.cpp fits it: a function of embeddings."""
    mx = x.mean(0) if intercept else np.zeros(x.shape[1])
    my = y.mean(0) if intercept else np.zeros(y.shape[1])
    xc, yc = x - mx, y - my
    n, f = xc.shape
    if f <= n:
        w = np.linalg.solve(xc.T @ xc + l2 * np.eye(f), xc.T @ yc)
    else:  # more features than tasks: the dual form, as there
        w = xc.T @ np.linalg.solve(xc @ xc.T + l2 * np.eye(n), yc)
    return lambda e: (e - mx) @ w + my


def r2(y, pred):
    """Mean over the code's columns that vary of 1 - residual / total sum of squares."""
    tot = ((y - y.mean(0)) ** 2).sum(0)
    res = ((y - pred) ** 2).sum(0)
    defined = tot > 1e-12
    return float(np.mean(1.0 - res[defined] / tot[defined]))


def embeddings(policy, name, limit, steps):
    """The adapted fast parameters (flattened) and true codes of an evaluation set's first tasks."""
    xs, ys = [], []
    for data in policy.eval_data(name):
        if len(xs) == limit:
            break
        fast = policy.adapt(data, inner_steps=steps).fast
        xs.append(np.concatenate([np.ravel(v) for v in fast.values()]).astype(np.float64))
        ys.append(np.asarray(data["latent"], np.float64))
    return np.array(xs), np.array(ys)


def analyse(run_dir, check, steps):
    policy = hc.load_run(run_dir)
    if policy.family.config["name"] != "theory":
        raise SystemExit(f"{run_dir}: a theory run is needed, this one is "
                         f"{policy.family.config['name']}")
    ev = policy.config["eval"]
    limit, l2, icpt = int(ev["identification_tasks"]), float(ev["ridge_l2"]), ev["ridge_intercept"]
    if check and steps is not None and steps != int(policy.config["learner"]["inner_steps"]):
        raise SystemExit(f"{run_dir}: --check compares with the run's own evaluation, adapted with "
                         f"learner.inner_steps = {policy.config['learner']['inner_steps']}, not "
                         f"--inner-steps {steps}")
    xf, yf = embeddings(policy, "test", limit, steps)
    decode = ridge(xf, yf, l2, icpt)
    missing = [k for k in HOT if k not in policy.eval_sets()]
    if missing:
        raise SystemExit(f"{run_dir}: no evaluation set {', '.join(missing)}; the decoder is "
                         "scored on the 1- to 3-hot held-out sets (family.num_modules >= 3)")
    held = {k: embeddings(policy, k, limit, steps) for k in HOT}
    # Two folds over the pooled held-out tasks: alternate tasks of every set.
    pred_held = {}
    for fold in (0, 1):
        fit_x = np.concatenate([held[k][0][1 - fold::2] for k in HOT])
        fit_y = np.concatenate([held[k][1][1 - fold::2] for k in HOT])
        decode_fold = ridge(fit_x, fit_y, l2, icpt)
        for k in HOT:
            pred_held.setdefault(k, np.zeros_like(held[k][1]))[fold::2] = decode_fold(
                held[k][0][fold::2])
    final = policy.final_metrics() if check else {}
    print(f"{run_dir}: support {policy.family.config['tasks']}"
          f"{' (continuous)' if policy.family.config.get('continuous') else ''}"
          f"{f', adapted with {steps} inner steps' if steps is not None else ''}")
    print("  set       tasks  training fit  held-out fit")
    rows = []
    for k in HOT:
        x, y = held[k]
        rows.append((r2(y, decode(x)), r2(y, pred_held[k])))
        print(f"  {k}  {len(y):5d}  {rows[-1][0]:12.3f}  {rows[-1][1]:12.3f}")
    mean = np.mean(rows, axis=0)
    print(f"  mean             {mean[0]:12.3f}  {mean[1]:12.3f}")
    if check:
        # The same adaptation and the same float64 decoder as the run's evaluation; what may
        # differ is the float32 reduction order of adapting tasks in batches there and one at a
        # time here, which moves embeddings in their last bits and the R^2 of a
        # well-conditioned fit about as much (measured: within 5e-12 on 37 runs). 1e-4 leaves
        # room for ill-conditioned fits and other BLAS builds.
        absent = [k for k in HOT if f"id/r2_{k}" not in final]
        if absent:
            raise SystemExit(f"{run_dir}: summary.json has no id/r2_{absent[0]}; --check needs a "
                             "run evaluated with eval.identification: true")
        worst = max(abs(rows[i][0] - final[f"id/r2_{k}"]) for i, k in enumerate(HOT))
        print(f"  check: training fit within {worst:.1e} of the run's id/r2_ood_hot1..3")
        if worst > 1e-4:
            raise SystemExit(f"{run_dir}: the training fit differs from the run's R^2 by "
                             f"{worst:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories of theory runs")
    parser.add_argument("--check", action="store_true",
                        help="compare the training fit with the run's id/r2_ood_hot1..3")
    parser.add_argument("--inner-steps", type=int, default=None,
                        help="adapt with this many inner steps (default: the run's own)")
    args = parser.parse_args()
    if args.inner_steps is not None and args.inner_steps < 0:
        parser.error(f"--inner-steps: expected a count >= 0, got {args.inner_steps}")
    for run in args.runs:
        analyse(run, args.check, args.inner_steps)


if __name__ == "__main__":
    sys.exit(main())
