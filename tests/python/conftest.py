"""Shared by the Python tests: the hypercomp binary and the families with an environment.
CTest runs them with PYTHONPATH=build/python and HYPERCOMP_BIN set (tests/CMakeLists.txt)."""
import os
import subprocess

import pytest

import hypercomp as hc

BIN = os.environ.get("HYPERCOMP_BIN", "")
ENV_FAMILIES = [n for n in hc.families() if hc.family(n).has_env]


def run_cli(*args, check=True, env=None):
    """Runs the hypercomp command; returns the completed process (text output)."""
    if not BIN:
        pytest.fail("HYPERCOMP_BIN is not set: run the Python tests through ctest")
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        pytest.fail(f"hypercomp {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr}")
    return r
