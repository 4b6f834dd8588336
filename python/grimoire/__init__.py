"""grimoire: The ML Grimoire, runnable and fast (distribution ``ml-grimoire`` on PyPI).

Every idea of the primer as code you can call, read and time: a C++ core (``grimoire._core``)
under a Python layer whose modules follow the primer's chapters. ``grimoire tour`` walks the
primer; ``grimoire info`` says what this build can do.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._info import info
from ._matmul import matmul
from ._version import __version__
from .autograd import Tensor, enable_grad, from_numpy, manual_seed, no_grad


def from_dlpack(x: object) -> Tensor:
    """A :class:`Tensor` over the memory of any array that exports DLPack (a PyTorch tensor,
    JAX, CuPy, NumPy): no copy, writes through either are seen by the other (as
    ``torch.from_dlpack``). Host arrays give NumPy storage; CUDA arrays give CuPy storage."""
    from .kernels._device import device_of

    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"from_dlpack needs an object with __dlpack__, got {type(x).__name__}")
    if device_of(x) == "cpu":
        data = np.from_dlpack(x)
    else:
        import cupy

        data = cupy.from_dlpack(x)
    return Tensor._make(data, (), None)


def set_num_threads(n: int | None) -> None:
    """Pin the number of threads every kernel of the core uses, or with ``None`` unpin it.

    Unpinned (the default unless ``GRIMOIRE_NUM_THREADS`` is set), grimoire follows OpenMP like
    every other OpenMP library: ``OMP_NUM_THREADS`` sets the count (default: the available
    cores) and ``threadpoolctl.threadpool_limits`` lowers it. A pinned count wins over both."""
    if n is None:
        _core.unpin_num_threads()
        return
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int or None, got {type(n).__name__}")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads the kernels of the core use."""
    return _core.get_num_threads()


__all__ = [
    "info", "matmul", "Tensor", "from_dlpack", "from_numpy", "no_grad", "enable_grad", "manual_seed",
    "set_num_threads", "get_num_threads", "__version__",
]
