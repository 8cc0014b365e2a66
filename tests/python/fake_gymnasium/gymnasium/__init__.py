"""A stand-in for gymnasium, which Debian 12 does not package: the parts hypercomp uses, with
gymnasium 1.x's names and signatures (Env, spaces.Box/Discrete/MultiDiscrete, register, make,
registry), so that hypercomp's gymnasium path is tested. Tests put its folder on sys.path."""
import importlib

from gymnasium import spaces  # noqa: F401


class Env:
    """gymnasium.Env: reset, step, render and close, with spaces as attributes."""

    metadata = {"render_modes": []}
    render_mode = None
    spec = None
    observation_space = None
    action_space = None

    def reset(self, *, seed=None, options=None):
        raise NotImplementedError

    def step(self, action):
        raise NotImplementedError

    def render(self):
        raise NotImplementedError

    def close(self):
        pass

    @property
    def unwrapped(self):
        return self


class EnvSpec:
    def __init__(self, id, entry_point, kwargs):
        self.id, self.entry_point, self.kwargs = id, entry_point, dict(kwargs or {})


registry = {}


def register(id, entry_point=None, kwargs=None, **ignored):
    if id in registry:
        raise ValueError(f"Cannot re-register id: {id}")
    registry[id] = EnvSpec(id, entry_point, kwargs)


def make(id, **kwargs):
    spec = registry[id]
    creator = spec.entry_point
    if isinstance(creator, str):
        module, attr = creator.split(":")
        creator = getattr(importlib.import_module(module), attr)
    env = creator(**{**spec.kwargs, **kwargs})
    env.unwrapped.spec = spec
    return env
