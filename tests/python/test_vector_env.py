"""hypercomp.VectorEnv: NumPy views of the C++ buffers, next-step autoreset, tasks drawn per
episode, and the same results as stepping single environments."""
import numpy as np
import pytest

import hypercomp as hc
from conftest import ENV_FAMILIES


def random_actions(family, batch, rng):
    spec = family.action_spec
    if spec["discrete"]:
        return rng.integers(spec["n"], size=batch)
    return rng.uniform(spec["low"], spec["high"], size=(batch, spec["n"])).astype(np.float32)


def test_arrays_are_views_returned_every_step():
    venv = hc.VectorEnv("compositional_goals", 8, seed=1)
    obs, info = venv.reset()
    assert obs.shape == (8, 11, 11, 7) and obs.dtype == np.float32
    assert obs in venv.observation_space
    out = venv.step(np.zeros(8, np.int64))
    assert out[0] is obs and out[4] is info  # the same objects: no copy per step
    assert [a.dtype for a in out[1:4]] == [np.float32, np.bool_, np.bool_]
    assert info["task"].dtype == np.int64 and info["end"].dtype == np.uint8
    before = obs.copy()
    venv.step(np.full(8, 2))
    assert not np.array_equal(before, obs), "the view shows the new step"
    with pytest.raises(ValueError):
        obs[0, 0, 0, 0] = 1  # read-only
    del venv  # the arrays keep the buffers alive
    assert obs.sum() > 0


@pytest.mark.parametrize("name", ENV_FAMILIES)
def test_matches_single_environments_with_next_step_autoreset(name):
    batch, seed, steps = 3, 17, 300
    venv = hc.VectorEnv(name, batch, seed=seed)
    singles = [hc.make(name) for _ in range(batch)]
    obs, info = venv.reset()
    expected = [env.reset(seed=hc.derive_seed(seed, i)) for i, env in enumerate(singles)]
    for i in range(batch):
        np.testing.assert_array_equal(obs[i], expected[i][0])
        assert info["task"][i] == expected[i][1]["task"]
    rng = np.random.default_rng(3)
    ended = np.zeros(batch, bool)
    resets = 0
    for _ in range(steps):
        actions = random_actions(venv.family, batch, rng)
        obs, reward, terminated, truncated, info = venv.step(actions)
        for i, env in enumerate(singles):
            if ended[i]:  # the step after an end ignores the action and starts the next episode
                o, inf = env.reset()
                r, te, tr, end = 0.0, False, False, "running"
                resets += 1
            else:
                o, r, te, tr, inf = env.step(actions[i])
                end = inf["end"]
            np.testing.assert_array_equal(obs[i], o)
            assert (reward[i], terminated[i], truncated[i]) == (np.float32(r), te, tr)
            assert info["task"][i] == inf["task"] and hc.END_REASONS[info["end"][i]] == end
            assert info["success"][i] == inf["success"]
        ended = terminated | truncated
    assert resets > 0, "episodes ended and restarted along the way"


def test_tasks_are_drawn_per_episode():
    venv = hc.VectorEnv("compositional_preference", 4, tasks="ood", seed=2)
    venv.reset()
    seen = set()
    for _ in range(100):
        _, _, _, _, info = venv.step(np.zeros(4, np.int64))  # action 0 ends the episode
        seen |= set(info["task"].tolist())
    assert seen <= set(venv.family.splits["ood"]) and len(seen) > 20
    fixed = hc.VectorEnv("compositional_goals", 4, tasks=[3, "quadrant=top_left interaction=1 maze=2 object=3"])
    _, info = fixed.reset(seed=5)
    assert set(info["task"].tolist()) <= {3, fixed.family.task("quadrant=top_left interaction=1 maze=2 object=3")["id"]}


def test_experts_solve_their_tasks():
    venv = hc.VectorEnv("compositional_goals", 16, seed=4)
    venv.reset()
    solved = np.zeros(16, bool)
    for _ in range(venv.family.max_steps + 1):
        _, reward, terminated, truncated, info = venv.step(venv.expert_actions())
        solved |= info["success"]
        assert not truncated.any()
    assert solved.all()


def test_bad_actions_step_nothing():
    venv = hc.VectorEnv("compositional_goals", 4, seed=1)
    obs, _ = venv.reset()
    before = obs.copy()
    with pytest.raises(hc.EnvError, match=r"expected shape \(4,\)"):
        venv.step(np.zeros(3, np.int64))
    with pytest.raises(hc.EnvError, match="expected integers"):
        venv.step(np.zeros(4))
    with pytest.raises(hc.EnvError, match=r"invalid action 6 \(actions\[2\]\)"):
        venv.step(np.array([0, 1, 6, 2]))
    np.testing.assert_array_equal(obs, before)
    box = hc.VectorEnv("push", 2)
    box.reset()
    with pytest.raises(hc.EnvError, match=r"expected shape \(2, 2\)"):
        box.step(np.zeros((2, 3), np.float32))
    with pytest.raises(hc.EnvError, match="component"):
        box.step(np.full((2, 2), 50, np.float32))
    with pytest.raises(hc.Error, match="needs a family with an environment"):
        hc.VectorEnv("hyperteacher", 2)
    with pytest.raises(hc.Error, match="num_envs = 0"):
        hc.VectorEnv("push", 0)


@pytest.mark.parametrize("name", ["compositional_preference", "push"])
def test_demonstrations(name):
    f = hc.family(name)
    values = f.target_kind == "values"
    d = f.demonstrations(6, tasks="ood", seed=3, action_values=values)
    rows = len(d["observations"])
    assert d["observations"].shape == (rows, *f.observation_spec["shape"])
    assert d["episode"].max() == 5 and (np.bincount(d["episode"]) == d["length"]).all()
    assert set(d["task"].tolist()) <= set(f.splits["ood"])
    # Each demonstration's latent is its task's, with the instance's combination weights.
    for t, w, latent in zip(d["task"], d["weights"], d["latent"]):
        task = f.task(t)
        np.testing.assert_array_equal(w != 0, task["weights"] != 0)
        np.testing.assert_array_equal(latent, w if len(w) else task["latent"])
    assert d["success"].mean() > 0.5
    if values:  # the expert's actions are the best by its exact action values
        np.testing.assert_array_equal(d["actions"], d["action_values"].argmax(1))
    # Demonstration j is the expert's episode of its task from seed derive_seed(seed, j).
    env = hc.make(f, task=int(d["task"][2]))
    obs, _ = env.reset(seed=hc.derive_seed(3, 2))
    np.testing.assert_array_equal(obs, d["observations"][d["episode"] == 2][0])
    again = f.demonstrations(6, tasks="ood", seed=3, action_values=values)
    np.testing.assert_array_equal(again["actions"], d["actions"])
