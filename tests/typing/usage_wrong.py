"""Deliberately wrong: mypy must report each marked line (tests/test_typing.py counts them)."""

import grimoire
import numpy as np
from grimoire import _core
from grimoire.kernels import gemm

threads: str = grimoire.get_num_threads()  # WRONG: get_num_threads returns int
grimoire.set_num_threads("2")  # WRONG: n is int | None
isa: int = _core.active_isa()  # WRONG: the C++ binding returns str (seen through _core.pyi)
c: str = gemm(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))  # WRONG: returns ndarray
