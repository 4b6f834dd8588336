"""The array namespace of a Tensor's data: NumPy on the CPU, CuPy on a GPU, any array-API
standard library in tests (``array_api_strict``).

Layer code takes ``xp = namespace(x)`` and calls the array-API standard functions on it
(``xp.exp``, ``xp.matmul``, ``xp.sum(a, axis=...)``, ``xp.concat``), so the same layer runs on
every device; the kernel families dispatch on the arrays themselves (kernels/_device.py).
"""

from __future__ import annotations

from types import ModuleType

import array_api_compat


def namespace(*arrays) -> ModuleType:
    """The array-API namespace of ``arrays`` (Python scalars and None are ignored); a
    ``TypeError`` when they come from different libraries."""
    arrays = tuple(a for a in arrays if a is not None and not isinstance(a, (bool, int, float)))
    return array_api_compat.array_namespace(*arrays)


def device(x: object) -> str:
    """``"cpu"`` or ``"cuda:N"``: where an array lives."""
    from .kernels._device import device_of

    return device_of(x)


def to_host(x):
    """``x`` as a NumPy array: itself when it is one, ``.get()`` for CuPy (a device-to-host
    copy), a zero-copy DLPack view for other CPU arrays (array_api_strict, CPU torch tensors)."""
    import numpy as np

    if type(x) is np.ndarray:
        return x
    if hasattr(x, "__cuda_array_interface__") and hasattr(x, "get"):
        return x.get()
    if hasattr(x, "__dlpack__"):
        return np.from_dlpack(x)
    return np.asarray(x)


def to_device(x, device: str):
    """``x`` moved to ``device`` (``"cpu"`` or ``"cuda"``/``"cuda:N"``): a CPU array already on
    the CPU is returned as it is (its namespace kept); CUDA arrays are CuPy arrays."""
    where = str(device)
    if where == "cpu":
        return x if not device_is_cuda(x) else to_host(x)
    if not where.startswith("cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(f"moving to {where} needs CuPy: pip install 'ml-grimoire[cuda]'") from e
    index = int(where.split(":")[1]) if ":" in where else cupy.cuda.Device().id
    with cupy.cuda.Device(index):
        return cupy.asarray(to_host(x) if not device_is_cuda(x) else x)


def device_is_cuda(x) -> bool:
    return device(x) != "cpu"


def ascontiguous(xp: ModuleType, x):
    """``x`` C-contiguous (a copy only when it is not), in its own namespace."""
    contiguous = getattr(xp, "ascontiguousarray", None)  # NumPy, CuPy
    if contiguous is not None:
        return contiguous(x)
    # the array-API standard does not expose memory layout: other namespaces are CPU ones here
    # (to_device makes CuPy arrays), whose layout a zero-copy DLPack view shows
    import numpy as np

    host = to_host(x)
    return x if host.flags.c_contiguous else xp.asarray(np.ascontiguousarray(host))


def scatter_add(xp: ModuleType, target, index, values) -> None:
    """``target[index] += values`` with repeated indices summed (NumPy's ``add.at``): the array-API
    standard has no scatter, so NumPy and CuPy use theirs and other CPU arrays a DLPack view."""
    import numpy as np

    if type(target) is np.ndarray:
        np.add.at(target, index, values)
        return
    add = getattr(xp, "add", None)
    if add is not None and hasattr(add, "at"):  # CuPy
        add.at(target, index, values)
        return
    host = to_host(target)  # zero-copy for CPU arrays: writes land in target
    np.add.at(host, _host_index(index), to_host(values))


def _host_index(index):
    if isinstance(index, tuple):
        return tuple(_host_index(i) for i in index)
    if isinstance(index, (slice, int, type(None), type(Ellipsis))):
        return index
    return to_host(index)
