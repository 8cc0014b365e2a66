"""gymnasium.spaces stand-in: Box, Discrete and MultiDiscrete with their constructor signatures
and contains(), which is all hypercomp and its tests use."""
import numpy as np


class Space:
    def __contains__(self, x):
        return self.contains(x)


class Box(Space):
    def __init__(self, low, high, shape=None, dtype=np.float32, seed=None):
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape if shape is not None else np.shape(low))
        self.low = np.broadcast_to(np.asarray(low, self.dtype), self.shape)
        self.high = np.broadcast_to(np.asarray(high, self.dtype), self.shape)

    def contains(self, x):
        x = np.asarray(x)
        return x.shape == self.shape and bool(((x >= self.low) & (x <= self.high)).all())


class Discrete(Space):
    def __init__(self, n, seed=None, start=0):
        self.n, self.start, self.shape = int(n), int(start), ()

    def contains(self, x):
        return np.asarray(x).dtype.kind in "iu" and self.start <= int(x) < self.start + self.n


class MultiDiscrete(Space):
    def __init__(self, nvec, dtype=np.int64, seed=None):
        self.nvec = np.asarray(nvec, dtype)
        self.shape = self.nvec.shape

    def contains(self, x):
        x = np.asarray(x)
        return x.shape == self.shape and bool(((x >= 0) & (x < self.nvec)).all())
