"""Helpers for the CUDA families' tests: the same bad call on host arrays (CPU core) and on fake
device arrays (CUDA binding) must raise the same exception with the same message, and a good
call must get as far as the device; on a GPU, a tolerance from a float64 reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cuda_support import DEVICES, FakeDeviceArray

_next_ptr = itertools.count(1)


def fake(shape, dtype="float32", **kwargs) -> FakeDeviceArray:
    """A fake device array at its own address (4 GiB apart: never overlapping another)."""
    kwargs.setdefault("ptr", next(_next_ptr) << 32)
    return FakeDeviceArray(shape, dtype, **kwargs)


def same_error(cpu_call, gpu_call, error=ValueError, match: str | None = None) -> str:
    """Both calls raise `error` with one message (returned)."""
    with pytest.raises(error, match=match) as cpu_err:
        cpu_call()
    with pytest.raises(error, match=match) as gpu_err:
        gpu_call()
    assert str(cpu_err.value) == str(gpu_err.value)
    return str(cpu_err.value)


def reaches_device(gpu_call) -> None:
    """A call whose arguments pass every check: without a GPU it stops at the device."""
    if DEVICES:
        pytest.skip("this machine has a CUDA device: the GPU tests run the call")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        gpu_call()


def assert_within_reference_error(got, cpu, ref, slack: float = 2.0, floor: float = 0.0) -> None:
    """|got - ref| <= slack * max|cpu - ref| + floor elementwise, with NaN where ref has NaN:
    the GPU result is as close to the float64 reference as the CPU core's float32 result is."""
    got, cpu, ref = (np.asarray(a, np.float64) for a in (got, cpu, ref))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    finite = ~np.isnan(ref)
    if not finite.any():
        return
    cpu_err = np.abs(cpu - ref)[finite].max()
    tol = slack * cpu_err + floor + 4 * np.finfo(np.float32).eps * np.abs(ref[finite]).max()
    assert np.abs(got - ref)[finite].max() <= tol
