"""hypercomp.make: the Gymnasium API on every family with an environment (spaces, seeding,
episode ends, errors, rendering), and the same trajectories as the C++ environments."""
import json

import numpy as np
import pytest

import hypercomp as hc
from conftest import ENV_FAMILIES, run_cli


def random_episode(env, seed, rng, limit=10_000):
    obs, info = env.reset(seed=seed)
    trace = [obs]
    for _ in range(limit):
        obs, reward, terminated, truncated, info = env.step(sample(env, rng))
        trace += [obs, reward, terminated, truncated, info["end"]]
        if terminated or truncated:
            return trace
    raise AssertionError("the episode did not end")


def sample(env, rng):
    spec = env.family.action_spec
    if spec["discrete"]:
        return int(rng.integers(spec["n"]))
    return rng.uniform(spec["low"], spec["high"]).astype(np.float32)


def same(a, b):
    return len(a) == len(b) and all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b))


@pytest.mark.parametrize("name", ENV_FAMILIES)
def test_conformance(name):
    env = hc.make(name, seed=5)
    obs, info = env.reset()
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape
    assert obs in env.observation_space
    assert set(info) == {"task", "end", "success"} and info["end"] == "running"
    assert info["task"] in env.family.splits["train"]
    rng = np.random.default_rng(1)
    steps = 0
    while True:
        action = sample(env, rng)
        assert action in env.action_space
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        assert obs in env.observation_space, f"step {steps}"
        assert isinstance(reward, float) and isinstance(terminated, bool) and isinstance(truncated, bool)
        if terminated or truncated:
            break
        assert info["end"] == "running"
    assert steps <= env.max_steps
    assert info["end"] in hc.END_REASONS[1:] and truncated == (info["end"] == "time limit")
    with pytest.raises(hc.EnvError, match="finished episode"):
        env.step(sample(env, rng))


@pytest.mark.parametrize("name", ENV_FAMILIES)
def test_same_trajectories_as_the_cli(name):
    """The expert's episode from Python equals `hypercomp demo --json` (C++), value for value."""
    demo = json.loads(run_cli("demo", name, "--seed", 3, "--split", "ood", "--json").stdout)
    env = hc.make(name, task=demo["task"]["id"], seed=3)
    obs, info = env.reset()
    np.testing.assert_array_equal(env.task["weights"], np.array(demo["task"]["weights"], np.float32))
    np.testing.assert_array_equal(env.task["latent"], np.array(demo["latent"], np.float32))
    for step in demo["steps"]:
        np.testing.assert_array_equal(obs.ravel(), np.array(step["observation"], np.float32))
        action = env.expert_action()
        if isinstance(action, int):
            assert action == step["action"]
        else:
            np.testing.assert_array_equal(action, np.array(step["action"], np.float32))
        obs, reward, terminated, truncated, info = env.step(action)
        assert (reward, terminated, truncated, info["success"], info["end"]) == (
            np.float32(step["reward"]), step["terminated"], step["truncated"], step["success"],
            step["end"])
    np.testing.assert_array_equal(obs.ravel(), np.array(demo["final_observation"], np.float32))
    assert terminated or truncated


@pytest.mark.parametrize("name", ENV_FAMILIES)
def test_seeding(name):
    a, b = hc.make(name), hc.make(name)
    first = random_episode(a, 9, np.random.default_rng(0))
    assert same(first, random_episode(b, 9, np.random.default_rng(0)))
    assert not same(first, random_episode(b, 10, np.random.default_rng(0)))
    # Later episodes: the k-th reset after reset(seed=s) plays the episode of seed derive_seed(s, k).
    a.reset(seed=9)
    second = a.reset()
    fresh = hc.make(name).reset(seed=hc.derive_seed(9, 1))
    np.testing.assert_array_equal(second[0], fresh[0])
    assert second[1] == fresh[1]


def test_tasks_are_drawn_per_episode_from_the_split():
    env = hc.make("compositional_goals", split="ood", seed=2)
    seen = {env.reset()[1]["task"] for _ in range(40)}
    assert seen <= set(env.family.splits["ood"]) and len(seen) > 10
    description = "quadrant=top_left interaction=1 maze=2 object=3"
    fixed = hc.make("compositional_goals", task=description)
    assert {fixed.reset()[1]["task"] for _ in range(5)} == {fixed.family.task(description)["id"]}
    obs, info = env.reset(options={"task": 7})
    assert info["task"] == 7 and env.task["id"] == 7


def test_continuous_weights_of_a_task_instance():
    f = hc.family("compositional_preference", continuous=True)
    env = hc.make(f, seed=4)
    env.reset()
    weights = env.task["weights"]
    assert ((weights == 0) | ((weights >= 0.5) & (weights <= 1))).all() and (weights > 0).any()
    task = env.task["id"]
    obs, _ = env.reset(seed=4, options={"task": task, "weights": weights})
    np.testing.assert_array_equal(env.task["weights"], weights)
    with pytest.raises(hc.EnvError):
        env.reset(options={"task": task, "weights": np.full_like(weights, 7)})


@pytest.mark.parametrize("name", ENV_FAMILIES)
def test_render(name):
    env = hc.make(name, width=200, height=150)
    env.reset(seed=1)
    first = env.render()
    assert first.shape == (150, 200, 3) and first.dtype == np.uint8
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 3  # a picture, not a blank canvas
    frames = [first]
    for _ in range(5):
        _, _, terminated, truncated, _ = env.step(env.expert_action())
        frames.append(env.render())
        if terminated or truncated:
            break
    assert any(not np.array_equal(first, f) for f in frames[1:]), "the picture follows the state"


def test_errors():
    env = hc.make("compositional_goals")
    with pytest.raises(hc.EnvError, match="before reset"):
        env.step(0)
    env.reset()
    for bad in (6, -1, 2.5, "up", [1, 2], True):
        with pytest.raises(hc.EnvError, match=r"invalid action .*expected a discrete action in \[0, 6\)"):
            env.step(bad)
    env.step(np.int32(1))  # NumPy integers are actions too
    box = hc.make("point_reach")
    box.reset()
    with pytest.raises(hc.EnvError, match="expected a continuous vector of 2 values"):
        box.step([0.1, 0.2, 0.3])
    with pytest.raises(hc.EnvError, match="component 0"):
        box.step([100.0, 0.0])
    with pytest.raises(hc.ConfigError, match="render_mode 'human'"):
        hc.make("push", render_mode="human")
    env.close()
    with pytest.raises(hc.Error, match="closed"):
        env.step(0)
