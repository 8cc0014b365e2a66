#!/usr/bin/env python3
"""Environment steps per second from Python: hypercomp.Env one step at a time (the Gymnasium
API) and hypercomp.VectorEnv with B environments per call, random actions drawn up front, as in
bench/env_bench.cpp and bench/physics_bench.cpp. Prints one JSON object per row.

    PYTHONPATH=build/python python3 bench/python_env_bench.py --family compositional_goals
"""
import argparse
import json
import time

import numpy as np

import hypercomp as hc


def timed(step, seconds):
    """Calls step() for about `seconds` after a warm-up; returns calls per second of wall time
    and per second of this process's CPU time (all its threads)."""
    for _ in range(100):
        step()
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        for _ in range(100):
            step()
        n += 100
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, n / (time.process_time() - cpu)


def actions(family, shape, rng):
    spec = family.action_spec
    if spec["discrete"]:
        return rng.integers(spec["n"], size=shape)
    return rng.uniform(spec["low"], spec["high"], size=(*shape, spec["n"])).astype(np.float32)


def single(family, seconds, rng):
    env = hc.make(family, seed=1)
    env.reset()
    table = list(actions(family, (4096,), rng))
    if family.action_spec["discrete"]:
        table = [int(a) for a in table]
    state = {"i": 0}

    def step():
        _, _, terminated, truncated, _ = env.step(table[state["i"]])
        state["i"] = (state["i"] + 1) % len(table)
        if terminated or truncated:
            env.reset()

    return timed(step, seconds)


def vector(family, batch, threads, seconds, rng):
    venv = hc.VectorEnv(family, batch, seed=1, threads=threads)
    venv.reset()
    rounds = max(8, 4096 // batch)
    table = actions(family, (rounds, batch), rng)
    state = {"i": 0}

    def step():
        venv.step(table[state["i"]])
        state["i"] = (state["i"] + 1) % rounds

    wall, cpu = timed(step, seconds)
    return wall * batch, cpu * batch


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", default="compositional_goals")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16, 128, 1024])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per row")
    p.add_argument("--single", action=argparse.BooleanOptionalAction, default=True,
                   help="also time Env.step, one environment")
    args = p.parse_args()
    family = hc.family(args.family)
    rng = np.random.default_rng(2)
    if args.single:
        wall, cpu = single(family, args.seconds, rng)
        print(json.dumps({"family": args.family, "api": "Env.step", "B": 1, "steps_per_s": wall,
                          "steps_per_cpu_s": cpu}), flush=True)
    for threads in args.threads:
        for batch in args.batch:
            wall, cpu = vector(family, batch, threads, args.seconds, rng)
            print(json.dumps({"family": args.family, "api": "VectorEnv.step", "B": batch,
                              "threads": threads, "steps_per_s": wall, "steps_per_cpu_s": cpu}),
                  flush=True)


if __name__ == "__main__":
    main()
