"""hypercomp.families() and hypercomp.family(): tasks, splits, latents, config keys and errors,
checked against the hypercomp command where it says the same thing."""
import re

import numpy as np
import pytest

import hypercomp as hc
from conftest import run_cli


def test_families_are_the_registry_in_order():
    listed = [line.split(":")[0] for line in run_cli("envs").stdout.splitlines()
              if line and not line.startswith(" ")]
    assert hc.families() == listed


@pytest.mark.parametrize("name", hc.families())
def test_tasks_splits_and_latents(name):
    f = hc.family(name)
    out = run_cli("envs", name).stdout
    train, ood = map(int, re.search(r"(\d+) train, (\d+) OOD", out).groups())
    assert (len(f.splits["train"]), len(f.splits["ood"])) == (train, ood)
    assert f"= {f.num_tasks} tasks" in out
    assert not set(f.splits["train"]) & set(f.splits["ood"])
    for name_, ids in f.splits.items():
        assert ids.dtype == np.int64 and ((ids >= 0) & (ids < f.num_tasks)).all(), name_
        np.testing.assert_array_equal(f.tasks(name_), ids)
    latents = f.latents("train")
    assert latents.shape == (train, f.latent_dim) and latents.dtype == np.float32
    for i, task in enumerate(f.splits["train"][:5]):
        t = f.task(int(task))
        assert t["id"] == task
        np.testing.assert_array_equal(t["latent"], latents[i])
        assert f.task(t["description"])["id"] == task  # descriptions name tasks too
    # Different tasks have different latents.
    assert len({row.tobytes() for row in latents}) == train
    # Task ids as NumPy arrays (which define __index__ too) and NumPy scalars.
    ids = f.splits["train"][:3]
    np.testing.assert_array_equal(f.latents(ids), latents[:3])
    np.testing.assert_array_equal(f.latents(np.int64(ids[1])), latents[1:2])
    np.testing.assert_array_equal(f.latents(np.array(ids[2])), latents[2:3])


@pytest.mark.parametrize("name", hc.families())
def test_config_keys_and_defaults(name):
    f = hc.family(name)
    keys = f.config_keys
    documented = run_cli("envs", name, "-v").stdout.split("config keys (family section):")[1]
    cli_keys = [line.split()[0] for line in documented.strip().splitlines()]
    assert [k["key"] for k in keys] == cli_keys
    config = f.config
    assert config["name"] == name
    for k in keys:
        value = config
        for part in k["key"].split("."):
            value = value[part]
        assert value == k["default"], k["key"]
        assert k["doc"]


def test_config_values_reach_the_family():
    f = hc.family("compositional_goals", grid_size=5, max_steps=24, frac_ood=0.5)
    assert f.config["grid_size"] == 5 and f.max_steps == 24
    assert f.observation_spec["shape"] == (5, 5, 7)
    assert len(f.splits["ood"]) == f.num_tasks // 2
    other = hc.family("compositional_goals", seed=7)
    assert not np.array_equal(other.splits["train"], hc.family("compositional_goals").splits["train"])


def cli_error(tmp_path, name, section):
    config = tmp_path / "bad.yaml"
    config.write_text("family:\n  name: " + name + "\n" + section)
    r = run_cli("demo", name, "--config", config, check=False)
    assert r.returncode == 2
    return r.stderr.strip()


@pytest.mark.parametrize("key, value, section", [
    ("frac_ood", 2, "  frac_ood: 2\n"),
    ("fracood", 0.5, "  fracood: 0.5\n"),
    ("support", "sideways", "  support: sideways\n"),
    ("grid_size", 4, "  grid_size: 4\n"),
])
def test_bad_keys_and_values_say_what_the_cli_says(tmp_path, key, value, section):
    with pytest.raises(hc.ConfigError) as e:
        hc.family("compositional_goals", **{key: value})
    ours = str(e.value)
    cli = cli_error(tmp_path, "compositional_goals", section)
    # The same message after the place: "keyword arguments: ..." and "error: bad.yaml:3: ...".
    assert ours.startswith("keyword arguments: ")
    assert re.sub(r"^error: \S+?:(\d+:)? ", "", cli) == ours[len("keyword arguments: "):]


def test_unknown_family_says_what_the_cli_says():
    with pytest.raises(hc.ConfigError) as e:
        hc.family("goals")
    assert f"error: {e.value}" == run_cli("envs", "goals", check=False).stderr.strip()
    with pytest.raises(hc.ConfigError, match="unknown task family 'goals'"):
        hc.make("goals")


