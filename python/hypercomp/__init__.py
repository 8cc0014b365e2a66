"""hypercomp from Python: compositional task families as Gymnasium-style environments, batched
environments stepped in C++ into NumPy arrays, experts and demonstrations, task latents, and
trained runs (docs/python.md).

    import hypercomp
    env = hypercomp.make("compositional_goals", seed=0)
    obs, info = env.reset()
    obs, reward, terminated, truncated, info = env.step(env.expert_action())

LibTorch is loaded only by `load_run`, the one thing that needs tensors.
"""
import json
import os

from hypercomp import _core, spaces
from hypercomp._core import ConfigError, EnvError, Error, closed_loop_seed, derive_seed

__all__ = ["families", "family", "make", "Family", "Env", "VectorEnv", "load_run", "Policy",
           "closed_loop_seed", "derive_seed", "END_REASONS", "Error", "ConfigError", "EnvError"]

# Why an episode ended: the values of VectorEnv's info["end"] index this tuple.
END_REASONS = tuple(_core.end_reasons())


def families():
    """The registered family names."""
    return list(_core.families())


class Family:
    """A task family: its tasks, splits, latents, config and data.

    `hypercomp.family(name, **config)` makes one; config keys are those of the family's section
    in a config file (`Family.config_keys`, or `hypercomp envs NAME -v`), dotted or as dicts for
    nested keys. Tasks are given as ids or as descriptions ("quadrant=2 interaction=0 ...").
    """

    def __init__(self, name, **config):
        self._f = _core.Family(name, config)

    @property
    def name(self):
        return self._f.name

    @property
    def summary(self):
        return self._f.summary

    @property
    def config(self):
        """The resolved config: every key with its value, defaults included."""
        return self._f.config

    @property
    def config_keys(self):
        """[{"key", "default", "doc", "expected"}] for every config key of the family."""
        return _core.config_keys(self.name)

    @property
    def num_tasks(self):
        return self._f.num_tasks

    @property
    def splits(self):
        """{"train": ids, "ood": ids, "ood_hot<h>": ids, ...}: the task ids of every split."""
        return self._f.splits

    def tasks(self, split="train"):
        """The task ids of a split, as an int64 array."""
        return self._f.split(split)

    def task(self, task):
        """{"id", "description", "weights", "latent", "hotness"} of a task."""
        return self._f.task(task)

    def latents(self, tasks="train"):
        """The ground-truth latents [n, latent_dim] of a split or of a list of tasks."""
        return self._f.latents(tasks)

    def generated_bank(self):
        """The ground-truth modules' weights [modules, in, out] for the layer they generate
        (theory: the teacher's H_m, before its 1/sqrt(in) scale), or None where the family
        has none; what a run's template alignment compares a student's bank with."""
        return self._f.generated_bank()

    @property
    def latent_dim(self):
        return self._f.latent_dim

    @property
    def has_env(self):
        """False for supervised families (hyperteacher): data only, no environment."""
        return self._f.has_env

    @property
    def input_dim(self):
        return self._f.input_dim

    @property
    def output_dim(self):
        return self._f.output_dim

    @property
    def target_kind(self):
        """What the data's targets are: labels, soft, values or actions."""
        return self._f.target_kind

    @property
    def observation_space(self):
        return spaces.observation_space(self._f.observation_spec)

    @property
    def action_space(self):
        return spaces.action_space(self._f.action_spec)

    @property
    def observation_spec(self):
        """{"shape", "low", "high", "binary", "names"} of an observation."""
        return self._f.observation_spec

    @property
    def action_spec(self):
        """{"discrete", "n", "names", "low", "high"} of an action."""
        return self._f.action_spec

    @property
    def max_steps(self):
        return self._f.max_steps

    @property
    def discount(self):
        return self._f.discount

    def task_data(self, task, seed, held_out=False):
        """The support and query datasets the trainer makes for (task, seed):
        {"task", "weights", "latent", "support", "query"}, each set a dict of arrays (inputs,
        labels and/or targets, mask, episode, step). Works for every family. held_out=True
        draws them as the held-out evaluation sets do, which differs for families that evaluate
        held-out tasks differently (theory: continuous combination weights there)."""
        return self._f.task_data(task, seed, held_out)

    def demonstrations(self, num, tasks="train", seed=0, action_values=False):
        """`num` expert episodes, all played at once in C++: per step "observations",
        "actions", "rewards", "episode", "step" (and "action_values" where the expert has them);
        per episode "task", "weights", "latent", "returns", "success", "length". Episode j plays a task
        drawn from `tasks` (a split name or a list of tasks) with seed derive_seed(seed, j)."""
        return self._f.demonstrations(num, tasks, seed, action_values)

    def __repr__(self):
        return f"hypercomp.family({self.name!r}, ...): {self.num_tasks} tasks"


