"""Where a kernel runs: the CPU core for host arrays, ``grimoire._cuda`` for CUDA arrays.

Every function of ``grimoire.kernels`` names its array arguments to :func:`backend`, which
returns the module to call (``_core`` or ``_cuda``, whose bindings have the same names and
signatures). NumPy arrays take a fast path. A CUDA array is anything that exports
``__cuda_array_interface__`` (CuPy, PyTorch CUDA tensors, Numba) or DLPack on a CUDA device; the
kernel runs on CuPy's current stream and returns CuPy arrays on the same device. Arrays of one
call on different devices are refused with a ``ValueError`` naming both arguments and devices.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from .. import _core

_DLPACK_CUDA = (2, 13)  # kDLCUDA, kDLCUDAManaged


def device_of(x) -> str:
    """``"cpu"`` or ``"cuda:N"`` for an array argument (``"cuda"`` for a CUDA array that does not
    say its device: it is taken to be on the current one). Any object that is not a CUDA array
    is taken as a host object; the CPU bindings then say what they refuse."""
    if type(x) is np.ndarray:
        return "cpu"
    if hasattr(x, "__cuda_array_interface__"):
        dev = getattr(x, "device", None)
        index = getattr(dev, "id", None)  # CuPy
        if index is None:
            index = getattr(dev, "index", None)  # PyTorch
        return "cuda" if index is None else f"cuda:{index}"
    dlpack_device = getattr(x, "__dlpack_device__", None)
    if dlpack_device is not None:
        kind, index = dlpack_device()
        if int(kind) in _DLPACK_CUDA:
            return f"cuda:{int(index)}"
    return "cpu"


def backend(**arrays) -> ModuleType:
    """The module whose kernel to call for these arrays (``None`` values are ignored):
    ``grimoire._core`` when all are on the host, ``grimoire._cuda`` when all are on the current
    CUDA device; ``ValueError`` naming the arguments when they are on different devices."""
    for x in arrays.values():
        if x is not None and type(x) is not np.ndarray:
            break
    else:
        return _core  # the common case: NumPy arrays only
    placed = {name: device_of(x) for name, x in arrays.items() if x is not None}
    devices = set(placed.values())
    if len(devices) > 1:
        (n1, d1), (n2, d2) = next(iter(placed.items())), next((n, d) for n, d in placed.items()
                                                                if d != next(iter(placed.values())))
        raise ValueError(f"{n1} is on {d1} but {n2} is on {d2}: the arrays of one call must be on one device")
    device = devices.pop()
    if device == "cpu":
        return _core
    return _cuda_for(device)


def _cuda_for(device: str) -> ModuleType:
    try:
        from .. import _cuda
    except ImportError as e:
        raise RuntimeError(f"the arguments are on {device}, but this grimoire was built without CUDA "
                           "(no nvcc at build time)") from e
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(f"the arguments are on {device}; grimoire allocates device arrays with CuPy: "
                           "pip install 'ml-grimoire[cuda]' (or cupy-cuda13x)") from e
    if _cuda.device_count() == 0:
        raise RuntimeError(f"the arguments are on {device}, but no CUDA device is available")
    current = cupy.cuda.Device().id
    if device not in ("cuda", f"cuda:{current}"):
        raise ValueError(f"the arguments are on {device} but the current CUDA device is cuda:{current}; "
                         f"call inside `with cupy.cuda.Device({device.split(':')[1]}):`")
    return _cuda
