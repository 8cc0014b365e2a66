"""The observation and action spaces of hypercomp's environments.

When gymnasium is importable these are its own `gymnasium.spaces` classes; otherwise the small
classes below, with the same constructor arguments and the attributes and methods most code
uses (shape, dtype, low/high or n/nvec, contains, sample, seed).
"""
import numpy as np

try:
    import importlib.util

    _gym = importlib.util.find_spec("gymnasium") is not None
except ValueError:  # a gymnasium module without a spec (e.g. put in sys.modules by hand)
    _gym = True

if _gym:
    from gymnasium.spaces import Box, Discrete, MultiDiscrete  # noqa: F401
else:

    class _Space:
        def __init__(self, shape, dtype, seed=None):
            self.shape = tuple(shape)
            self.dtype = np.dtype(dtype)
            self.np_random = np.random.default_rng(seed)

        def seed(self, seed=None):
            self.np_random = np.random.default_rng(seed)
            return [seed]

        def __contains__(self, x):
            return self.contains(x)

    class Box(_Space):
        """Arrays of `shape` with every element in [low, high] (bounds may be infinite)."""

        def __init__(self, low, high, shape=None, dtype=np.float32, seed=None):
            shape = shape if shape is not None else np.shape(low)
            super().__init__(shape, dtype, seed)
            self.low = np.broadcast_to(np.asarray(low, self.dtype), self.shape).copy()
            self.high = np.broadcast_to(np.asarray(high, self.dtype), self.shape).copy()

        def contains(self, x):
            x = np.asarray(x)
            return (x.shape == self.shape and np.can_cast(x.dtype, self.dtype)
                    and bool(np.all(x >= self.low)) and bool(np.all(x <= self.high)))

        def sample(self):
            lo = np.where(np.isfinite(self.low), self.low, -1.0)
            hi = np.where(np.isfinite(self.high), self.high, 1.0)
            return self.np_random.uniform(lo, hi).astype(self.dtype)

        def __repr__(self):
            return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"

    class Discrete(_Space):
        """The integers 0 .. n - 1."""

        def __init__(self, n, seed=None, start=0):
            super().__init__((), np.int64, seed)
            self.n = int(n)
            self.start = int(start)

        def contains(self, x):
            if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
                return self.start <= int(x) < self.start + self.n
            x = np.asarray(x)
            return x.shape == () and x.dtype.kind in "iu" and self.start <= int(x) < self.start + self.n

        def sample(self):
            return int(self.start + self.np_random.integers(self.n))

        def __repr__(self):
            return f"Discrete({self.n})"

    class MultiDiscrete(_Space):
        """Arrays whose element i is an integer in 0 .. nvec[i] - 1."""

        def __init__(self, nvec, dtype=np.int64, seed=None):
            self.nvec = np.asarray(nvec, dtype)
            super().__init__(self.nvec.shape, dtype, seed)

        def contains(self, x):
            x = np.asarray(x)
            return (x.shape == self.shape and x.dtype.kind in "iu"
                    and bool(np.all(x >= 0)) and bool(np.all(x < self.nvec)))

        def sample(self):
            return self.np_random.integers(self.nvec).astype(self.dtype)

        def __repr__(self):
            return f"MultiDiscrete({self.nvec})"


def observation_space(spec, batch=None):
    low, high = spec["low"], spec["high"]
    if batch is not None:
        low, high = np.broadcast_to(low, (batch,) + low.shape), np.broadcast_to(high, (batch,) + high.shape)
    return Box(low=low, high=high, dtype=np.float32)


def action_space(spec, batch=None):
    if spec["discrete"]:
        return Discrete(spec["n"]) if batch is None else MultiDiscrete(np.full(batch, spec["n"]))
    low, high = spec["low"], spec["high"]
    if batch is not None:
        low, high = np.broadcast_to(low, (batch,) + low.shape), np.broadcast_to(high, (batch,) + high.shape)
    return Box(low=low, high=high, dtype=np.float32)
