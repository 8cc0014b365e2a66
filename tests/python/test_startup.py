"""Commands that need no tensors run without LibTorch (the dynamic loader's own record of what
it loads), the others with it; and the README's Python example works as written."""
import os
import re
import subprocess
import sys

from conftest import BIN, run_cli

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def loaded(*args):
    """The libraries the dynamic loader loads while running `hypercomp args` (and any program
    it executes), from LD_DEBUG=libs."""
    env = dict(os.environ, LD_DEBUG="libs")
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, env=env)
    return set(re.findall(r"calling init: (\S+)", r.stderr))


def has_torch(libs):
    return any("libtorch_cpu" in lib for lib in libs)


def test_torch_free_commands_load_no_torch(tmp_path):
    for args in (["envs"], ["envs", "push", "-v"], ["demo", "compositional_goals"],
                 ["check", "point_reach", "--tasks", "2", "--seeds", "1"],
                 ["record", "push", "--frames", "2", "--out", tmp_path / "push.gif"], ["--version"]):
        libs = loaded(*args)
        assert libs and not has_torch(libs), args
    assert (tmp_path / "push.gif").stat().st_size > 0


def test_other_commands_run_with_torch(tmp_path):
    # The control: these are handed to hypercomp-torch, which loads LibTorch.
    assert has_torch(loaded("eval", tmp_path / "nowhere"))
    assert has_torch(loaded("record", tmp_path, "--out", tmp_path / "x.gif"))
    r = run_cli("eval", tmp_path / "nowhere", check=False)
    assert r.returncode == 1 and "does not exist" in r.stderr
    assert "train" in run_cli("--help").stdout  # help lists every command


def test_readme_example_works_as_written():
    readme = open(os.path.join(SOURCE, "README.md")).read()
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert len(example.strip().splitlines()) == 3
    r = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