def test_bad_tasks_and_splits():
    f = hc.family("compositional_goals")
    with pytest.raises(hc.Error, match="200"):
        f.task(200)
    with pytest.raises(hc.ConfigError, match="split 'test' of 'compositional_goals': expected one of train, ood"):
        f.tasks("test")
    with pytest.raises(hc.Error):
        f.task("quadrant=nowhere")


def test_supervised_family_has_data_but_no_environment():
    f = hc.family("hyperteacher")
    assert not f.has_env and f.target_kind == "soft"
    assert [k for k in f.splits if k.startswith("ood_hot")], "OOD-by-hotness sets"
    data = f.task_data(int(f.splits["train"][0]), seed=3)
    support = data["support"]
    assert support["inputs"].shape == (256, f.input_dim)
    assert support["targets"].shape == (256, f.output_dim)
    np.testing.assert_allclose(support["targets"].sum(1), 1, rtol=1e-5)  # soft class targets
    np.testing.assert_array_equal(support["labels"], support["targets"].argmax(1))
    np.testing.assert_array_equal(data["latent"], f.task(data["task"])["latent"])
    again = f.task_data(int(f.splits["train"][0]), seed=3)
    np.testing.assert_array_equal(again["query"]["inputs"], data["query"]["inputs"])
    assert not np.array_equal(f.task_data(int(f.splits["train"][0]), seed=4)["query"]["inputs"],
                              data["query"]["inputs"])
    with pytest.raises(hc.Error, match="needs a family with an environment; 'hyperteacher' has none"):
        hc.make("hyperteacher")


@pytest.mark.parametrize("name", ["compositional_goals", "push"])
def test_task_data_are_expert_demonstrations(name):
    f = hc.family(name)
    task = int(f.splits["ood"][0])
    data = f.task_data(task, seed=11)
    assert data["task"] == task
    for part in ("support", "query"):
        d = data[part]
        rows = len(d["inputs"])
        assert d["inputs"].shape == (rows, f.input_dim) and (d["mask"] == 1).all()
        starts = np.flatnonzero(d["step"] == 0)
        assert len(starts) == d["episode"].max() + 1 == f.config[part + "_demos"]
        for obs in d["inputs"]:
            assert obs.reshape(f.observation_spec["shape"]) in f.observation_space
        if f.action_spec["discrete"]:
            assert ((d["labels"] >= 0) & (d["labels"] < f.output_dim)).all()
        else:
            assert d["targets"].shape == (rows, f.action_spec["n"])
            assert ((d["targets"] >= f.action_spec["low"]) & (d["targets"] <= f.action_spec["high"])).all()


def test_generated_bank_makes_the_teachers_first_layer():
    """theory's generated bank is its teacher's first layer: with it, every task's targets are
    one shared linear map (the head) of ReLU(x W(z) / sqrt(in)), W(z) = sum_m z_m H_m."""
    f = hc.family("theory")
    bank = f.generated_bank()
    assert bank.shape == (6, 16, 16) and bank.dtype == np.float32

    def hidden(b, d):
        w = np.einsum("m,mio->io", d["weights"].astype(np.float64), b.astype(np.float64))
        return np.maximum(d["query"]["inputs"].astype(np.float64) @ w / 4.0, 0.0)

    tasks = [int(t) for t in f.splits["train"][:3]] + [int(f.splits["ood"][0])]
    data = [f.task_data(t, seed=5, held_out=(i == 3)) for i, t in enumerate(tasks)]
    head = np.linalg.lstsq(hidden(bank, data[0]), data[0]["query"]["targets"], rcond=None)[0]
    for d in data[1:]:
        y = d["query"]["targets"].astype(np.float64)
        # The family computes in float32 (sums of 16 terms, about 1e-6 relative); 1e-4 of the
        # targets' scale leaves room for the fitted head's rounding too.
        assert np.abs(hidden(bank, d) @ head - y).max() < 1e-4 * np.abs(y).max()
    # The other answer: another teacher's bank does not make these targets.
    other = hc.family("theory", seed=7).generated_bank()
    h = hidden(other, data[0])
    fit = h @ np.linalg.lstsq(h, data[0]["query"]["targets"], rcond=None)[0]
    assert np.abs(fit - data[0]["query"]["targets"]).max() > 0.1 * np.abs(
        data[0]["query"]["targets"]).max()
    assert hc.family("compositional_goals").generated_bank() is None
