"""Trivial contenders for tests/test_bench.py, imported by the harness's worker processes."""

import os
import time


def sleeper(name: str, log: str, seconds: list[float]):
    """Sleeps seconds[r] per call in the r-th process started for ``name`` (counted in ``log``,
    which also records the order the processes ran in)."""
    with open(log) as f:
        r = sum(1 for line in f if line.strip() == name)
    with open(log, "a") as f:
        f.write(name + "\n")
    return (lambda: time.sleep(seconds[r])), (lambda: {"round": r, "omp": os.environ.get("OMP_NUM_THREADS")})


def failing():
    raise ValueError("this contender cannot be built")
