"""Where a kernel runs: the CPU core for host arrays, ``grimoire._cuda`` for CUDA arrays.

Every function of ``grimoire.kernels`` names its array arguments to :func:`backend`, which
returns the module to call (``_core`` or ``_cuda``, whose bindings have the same names and
signatures). NumPy arrays take a fast path; other host arrays (DLPack or the buffer protocol on
the CPU) are viewed as NumPy arrays without a copy, and anything else is refused by name. A
CUDA array is anything that exports ``__cuda_array_interface__`` (CuPy, PyTorch CUDA tensors,
Numba) or DLPack on a CUDA device; the kernel runs on CuPy's current stream and returns CuPy
arrays on the same device. Arrays of one call on different devices are refused with a
``ValueError`` naming both arguments and devices.

Where an object says where it lives, ``__dlpack_device__`` is believed first (it is cheap and
never refuses: a PyTorch CUDA tensor that requires grad raises ``RuntimeError`` from
``__cuda_array_interface__`` but still reports its device), then ``__cuda_array_interface__``.
The CUDA bindings read ``__cuda_array_interface__``; a CUDA object that cannot give one (it
exports only DLPack) is viewed zero-copy through ``cupy.from_dlpack`` first, and one that can
give neither is refused with a ``TypeError`` naming the argument and the exporter's reason.

A kernel that ``grimoire._cuda`` does not bind (``pairwise_distances``, ``linear_attention``,
``eigh_symmetric``, ``svd_bidiagonal``, ``jacobi_svd_sweeps``, ``word2vec_sgns_train``: CPU-only
families) raises ``NotImplementedError`` naming the kernel when called on CUDA arrays: the arrays
are valid, the GPU half lacks the kernel. Move them to the host (``cupy.asnumpy``) to run it on the CPU core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import numpy as np

from .. import _core

_DLPACK_CPU = 1  # kDLCPU
_DLPACK_CUDA = (2, 13)  # kDLCUDA, kDLCUDAManaged


def _dlpack_device(x: object) -> tuple[int, int] | None:
    """``x.__dlpack_device__()`` as two ints, or None where x has none or it fails."""
    try:
        kind, index = x.__dlpack_device__()  # type: ignore[attr-defined]
        return int(kind), int(index)
    except Exception:  # absent, or the exporter's own failure: the other interface decides
        return None


def _exports_cuda_interface(x: object) -> bool:
    """Whether x claims ``__cuda_array_interface__``: reading it may raise something other than
    AttributeError (PyTorch: RuntimeError for a tensor that requires grad), which still says x
    is a CUDA array; ``hasattr`` would let that escape."""
    try:
        x.__cuda_array_interface__  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError:
        return False
    except Exception:
        return True
    return True


def _readable_cuda_interface(x: object) -> bool:
    """Whether the CUDA bindings can read x directly (``__cuda_array_interface__`` without error)."""
    try:
        return isinstance(x.__cuda_array_interface__, dict)  # type: ignore[attr-defined]
    except Exception:
        return False


def device_of(x: object) -> str:
    """``"cpu"`` or ``"cuda:N"`` for an array argument (``"cuda"`` for a CUDA array that does not
    say its device: it is taken to be on the current one). ``__dlpack_device__`` is asked first,
    then ``__cuda_array_interface__``; neither call's own errors escape. Any object that is not
    a CUDA array is taken as a host object; the CPU bindings then say what they refuse."""
    if type(x) is np.ndarray:
        return "cpu"
    dl = _dlpack_device(x)
    if dl is not None:
        kind, index = dl
        if kind in _DLPACK_CUDA:
            return f"cuda:{index}"
        if kind == _DLPACK_CPU:
            return "cpu"
    if _exports_cuda_interface(x):
        try:
            dev = getattr(x, "device", None)
            said = getattr(dev, "id", None)  # CuPy
            if said is None:
                said = getattr(dev, "index", None)  # PyTorch
            return "cuda" if said is None else f"cuda:{int(said)}"
        except Exception:  # a device attribute that is not one: the current device
            return "cuda"
    return "cpu"


def backend(**arrays: object) -> ModuleType | _HostCall | _CudaCall:
    """The module whose kernel to call for these arrays (``None`` values are ignored):
    ``grimoire._core`` when all are on the host, ``grimoire._cuda`` (through :class:`_CudaCall`)
    when all are on the current CUDA device; ``ValueError`` naming the arguments when they are on
    different devices. On CUDA, a kernel ``_cuda`` lacks raises ``NotImplementedError`` naming it,
    and objects that export only DLPack reach ``_cuda`` as zero-copy CuPy views.

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
    numbered = {d for d in devices if d.startswith("cuda:")}
    if "cuda" in devices and len(numbered) == 1:  # "cuda" (device unsaid) is the current one:
        (only,) = numbered  # beside cuda:N it is taken to be that one (_cuda_for checks N is current)
        placed = {name: only if d == "cuda" else d for name, d in placed.items()}
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
    module = _cuda_for(device)
    views = {id(x): cuda_array(x, name, device) for name, x in arrays.items()
             if x is not None and not _readable_cuda_interface(x)}
    return _CudaCall(module, views)


def runs_on_cuda(module: ModuleType | _HostCall | _CudaCall) -> bool:
    """Whether a module :func:`backend` returned runs on the GPU (``_cuda``), not the CPU core."""
    return isinstance(module, _CudaCall)


def cuda_array(x: object, name: str, device: str) -> object:
    """A CUDA array argument that the bindings cannot read directly (no readable
    ``__cuda_array_interface__``) as a CuPy array over the same memory, through
    ``cupy.from_dlpack`` (zero-copy, ordered on CuPy's current stream). An object that exports
    neither is refused with a ``TypeError`` naming the argument and the exporter's reason (e.g.
    PyTorch's "use tensor.detach()" for a tensor that requires grad)."""
    import cupy

    kind = f"{type(x).__module__}.{type(x).__name__}"
    try:
        return cupy.from_dlpack(x)
    except Exception as e:
        raise TypeError(f"{name} ({kind}) is on {device} but exports neither a readable "
                        f"__cuda_array_interface__ nor DLPack that CuPy can view without a copy: {e}") from e


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
        return _substituting(getattr(_core, kernel), self._views)


class _CudaCall:
    """``grimoire._cuda`` for one call: a kernel it does not bind raises ``NotImplementedError``
    naming it (never an AttributeError), and each argument that needed a zero-copy CuPy view
    (:func:`cuda_array`), recognised by identity, is replaced by it."""

    __slots__ = ("_module", "_views")

    def __init__(self, module: ModuleType, views: dict[int, object]):
        self._module = module
        self._views = views

    def __getattr__(self, kernel: str) -> Callable[..., Any]:
        fn = getattr(self._module, kernel, None)
        if fn is None:
            raise NotImplementedError(
                f"{kernel} has no GPU kernel: grimoire._cuda does not bind it, so it runs on the CPU core "
                "only; pass host arrays (cupy.asnumpy(x), tensor.cpu())")
        return _substituting(fn, self._views)


def _substituting(fn: Callable[..., Any], views: Mapping[int, object]) -> Callable[..., Any]:
    """fn with each argument found in ``views`` by identity (also inside a list or tuple
    argument, as the multi-tensor kernels take) replaced by its view."""
    if not views:
        return fn

    def swap(a: object) -> object:
        if type(a) is list or type(a) is tuple:
            return type(a)(views.get(id(e), e) for e in a)
        return views.get(id(a), a)

    def call(*args: object, **kwargs: object) -> object:
        return fn(*(swap(a) for a in args), **{k: swap(v) for k, v in kwargs.items()})

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
