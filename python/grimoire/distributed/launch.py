"""``grimoire run -n N script.py [args]``: start N ranks of a script with the MPI's own launcher
(``mpiexec``, found beside this Python, on PATH, or through mpi4py's configuration), exactly as
``mpirun -n N python script.py`` would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def mpiexec() -> str:
    """The path of the MPI launcher, or a FileNotFoundError saying how to install one."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(beside):
        return beside
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found:
        return found
    raise FileNotFoundError(
        "no MPI launcher (mpiexec) found: pip install 'ml-grimoire[distributed]' "
        "installs mpi4py and MPICH's mpiexec"
    )


def command(n: int, argv: list[str]) -> list[str]:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"-n (the number of ranks) must be a positive int, got {n!r}")
    if not argv:
        raise ValueError("give the script to run: grimoire run -n 2 script.py [args]")
    return [mpiexec(), "-n", str(n), sys.executable, *argv]


def run(n: int, argv: list[str], env: dict | None = None, timeout: float | None = None) -> int:
    """Run ``argv`` (a script and its arguments, or ``-m module ...``) on ``n`` ranks; returns
    the launcher's exit status."""
    return subprocess.run(command(n, argv), env=env, timeout=timeout).returncode
