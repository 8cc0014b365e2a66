"""hypercomp.load_run: a trained run's policy adapts on support data and acts as the C++
evaluation does (the closed-loop scores of `hypercomp eval`, reproduced from Python), and
LibTorch is loaded by load_run only."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import hypercomp as hc
from conftest import run_cli

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A short run of the quick gridworld configuration, evaluated by `hypercomp eval`."""
    d = tmp_path_factory.mktemp("runs") / "goals"
    run_cli("train", os.path.join(SOURCE, "configs/quick/goals_hnet_linear.yaml"), "--run-dir", d,
            "--quiet", "train.steps=200", "train.eval_every=200", "train.checkpoint_every=200",
            "eval.tasks=24", "eval.closed_loop_tasks=24", "eval.identification=false")
    run_cli("eval", d)
    return d


def closed_loop(policy, tasks, seeds):
    """Every task's evaluation episode, played from Python: adapt on the task data of its seed,
    then act in the episode of closed_loop_seed(seed). Returns the successes and returns."""
    f = policy.family
    env = hc.make(f)
    success, returns = [], []
    for task, seed in zip(tasks, seeds):
        data = f.task_data(int(task), int(seed))
        adapted = policy.adapt(data)
        obs, info = env.reset(seed=hc.closed_loop_seed(int(seed)),
                              options={"task": data["task"], "weights": data["weights"]})
        g, w, done = 0.0, 1.0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(adapted.act(obs))
            g += w * reward  # as envs::Episode::total_return accumulates it
            w *= f.discount
            done = terminated or truncated
        success.append(info["success"])
        returns.append(float(np.float32(g)))
    return success, returns


def test_same_closed_loop_scores_as_hypercomp_eval(run_dir):
    metrics = json.loads((run_dir / "eval-latest.json").read_text())["metrics"]
    policy = hc.load_run(run_dir)
    assert policy.step == 200 and policy.family.config["grid_size"] == 5
    for name in ("test", "ood"):
        tasks, seeds = policy.eval_sets()[name]
        success, returns = closed_loop(policy, tasks[:24], seeds[:24])
        assert sum(success) / len(success) == metrics[f"closed_{name}/success"]
        total = 0.0
        for r in returns:  # summed in the order evaluation sums them
            total += r
        assert total / len(returns) == metrics[f"closed_{name}/return"]


def test_outputs_and_actions(run_dir):
    policy = hc.load_run(run_dir, best=True)
    f = policy.family
    data = f.task_data(int(f.splits["ood"][0]), 5)
    adapted = policy.adapt(data)
    obs = data["query"]["inputs"].reshape(-1, *f.observation_spec["shape"])
    batch = adapted.outputs(obs)
    assert batch.shape == (len(obs), f.output_dim) and batch.dtype == np.float32
    np.testing.assert_allclose(adapted.outputs(obs[0]), batch[0], rtol=1e-5, atol=1e-6)
    assert adapted.act(obs[0]) == int(adapted.outputs(obs[0]).argmax())
    np.testing.assert_array_equal(adapted.act(obs), batch.argmax(1))
    # The support set alone (a dataset dict) adapts the same way.
    np.testing.assert_array_equal(policy.adapt(data["support"]).outputs(obs), batch)
    with pytest.raises(hc.ConfigError, match="expected 175 values per observation"):
        adapted.outputs(np.zeros(10, np.float32))
    with pytest.raises(hc.ConfigError, match=r"support\['labels'\]: expected shape"):
        policy.adapt({"support": {**data["support"], "labels": data["support"]["labels"][:-1]}})


def test_missing_runs_are_named(tmp_path):
    with pytest.raises(hc.Error, match="run directory '.*nowhere' does not exist"):
        hc.load_run(tmp_path / "nowhere")


PROBE = """
import sys, hypercomp
def torch(): return "libtorch_cpu" in open("/proc/self/maps").read()
env = hypercomp.make("compositional_goals")
env.reset(seed=0)
env.step(env.expert_action())
hypercomp.VectorEnv("push", 4).reset()
print(torch(), "hypercomp._runs" in sys.modules)
hypercomp.load_run(sys.argv[1])
print(torch(), "hypercomp._runs" in sys.modules)
"""