def family(name, **config):
    """The family `name` with the given config keys (the registered defaults for the others)."""
    return Family(name, **config)


def _family(name, config):
    if isinstance(name, Family):
        if config:
            raise ConfigError("config keys go to hypercomp.family(); got a Family and "
                              + ", ".join(sorted(config)))
        return name
    return Family(name, **config)


try:
    import gymnasium as _gymnasium

    _EnvBase = _gymnasium.Env
except ImportError:
    _gymnasium = None
    _EnvBase = object


class _Closed:
    def __getattr__(self, name):
        raise Error("this environment is closed")


class Env(_EnvBase):
    """One environment with the Gymnasium API (a gymnasium.Env when gymnasium is installed).

    Each episode plays `task` (an id or description), or without one a task drawn from the
    split `split` (or the list of tasks `tasks`). The first episode after reset(seed=s) uses
    seed s and the k-th after it derive_seed(s, k), the rule of the C++ VectorEnv. reset's
    options may name the task of that episode: {"task": id, "weights": [...]}. info carries the
    task id, why the episode ended ("end") and whether it solved its task ("success").
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(self, name, task=None, split="train", seed=0, render_mode="rgb_array", width=480,
                 height=480, tasks=None, **config):
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"render_mode {render_mode!r}: expected 'rgb_array' (a window: "
                              "`hypercomp watch`)")
        self.family = _family(name, config)
        chosen = [task] if task is not None else tasks if tasks is not None else split
        self._env = _core.Env(self.family._f, chosen, seed, width, height)
        self.render_mode = render_mode
        self.observation_space = self.family.observation_space
        self.action_space = self.family.action_space

    def reset(self, *, seed=None, options=None):
        """Starts an episode: (observation, info)."""
        return self._env.reset(seed, options)

    def step(self, action):
        """(observation, reward, terminated, truncated, info)."""
        return self._env.step(action)

    def expert_action(self):
        """The expert's action in the current state."""
        return self._env.expert_action()

    def render(self):
        """The current state as an RGB array [height, width, 3] (uint8), drawn as `hypercomp
        record` draws it."""
        return self._env.render()

    @property
    def task(self):
        """{"id", "description", "weights", "latent", "hotness"} of the current episode's task."""
        return self._env.task

    @property
    def max_steps(self):
        return self._env.max_steps

    def close(self):
        self._env = _Closed()

    def __repr__(self):
        return f"hypercomp.Env({self.family.name!r})"


def make(name, task=None, split="train", seed=0, **config):
    """An environment of the family `name` (or of a Family): see Env. Config keys of the
    family are passed by name; its own `seed` (mazes, modules) is set with hypercomp.family()."""
    return Env(name, task=task, split=split, seed=seed, **config)


