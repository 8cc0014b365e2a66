"""Which teacher units a theory run finds, beside how much the teacher's outputs depend on them.

The template alignment (id/alignment) scores every hidden unit of every teacher module alike: a
unit's input weights count as found when some student unit of the reconstructed module points
the same way. But the loss sees a unit only through the teacher's head: a hidden unit whose head
row is small barely changes the outputs, and so barely constrains the student. This script puts
each teacher hidden unit's alignment (averaged over modules, id/alignment_hidden_<o>) beside the
share of the outputs' power it carries, and their rank correlation.

    PYTHONPATH=build/python python3 examples/theory_teacher_units.py RUN_DIR [RUN_DIR ...]

The head is not part of the family's interface; it is recovered exactly from the teacher's
generated bank (Family.generated_bank) by least squares on training tasks' data, and the fit's
residual is printed as the check. Runs whose summary.json lacks the per-unit alignments (trained
before they were reported) are re-evaluated with `hypercomp eval` (--hypercomp, else
$HYPERCOMP_BIN, else build/app/hypercomp).
"""
import argparse
import os
import re
import subprocess

import numpy as np

import hypercomp as hc


def hidden_activity(bank, data):
    """The teacher's hidden layer ReLU(x W(z) / sqrt(in)) on a task's query inputs."""
    w = np.einsum("m,mio->io", data["weights"].astype(np.float64), bank)
    return np.maximum(data["query"]["inputs"].astype(np.float64) @ w / np.sqrt(bank.shape[1]), 0)


def teacher_head(family):
    """The head A [hidden, outputs] and each hidden unit's share of the outputs' power."""
    bank = family.generated_bank().astype(np.float64)
    hs, ys = [], []
    for i, task in enumerate(family.splits["train"]):
        d = family.task_data(int(task), seed=i)
        hs.append(hidden_activity(bank, d))
        ys.append(d["query"]["targets"].astype(np.float64))
    h, y = np.concatenate(hs), np.concatenate(ys)
    head = np.linalg.lstsq(h, y, rcond=None)[0]
    residual = np.abs(h @ head - y).max() / np.abs(y).max()
    power = (h**2).mean(0) * (head**2).sum(1)  # E[(h_o A_o)^2] per unit
    return head, power / power.sum(), residual


def unit_alignments(policy, binary):
    run_dir = policy.dir
    final = policy.final_metrics()
    keys = sorted((k for k in final if re.fullmatch(r"id/alignment_hidden_\d+", k)),
                  key=lambda k: int(k.rsplit("_", 1)[1]))
    if keys:
        return np.array([final[k] for k in keys]), "summary.json"
    out = subprocess.run([binary, "eval", run_dir], capture_output=True, text=True, check=True)
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"id/alignment_hidden_(\d+)\s+(\S+)", line)  # the latest state's column
        if m:
            found[int(m.group(1))] = float(m.group(2))
    if not found:
        raise SystemExit(f"{run_dir}: no per-unit alignment (a theory run of hnet_linear needed)")
    return np.array([found[o] for o in sorted(found)]), "hypercomp eval"


def ranks(v):
    r = np.empty(len(v))
    r[np.argsort(v, kind="stable")] = np.arange(len(v))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--hypercomp", default=os.environ.get("HYPERCOMP_BIN", "build/app/hypercomp"))
    args = ap.parse_args()
    for run_dir in args.runs:
        policy = hc.load_run(run_dir)
        family = policy.family
        if family.config["name"] != "theory":
            raise SystemExit(f"{run_dir}: a theory run is needed, this one is "
                             f"{family.config['name']}")
        head, share, residual = teacher_head(family)
        align, source = unit_alignments(policy, args.hypercomp)
        if len(align) != len(share):
            raise SystemExit(f"{run_dir}: {len(align)} unit alignments for {len(share)} units")
        rho = np.corrcoef(ranks(align), ranks(share))[0, 1]
        print(f"{run_dir}: teacher seed {family.config['seed']}, head fit residual "
              f"{residual:.1e} of the targets' scale; alignments from {source}")
        print("  unit  head norm  output share  alignment")
        for o in np.argsort(share):
            print(f"  {o:4d}  {np.linalg.norm(head[o]):9.3f}  {share[o]:12.4f}  {align[o]:9.3f}")
        worst = int(np.argmin(align))
        print(f"  worst-aligned unit {worst}: output share rank {int(ranks(share)[worst]) + 1} "
              f"of {len(share)} (1 = smallest); rank correlation alignment ~ share {rho:+.2f}")


if __name__ == "__main__":
    main()
