"""A small typed program against grimoire's public API; mypy must accept it (tests/test_typing.py)."""

import grimoire
import numpy as np
import numpy.typing as npt
from grimoire import _core
from grimoire.kernels import gemm


def product(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> np.ndarray:
    c: np.ndarray = gemm(a, b, alpha=0.5, trans_b=True)
    return grimoire.matmul(a, c)


threads: int = grimoire.get_num_threads()
grimoire.set_num_threads(None)
version: str = grimoire.__version__
isa: str = _core.active_isa()
pinned: bool = _core.num_threads_pinned()
t = grimoire.Tensor(np.ones(3, np.float32), requires_grad=True)