class VectorEnv:
    """`num_envs` environments of one family stepped together in C++, each episode's task drawn
    from `tasks` (a split name or a list of tasks).

    step(actions) takes an array of B actions and returns (observations, rewards, terminated,
    truncated, info); the arrays are read-only views of the environments' buffers, overwritten
    by the next step (copy what you keep). Autoreset is next-step, as in Gymnasium 1.x and
    EnvPool: the step after an episode ends ignores that environment's action and returns the
    first observation of its next episode. Environment i's first episode after reset(seed=s)
    has seed derive_seed(s, i). info: "task" ids, "end" (indices into END_REASONS), "success".
    A step uses at most `threads` threads (0: every core); results do not depend on it.
    """

    metadata = {"autoreset_mode": "next_step"}

    def __init__(self, name, num_envs, tasks="train", seed=0, threads=0, **config):
        self.family = _family(name, config)
        self._env = _core.VectorEnv(self.family._f, num_envs, tasks, seed, threads)
        self.num_envs = num_envs
        self.single_observation_space = self.family.observation_space
        self.single_action_space = self.family.action_space
        self.observation_space = spaces.observation_space(self.family.observation_spec, num_envs)
        self.action_space = spaces.action_space(self.family.action_spec, num_envs)

    def reset(self, *, seed=None, options=None):
        return self._env.reset(seed)

    def step(self, actions):
        return self._env.step(actions)

    def expert_actions(self):
        """The expert's action in every environment's current state."""
        return self._env.expert_actions()

    def close(self):
        self._env = _Closed()

    def __repr__(self):
        return f"hypercomp.VectorEnv({self.family.name!r}, {self.num_envs})"


class Policy:
    """A trained run's policy (load_run): adapt() it on a task's support data, then act."""

    def __init__(self, run):
        self._run = run
        info = run.info
        self.dir, self.checkpoint, self.step = info["dir"], info["checkpoint"], info["step"]
        self.config = info["config"]
        config = dict(info["family_config"])
        self.family = Family(config.pop("name"), **config)

    def adapt(self, data, inner_steps=None):
        """The policy adapted on a support set: `data` is Family.task_data(task, seed) (its
        "support", and its "latent" for task-conditioned imitation runs) or a dataset dict
        {"inputs", "labels" or "targets", ...}. `inner_steps` replaces the run's
        learner.inner_steps for this adaptation (meta-learning runs only): what adaptation reaches
        with more or fewer steps than training used. Returns an object with act(observations)
        and outputs(observations) (one observation, or a batch [N, ...]), the adapted parameters
        `fast` ({name: array}), and `support_loss_before` / `support_loss_after` (the support
        loss before the first and before the last inner step)."""
        return self._run.adapt(data, inner_steps)

    def eval_sets(self):
        """The run's evaluation sets, {name: (task ids, data seeds)}, as `hypercomp eval` uses
        them: the closed-loop episode of task i plays the task data of seeds[i] with seed
        closed_loop_seed(seeds[i])."""
        return {s["name"]: (s["tasks"], s["seeds"]) for s in self._run.eval_sets()}

    def eval_data(self, name):
        """The task data of every task of evaluation set `name`, in order, drawn exactly as
        `hypercomp eval` draws it (held out for the OOD sets): adapt on it and score its query
        set to recompute the run's evaluation, task by task."""
        sets = {s["name"]: s for s in self._run.eval_sets()}
        if name not in sets:
            raise ConfigError(f"eval_data: unknown evaluation set '{name}' "
                              f"(known: {', '.join(sets)})")
        s = sets[name]
        return (self.family.task_data(int(task), int(seed), s["held_out"])
                for task, seed in zip(s["tasks"], s["seeds"]))

    def final_metrics(self):
        """The run's final evaluation, {metric: value}: the "final" of its summary.json, written
        when the run finishes (`hypercomp eval` rewrites it). A run that has not finished has
        none: ConfigError naming the file."""
        path = os.path.join(self.dir, "summary.json")
        if not os.path.exists(path):
            raise ConfigError(f"{path}: missing; a finished run's final evaluation is needed")
        with open(path) as fh:
            return json.load(fh)["final"]

    def __repr__(self):
        return f"hypercomp.load_run({self.dir!r}): step {self.step}"


def load_run(run_dir, best=False):
    """The policy of a trained run directory, at checkpoint.pt (best.pt with best=True). The
    first call loads LibTorch."""
    from hypercomp import _runs

    return Policy(_runs.Run(str(run_dir), best))


if _gymnasium is not None:
    for _name in families():
        if Family(_name).has_env:
            _gymnasium.register(id=f"hypercomp/{_name}-v0", entry_point="hypercomp:make",
                                kwargs={"name": _name})
