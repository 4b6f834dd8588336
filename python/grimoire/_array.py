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


def device(x) -> str:
    """``"cpu"`` or ``"cuda:N"``: where an array lives."""
    from .kernels._device import device_of

    return device_of(x)
