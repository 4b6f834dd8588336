"""What the CUDA tests share: whether _cuda is built, whether a device is present, and a fake
device array that lets the bindings' argument checks run on a machine with no GPU (the checks
read only ``__cuda_array_interface__``; nothing is dereferenced before they pass)."""

from __future__ import annotations

import numpy as np
import pytest

try:
    from grimoire import _cuda
except ImportError:  # built without nvcc: the CPU package is whole
    _cuda = None

CUDA_BUILT = _cuda is not None
DEVICES = _cuda.device_count() if CUDA_BUILT else 0

needs_build = pytest.mark.skipif(not CUDA_BUILT,
                                 reason="grimoire._cuda was not built (no nvcc at build time)")
needs_gpu = pytest.mark.skipif(DEVICES == 0, reason="no CUDA device on this machine: the kernels are checked "
                               "against the CPU core only where a GPU is present")


class FakeDeviceArray:
    """An object exporting ``__cuda_array_interface__`` (v3) for a device pointer that does not
    exist: enough for the argument checks, never for a launch."""

    def __init__(self, shape, dtype="float32", *, strides=None, readonly=False, ptr=1 << 32):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        byte_strides = None if strides is None else tuple(s * self.dtype.itemsize for s in strides)
        self.__cuda_array_interface__ = {
            "shape": self.shape, "typestr": self.dtype.str, "data": (ptr, readonly), "version": 3,
            "strides": byte_strides,
        }
