"""With gymnasium importable, hypercomp's environments are gymnasium.Env objects with
gymnasium's spaces, and every family with an environment is registered. Debian does not package
gymnasium, so these tests put a stand-in with its API (fake_gymnasium/) on the path of a fresh
interpreter; without it (the other tests) hypercomp uses its own spaces."""
import os
import subprocess
import sys

import hypercomp as hc
from conftest import ENV_FAMILIES

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_gymnasium")

SCRIPT = """
import gymnasium, hypercomp, numpy as np
ids = sorted(i for i in gymnasium.registry if i.startswith("hypercomp/"))
print(" ".join(ids))
for i in ids:
    env = gymnasium.make(i, seed=3)
    assert isinstance(env, gymnasium.Env) and env.spec.id == i
    assert isinstance(env.observation_space, gymnasium.spaces.Box)
    assert isinstance(env.action_space, (gymnasium.spaces.Box, gymnasium.spaces.Discrete))
    obs, info = env.reset()
    assert obs in env.observation_space
    obs, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
    assert obs in env.observation_space
venv = hypercomp.VectorEnv("compositional_goals", 4)
assert isinstance(venv.action_space, gymnasium.spaces.MultiDiscrete)
assert isinstance(venv.single_observation_space, gymnasium.spaces.Box)
assert venv.reset()[0] in venv.observation_space
env = gymnasium.make("hypercomp/compositional_goals-v0", task=5, grid_size=5)
assert env.reset()[0].shape == (5, 5, 7) and env.unwrapped.task["id"] == 5
print("ok")
"""


def run(path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env)


def test_registered_with_gymnasium():
    r = run([FAKE, os.environ.get("PYTHONPATH", "")])
    assert r.returncode == 0, r.stderr
    ids, ok = r.stdout.split("\n")[:2]
    assert ids.split() == sorted(f"hypercomp/{n}-v0" for n in ENV_FAMILIES) and ok == "ok"


def test_without_gymnasium_the_spaces_are_hypercomps_own():
    assert "gymnasium" not in sys.modules
    assert type(hc.make("push").action_space).__module__ == "hypercomp.spaces"
    r = run([os.environ.get("PYTHONPATH", "")])
    assert "No module named 'gymnasium'" in r.stderr  # the control: the script needs it
