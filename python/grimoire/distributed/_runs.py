"""Run a scenario of :mod:`._scenarios` on N ranks and collect what each rank wrote (for the
benchmark and the tour; the tests call the launcher themselves)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np

from . import launch


def on_ranks(name: str, ranks: int, timeout: float = 300) -> list[dict[str, np.ndarray]]:
    with tempfile.TemporaryDirectory() as out:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "GRIMOIRE_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
        cmd = launch.command(ranks, ["-m", "grimoire.distributed._scenarios", name, out])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"{name} on {ranks} ranks failed:\n{done.stdout}{done.stderr}")
        return [dict(np.load(os.path.join(out, f"{name}-rank{r}.npz"))) for r in range(ranks)]


def available() -> str | None:
    """None when MPI can be used here, else the one-line reason it cannot."""
    try:
        import mpi4py  # noqa: F401

        launch.mpiexec()
    except (ImportError, FileNotFoundError) as e:
        return str(e).split(":")[0]
    return None
