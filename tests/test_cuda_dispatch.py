"""The GPU half's Python dispatch and argument checks, as far as they go without a GPU.

grimoire.kernels picks _core or _cuda from where the arrays live (kernels/_device.py); the CUDA
bindings check their arguments with the same helpers as the CPU ones (checks.h), before any
device call, so those checks are exercised here on fake device arrays.
"""

import glob
import os

import grimoire
import numpy as np
import pytest
from cuda_support import CUDA_BUILT, DEVICES, FakeDeviceArray, _cuda, needs_build
from grimoire.kernels import _device, gemm


def test_a_built_cuda_module_imports_without_a_gpu():
    built = glob.glob(os.path.join(os.path.dirname(grimoire.__file__), "_cuda*.so"))
    assert CUDA_BUILT == bool(built), f"grimoire._cuda is built ({built}) but does not import"


def test_numpy_arrays_take_the_cpu_core():
    from grimoire import _core

    a = np.ones((2, 2), np.float32)
    assert _device.backend(a=a, b=a, c=None) is _core
    assert _device.device_of(a) == "cpu"


def test_device_of_reads_the_interfaces():
    assert _device.device_of(FakeDeviceArray((2, 2))) == "cuda"

    class DLPackOnCuda:
        def __dlpack_device__(self):
            return (2, 1)

    assert _device.device_of(DLPackOnCuda()) == "cuda:1"
    assert _device.device_of([1.0, 2.0]) == "cpu"  # refused later by the CPU binding


@pytest.mark.parametrize("first", ["a", "b"])
def test_mixing_devices_names_both_arguments(first):
    host = np.ones((4, 4), np.float32)
    dev = FakeDeviceArray((4, 4))
    args = (dev, host) if first == "a" else (host, dev)
    with pytest.raises(ValueError, match=r"a is on (cuda|cpu) but b is on (cpu|cuda)"):
        gemm(*args)


def test_cuda_arrays_without_a_device_fail_clearly():
    if DEVICES:
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(RuntimeError, match="(no CUDA device|built without CUDA)"):
        gemm(FakeDeviceArray((3, 4)), FakeDeviceArray((4, 5)))


@needs_build
def test_cuda_families_are_listed():
    assert "gemm" in _cuda.families
    assert all(isinstance(k, str) for kernels in _cuda.families.values() for k in kernels)


@needs_build
@pytest.mark.parametrize(
    ("a", "b", "kwargs", "error", "match"),
    [
        ((3, 4), (5, 4), {}, ValueError, "inner dimensions differ"),
        ((3, 4), (3, 5), {"trans_a": True}, None, None),
        ((2, 3, 4), (3, 4, 5), {}, ValueError, "batch sizes differ"),
        ((3,), (3, 4), {}, ValueError, "must have 2 to 3 dimensions"),
    ],
)
def test_gemm_binding_checks_shapes_like_the_cpu_core(a, b, kwargs, error, match):
    from grimoire import _core

    host_args = (np.ones(a, np.float32), np.ones(b, np.float32))
    dev_args = (FakeDeviceArray(a), FakeDeviceArray(b))
    call = dict(c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False) | kwargs
    if error is None:  # valid shapes: the CUDA binding gets as far as the device
        _core.gemm(*host_args, **call)
        with pytest.raises(RuntimeError, match="no CUDA device"):
            _cuda.gemm(*dev_args, **call)
        return
    with pytest.raises(error, match=match) as cpu_err:
        _core.gemm(*host_args, **call)
    with pytest.raises(error, match=match) as gpu_err:
        _cuda.gemm(*dev_args, **call)
    assert str(cpu_err.value) == str(gpu_err.value)  # one check helper, one message


@needs_build
def test_gemm_binding_refuses_dtype_overlap_and_readonly():
    a, b = FakeDeviceArray((4, 4)), FakeDeviceArray((4, 4), ptr=1 << 33)
    with pytest.raises(TypeError, match="float32.*float64"):
        _cuda.gemm(a, FakeDeviceArray((4, 4), "float64"))
    with pytest.raises(TypeError, match="must be a CUDA array"):
        _cuda.gemm(a, np.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match="c must not share memory"):
        _cuda.gemm(a, b, FakeDeviceArray((4, 4), ptr=(1 << 32) + 8))
    with pytest.raises(ValueError, match="c must be writable"):
        _cuda.gemm(a, b, FakeDeviceArray((4, 4), readonly=True, ptr=1 << 34))
    with pytest.raises(ValueError, match="alpha must be finite as a float32"):
        _cuda.gemm(a, b, FakeDeviceArray((4, 4), ptr=1 << 34), alpha=float("nan"))
    odd = FakeDeviceArray((4, 4))
    odd.__cuda_array_interface__["strides"] = (16, 2)  # bytes: half a float32
    with pytest.raises(ValueError, match="not a multiple of its item size"):
        _cuda.gemm(odd, b)


def test_cuda_build_is_reported_by_info():
    d = grimoire.info(as_dict=True)["cuda"]
    assert d["built"] == CUDA_BUILT
    assert d["devices"] == DEVICES


# ---- stream discipline of the CUDA sources (no GPU needed) ---------------------------------------
CUDA_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "cuda")


def _cuda_sources():
    paths = glob.glob(os.path.join(CUDA_DIR, "*.cu*"))
    paths += glob.glob(os.path.join(CUDA_DIR, "bindings", "*.cpp"))
    assert paths, "cuda/ sources not found"
    texts = {}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            texts[os.path.relpath(p, CUDA_DIR)] = f.read()
    return texts


def _top_level_args(cfg):  # split "a, f(b, c), d" at the commas outside parentheses
    args, depth, cur = [], 0, ""
    for ch in cfg:
        depth += ch == "(" or -(ch == ")")
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += ch
    return [*args, cur]


def test_every_kernel_launch_names_its_stream():
    # <<<grid, block, smem, stream>>>: a launch without the 4th argument runs on the legacy default
    # stream, out of order with the caller's CuPy stream
    import re

    launches = [(f, _top_level_args(cfg)) for f, text in _cuda_sources().items()
                for cfg in re.findall(r"<<<(.*?)>>>", text, re.S)]
    assert len(launches) > 20
    bad = [(f, args) for f, args in launches if len(args) != 4 or "stream" not in args[3]]
    assert not bad, f"launches without a stream: {bad}"


def test_copies_and_memsets_are_ordered_on_the_callers_stream():
    # cudaMemcpy / cudaMemset run on the legacy default stream, which a non-blocking CuPy stream
    # does not wait for (nor it for them): every copy must be the Async form on current_stream()
    import re

    bad = [(f, m.group(0)) for f, text in _cuda_sources().items()
           for m in re.finditer(r"\bcudaMem(cpy|set)(2D|3D|ToSymbol|FromSymbol)?\s*\(", text)]
    assert not bad, f"synchronous legacy-stream calls: {bad}"
