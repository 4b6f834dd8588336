"""Where a kernel runs: the CPU core for host arrays, ``grimoire._cuda`` for CUDA arrays.

Every function of ``grimoire.kernels`` names its array arguments to :func:`backend`, which
returns the module to call (``_core`` or ``_cuda``, whose bindings have the same names and
signatures). NumPy arrays take a fast path; other host arrays (DLPack or the buffer protocol on
the CPU) are viewed as NumPy arrays without a copy, and anything else is refused by name. A
CUDA array is anything that exports ``__cuda_array_interface__`` (CuPy, PyTorch CUDA tensors,
Numba) or DLPack on a CUDA device; the kernel runs on CuPy's current stream and returns CuPy
arrays on the same device. Arrays of one call on different devices are refused with a
``ValueError`` naming both arguments and devices.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .. import _core

_DLPACK_CUDA = (2, 13)  # kDLCUDA, kDLCUDAManaged


def device_of(x: object) -> str:
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


def backend(**arrays: object) -> ModuleType | _HostCall:
    """The module whose kernel to call for these arrays (``None`` values are ignored):
    ``grimoire._core`` when all are on the host, ``grimoire._cuda`` when all are on the current
    CUDA device; ``ValueError`` naming the arguments when they are on different devices.

    Host arrays other than NumPy's (a PyTorch CPU tensor, anything exporting DLPack or the
    buffer protocol) reach ``_core`` as zero-copy NumPy views (:func:`host_array`); the rest
    (lists, scalars) is refused here with a ``TypeError`` naming the argument."""
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
        host = {id(x): host_array(x, name) for name, x in arrays.items()
                if x is not None and type(x) is not np.ndarray}
        return _HostCall(host)
    return _cuda_for(device)


def runs_on_cuda(module: ModuleType | _HostCall) -> bool:
    """Whether a module :func:`backend` returned runs on the GPU (``_cuda``), not the CPU core."""
    return module is not _core and not isinstance(module, _HostCall)


def host_array(x: object, name: str) -> np.ndarray:
    """A host array argument as a NumPy array over the same memory (no copy): an ndarray as it
    is; an object exporting DLPack on the CPU (a PyTorch CPU tensor, JAX, CuPy's host arrays)
    through ``numpy.from_dlpack``; an object exporting the buffer protocol (array.array,
    memoryview, bytearray) through it. Anything else (lists, tuples, scalars, DataFrames) is
    refused with a ``TypeError`` naming the argument: a kernel never copies or converts quietly."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError, ValueError) as e:
            kind = f"{type(x).__module__}.{type(x).__name__}"
            raise TypeError(f"{name} ({kind}) exports DLPack but NumPy cannot view it without a copy: "
                            f"{e}") from e
    try:
        view = memoryview(x)
    except TypeError:
        raise TypeError(f"{name} must be an array on the CPU that exports DLPack or the buffer protocol "
                        f"(numpy.ndarray, a PyTorch CPU tensor, array.array, ...), got {type(x).__name__}: "
                        f"grimoire's kernels do not copy or convert it; pass numpy.asarray({name}) "
                        "if a copy is what you want") from None
    return np.asarray(view)


class _HostCall:
    """``grimoire._core`` for one call whose host arrays are not all NumPy arrays: each such
    argument, recognised by identity, is replaced by its zero-copy NumPy view (host_array)."""

    __slots__ = ("_views",)

    def __init__(self, views: dict[int, np.ndarray]):
        self._views = views

    def __getattr__(self, kernel: str) -> Callable[..., Any]:
        fn = getattr(_core, kernel)
        if not self._views:
            return fn
        views = self._views

        def call(*args: object, **kwargs: object) -> object:
            args = tuple(views.get(id(a), a) for a in args)
            kwargs = {k: views.get(id(v), v) for k, v in kwargs.items()}
            return fn(*args, **kwargs)

        return call


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
