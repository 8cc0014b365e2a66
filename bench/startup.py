#!/usr/bin/env python3
"""Start-up time of the commands that need no tensors, and of `import hypercomp` + make + step:
median wall and CPU (user + system) seconds over --runs runs each. Give several binaries to
compare builds side by side; runs alternate between them, as the machine is shared.

    python3 bench/startup.py build/app/hypercomp [/path/to/other/hypercomp ...] [--python build/python]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = [
    ["--version"],
    ["envs"],
    ["demo", "compositional_goals"],
    ["check", "point_reach", "--tasks", "2", "--seeds", "1"],
    ["record", "push", "--frames", "1", "--out", "{tmp}/push.gif"],
]
PYTHON = ("import hypercomp; env = hypercomp.make('compositional_goals'); env.reset(seed=0); "
          "env.step(0)")


def timed(argv, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("binaries", nargs="+")
    p.add_argument("--python", help="a PYTHONPATH with the hypercomp package (build/python)")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    tmp = tempfile.mkdtemp()
    rows = [(f"{b} {' '.join(c)}".replace("{tmp}/", ""), [b] + [a.format(tmp=tmp) for a in c],
             None) for c in COMMANDS for b in args.binaries]
    if args.python:
        env = dict(os.environ, PYTHONPATH=os.path.abspath(args.python))
        rows.append(("python3 -c \"import hypercomp; make; reset; step\"",
                     ["/usr/bin/python3", "-c", PYTHON], env))
        rows.append(("python3 -c \"import numpy\" (for scale)",
                     ["/usr/bin/python3", "-c", "import numpy"], env))
    times = {name: [] for name, _, _ in rows}
    for _ in range(args.runs):
        for name, argv, env in rows:
            times[name].append(timed(argv, env))
    print("| command | wall s (median) | CPU s (median) |\n|---|---|---|")
    for name, _, _ in rows:
        wall = statistics.median(t[0] for t in times[name])
        cpu = statistics.median(t[1] for t in times[name])
        print(f"| `{name}` | {wall:.3f} | {cpu:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