def test_torch_is_loaded_by_load_run_only(run_dir):
    out = subprocess.run([sys.executable, "-c", PROBE, str(run_dir)], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[:2] == ["False False", "True True"]


@pytest.fixture(scope="module")
def theory_run(tmp_path_factory):
    """A short theory run on a support of two halves that never meet ({0,1,2} and {3,4,5})."""
    d = tmp_path_factory.mktemp("runs") / "theory"
    run_cli("train", os.path.join(SOURCE, "configs/quick/theory_hnet_linear.yaml"), "--run-dir",
            d, "--quiet", "family.tasks=0;1;2;3;4;5;0,1;1,2;3,4;4,5", "train.steps=20",
            "train.eval_every=20", "train.checkpoint_every=20", "learner.inner_steps=10",
            "learner.meta_batch=8", "eval.tasks=32", "eval.identification_tasks=16")
    return d


def test_eval_data_draws_held_out_sets_as_evaluation_does(theory_run):
    policy = hc.load_run(theory_run)
    f = policy.family
    final = json.loads((theory_run / "summary.json").read_text())["final"]
    for name in ("test", "ood_hot2"):
        tasks, seeds = policy.eval_sets()[name]
        data = list(policy.eval_data(name))
        assert [d["task"] for d in data] == [int(t) for t in tasks]
        sse = power = 0.0
        for d in data:
            y = d["query"]["targets"].astype(np.float64)
            out = np.asarray(policy.adapt(d).outputs(d["query"]["inputs"]), np.float64)
            sse += ((out - y) ** 2).sum()
            power += (y**2).sum()
        # float32 sums in the evaluator, float64 here (examples/theory_components.py: the bound)
        assert 0.5 * sse / power == pytest.approx(final[f"{name}/rel_loss"], rel=1e-5)
    # Held-out theory tasks draw continuous weights; training draws of the same task do not.
    tasks, seeds = policy.eval_sets()["ood_hot2"]
    task, seed = int(tasks[0]), int(seeds[0])
    held, trained = f.task_data(task, seed, held_out=True), f.task_data(task, seed)
    np.testing.assert_allclose(trained["weights"][trained["weights"] > 0], 2**-0.5, rtol=1e-6)
    assert not np.array_equal(held["weights"], trained["weights"])
    np.testing.assert_array_equal(held["weights"] > 0, trained["weights"] > 0)
    with pytest.raises(hc.ConfigError, match="unknown evaluation set 'oops'.*ood_hot2"):
        policy.eval_data("oops")


def test_theory_components_example(theory_run):
    r = subprocess.run([sys.executable, os.path.join(SOURCE, "examples/theory_components.py"),
                        "--check", str(theory_run)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "2 component(s)" in r.stdout
    rows = [line.split() for line in r.stdout.splitlines() if line.startswith("  ood_hot")]
    # 1-hot sets lie within a half and are all training sets; the 6-hot set crosses; 2-hot sets
    # have each kind: {0,1} is a training set, {0,2} a new set within the half {0,1,2}, {0,3}
    # crosses.
    kinds = {(w[0], w[1], w[2]) for w in rows}
    assert kinds >= {("ood_hot1", "within", "trained"), ("ood_hot2", "within", "trained"),
                     ("ood_hot2", "within", "new"), ("ood_hot2", "across", "new"),
                     ("ood_hot6", "across", "new")}
    assert not {k for k in kinds if k[0] == "ood_hot1" and k[1:] != ("within", "trained")}
    assert not {k for k in kinds if k[1:] == ("across", "trained")}


def test_theory_teacher_units_example(theory_run):
    r = subprocess.run([sys.executable, os.path.join(SOURCE, "examples/theory_teacher_units.py"),
                        str(theory_run)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # The head is recovered exactly: the teacher computes in float32 (about 1e-7 relative).
    residual = float(re.search(r"head fit residual (\S+) of", r.stdout).group(1))
    assert residual < 1e-5
    assert "alignments from summary.json" in r.stdout
    final = json.loads((theory_run / "summary.json").read_text())["final"]
    rows = [line.split() for line in r.stdout.splitlines() if re.match(r"\s+\d+\s", line)]
    assert sorted(int(w[0]) for w in rows) == list(range(16))
    for w in rows:
        assert float(w[3]) == pytest.approx(final[f"id/alignment_hidden_{w[0]}"], abs=5e-4)
    shares = [float(w[2]) for w in rows]
    assert shares == sorted(shares) and sum(shares) == pytest.approx(1.0, abs=1e-3)


def test_adapted_fast_and_theory_decoder_example(theory_run):
    policy = hc.load_run(theory_run)
    data = next(iter(policy.eval_data("test")))
    fast = policy.adapt(data).fast
    templates = policy.config["policy"]["templates"]
    assert list(fast) == ["embedding"] and fast["embedding"].shape == (1, templates)
    # --check: the decoder fitted on these embeddings reproduces the run's own id/r2_ood_hot1..3,
    # so `fast` is what evaluation decodes.
    r = subprocess.run([sys.executable, os.path.join(SOURCE, "examples/theory_decoder.py"),
                        "--check", str(theory_run)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines() if line.startswith("  ood_hot")]
    assert [w[0] for w in rows] == ["ood_hot1", "ood_hot2", "ood_hot3"]
    assert all(int(w[1]) == 16 for w in rows)  # eval.identification_tasks of the fixture
    # R^2 of either decoder: finite, at most 1
    assert all(np.isfinite(float(v)) and float(v) <= 1.0 for w in rows for v in w[2:4])
    assert "check: training fit within" in r.stdout


def test_adapt_with_other_inner_steps_and_the_inner_steps_example(theory_run):
    policy = hc.load_run(theory_run)
    own = int(policy.config["learner"]["inner_steps"])
    data = next(iter(policy.eval_data("test")))
    default, same = policy.adapt(data), policy.adapt(data, inner_steps=own)
    np.testing.assert_array_equal(default.fast["embedding"], same.fast["embedding"])
    assert default.support_loss_after == same.support_loss_after
    start = policy.adapt(data, inner_steps=0)
    assert start.support_loss_before == start.support_loss_after == default.support_loss_before
    assert not np.array_equal(start.fast["embedding"], default.fast["embedding"])
    with pytest.raises(hc.ConfigError, match="inner_steps: expected a count >= 0, got -1"):
        policy.adapt(data, inner_steps=-1)
    # --check: the rows at the run's own inner steps reproduce its evaluation, so the other rows
    # are the same adaptation with only the step count changed.
    r = subprocess.run([sys.executable, os.path.join(SOURCE, "examples/theory_inner_steps.py"),
                        "--tasks", "0", "--steps", f"0,{own},100", "--sets", "test,ood_hot2",
                        "--check", str(theory_run)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines() if re.match(r"  (test|ood_hot)", line)]
    assert [(w[0], int(w[2])) for w in rows] == [
        (s, k) for s in ("test", "ood_hot2") for k in (0, own, 100)]
    support = {(w[0], int(w[2])): float(w[3]) for w in rows}
    # Adapting lowers the support loss it fits (the starting point is where 0 steps leave it).
    assert support[("test", 100)] < support[("test", 0)]
    assert "check: query rel. loss at" in r.stdout
    r = subprocess.run([sys.executable, os.path.join(SOURCE, "examples/theory_inner_steps.py"),
                        "--check", str(theory_run)], capture_output=True, text=True)
    assert r.returncode != 0 and "--check needs --tasks 0" in r.stderr
    r = subprocess.run([sys.executable, os.path.join(SOURCE, "examples/theory_decoder.py"),
                        "--check", "--inner-steps", "100", str(theory_run)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "--check compares with the run's own evaluation" in r.stderr


def test_final_metrics_are_the_summary_and_an_unfinished_run_is_named(theory_run, tmp_path):
    policy = hc.load_run(theory_run)
    assert policy.final_metrics() == json.loads((theory_run / "summary.json").read_text())["final"]
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    for name in ("config.yaml", "checkpoint.pt"):
        (unfinished / name).write_bytes((theory_run / name).read_bytes())
    with pytest.raises(hc.ConfigError, match=r"unfinished/summary.json: missing"):
        hc.load_run(unfinished).final_metrics()
