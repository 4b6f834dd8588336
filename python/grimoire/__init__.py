"""grimoire: The ML Grimoire, runnable and fast.

Every idea of the primer as code you can call, read and time: a C++ core (``grimoire._core``)
under a Python layer whose modules follow the primer's chapters. ``grimoire tour`` walks the
primer; ``grimoire info`` says what this build can do.
"""

from __future__ import annotations

from . import _core
from ._info import info
from ._matmul import matmul
from .autograd import Tensor, enable_grad, manual_seed, no_grad

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Set the number of threads every kernel of the core uses (default: the available cores,
    or the ``GRIMOIRE_NUM_THREADS`` environment variable)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads the kernels of the core use."""
    return _core.get_num_threads()


__all__ = [
    "info", "matmul", "Tensor", "no_grad", "enable_grad", "manual_seed", "set_num_threads", "get_num_threads",
    "__version__",
]
