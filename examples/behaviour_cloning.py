#!/usr/bin/env python3
"""Task-conditioned behaviour cloning on hypercomp's experts, in plain NumPy.

An MLP is trained on expert demonstrations of the training combinations of compositional_goals
(5x5 mazes), given each demonstration's true task latent beside the observation, then acts in
a batch of environments on training and on held-out (OOD) combinations, beside a random policy.

    PYTHONPATH=build/python python3 examples/behaviour_cloning.py [--demos N] [--epochs N]
"""
import argparse

import numpy as np

import hypercomp as hc


def relu(x):
    return np.maximum(x, 0)


class MLP:
    """obs + latent -> hidden -> hidden -> action logits, trained with Adam on cross-entropy."""

    def __init__(self, sizes, rng):
        self.params = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            self.params += [rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)).astype(np.float32),
                            np.zeros(n_out, np.float32)]
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params]
        self.t = 0

    def forward(self, x):
        hs = [x]
        for i in range(0, len(self.params), 2):
            x = x @ self.params[i] + self.params[i + 1]
            if i + 2 < len(self.params):
                x = relu(x)
            hs.append(x)
        return hs

    def step(self, x, y, lr=3e-3):
        hs = self.forward(x)
        logits = hs[-1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
        g = p
        g[np.arange(len(y)), y] -= 1
        g /= len(y)
        grads = [None] * len(self.params)
        for i in reversed(range(0, len(self.params), 2)):
            grads[i], grads[i + 1] = hs[i // 2].T @ g, g.sum(0)
            if i:
                g = (g @ self.params[i].T) * (hs[i // 2] > 0)
        self.t += 1
        for p_, g_, (m, v) in zip(self.params, grads, self.moments):
            m += 0.1 * (g_ - m)
            v += 0.001 * (g_ * g_ - v)
            p_ -= lr * (m / (1 - 0.9 ** self.t)) / (np.sqrt(v / (1 - 0.999 ** self.t)) + 1e-8)
        return loss

    def act(self, x):
        return self.forward(x)[-1].argmax(1)


def inputs(obs, latents):
    return np.concatenate([obs.reshape(len(obs), -1), latents], 1).astype(np.float32)


def success_rate(family, act, split, episodes=256, seed=1):
    """Plays one episode in each of `episodes` environments with tasks drawn from `split`."""
    venv = hc.VectorEnv(family, episodes, tasks=split, seed=seed)
    latent = family.latents(np.arange(family.num_tasks))  # by task id
    obs, info = venv.reset()
    done = np.zeros(episodes, bool)
    success = np.zeros(episodes, bool)
    while not done.all():
        obs, reward, terminated, truncated, info = venv.step(act(obs, latent[info["task"]]))
        success |= info["success"] & ~done
        done |= terminated | truncated
    return success.mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demos", type=int, default=3000, help="expert demonstrations")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    family = hc.family("compositional_goals", grid_size=5, max_steps=24)
    demos = family.demonstrations(args.demos, tasks="train", seed=0)
    x = inputs(demos["observations"], demos["latent"][demos["episode"]])
    y = demos["actions"]
    print(f"{args.demos} expert demonstrations of {len(family.splits['train'])} training "
          f"combinations: {len(y)} (observation, action) pairs")

    rng = np.random.default_rng(0)
    model = MLP([x.shape[1], 128, 128, family.action_spec["n"]], rng)
    for epoch in range(args.epochs):
        order = rng.permutation(len(y))
        losses = [model.step(x[b], y[b]) for b in np.array_split(order, len(y) // 128)]
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.3f}")

    n = family.action_spec["n"]
    cloned = lambda obs, latent: model.act(inputs(obs, latent))  # noqa: E731
    random = lambda obs, latent: rng.integers(n, size=len(obs))  # noqa: E731
    for split in ("train", "ood"):
        print(f"{split:>5} combinations: cloned policy solves {success_rate(family, cloned, split):.0%}, "
              f"random policy {success_rate(family, random, split):.0%}")


if __name__ == "__main__":
    main()
