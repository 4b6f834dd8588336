"""The GPU half's Python dispatch and argument checks, as far as they go without a GPU.

grimoire.kernels picks _core or _cuda from where the arrays live (kernels/_device.py); the CUDA
bindings check their arguments with the same helpers as the CPU ones (checks.h), before any
device call, so those checks are exercised here on fake device arrays.
"""

import glob
import os
import types

import grimoire
import numpy as np
import pytest
from cuda_support import CUDA_BUILT, DEVICES, FakeDeviceArray, _cuda, needs_build
from grimoire import kernels
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


class _GradTensorLike:
    """A PyTorch CUDA tensor that requires grad, as the interfaces see it: the device is
    reported, but __cuda_array_interface__ and __dlpack__ raise RuntimeError."""

    def __dlpack_device__(self):
        return (2, 0)

    @property
    def __cuda_array_interface__(self):
        raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires grad. If gradients "
                           "aren't required, use var.detach() to get Variable that doesn't require grad.")

    def __dlpack__(self, **kwargs):
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")


class _DLPackOnlyCuda:
    """An object exporting DLPack on cuda:0 and nothing else (no __cuda_array_interface__)."""

    def __init__(self, shape):
        self.shape = shape

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, **kwargs):
        return "capsule"


def test_device_of_never_lets_an_interface_error_escape():
    assert _device.device_of(_GradTensorLike()) == "cuda:0"  # hasattr would have raised RuntimeError

    class RaisingInterfaceOnly:  # no DLPack: the raising interface still says "CUDA"
        @property
        def __cuda_array_interface__(self):
            raise RuntimeError("no")

    assert _device.device_of(RaisingInterfaceOnly()) == "cuda"

    class BrokenDLPackDevice(FakeDeviceArray):  # __dlpack_device__ fails: the interface decides
        def __dlpack_device__(self):
            raise BufferError("no")

    assert _device.device_of(BrokenDLPackDevice((2,))) == "cuda"

    class HostDLPackDespiteInterface(FakeDeviceArray):  # DLPack is believed first
        def __dlpack_device__(self):
            return (1, 0)

    assert _device.device_of(HostDLPackDespiteInterface((2,))) == "cpu"

    class OddDeviceAttribute(FakeDeviceArray):
        device = types.SimpleNamespace(id="not an int")

    assert _device.device_of(OddDeviceAttribute((2,))) == "cuda"


@pytest.fixture
def device_present(monkeypatch):
    """Dispatch as if a CUDA device were present: _cuda_for returns a stand-in module that
    records the calls it receives (only gemm is bound)."""
    calls = []
    stand_in = types.ModuleType("stand_in_cuda")
    stand_in.gemm = lambda *args: calls.append(args) or "gemm ran"
    monkeypatch.setattr(_device, "_cuda_for", lambda device: stand_in)
    return calls


def test_dlpack_only_cuda_arrays_reach_cuda_as_cupy_views(device_present, monkeypatch):
    cupy = pytest.importorskip("cupy")
    converted = {}

    def from_dlpack(x):  # cupy.from_dlpack without a device: ask for the capsule, return a view
        assert x.__dlpack__() == "capsule"
        converted[id(x)] = FakeDeviceArray(x.shape)
        return converted[id(x)]

    monkeypatch.setattr(cupy, "from_dlpack", from_dlpack)
    a, b = _DLPackOnlyCuda((3, 4)), FakeDeviceArray((4, 5))
    assert _device.runs_on_cuda(_device.backend(a=a, b=b))
    assert gemm(a, b) == "gemm ran"
    (got_a, got_b, *_), = device_present
    assert got_a is converted[id(a)]  # converted, zero-copy by contract of cupy.from_dlpack
    assert got_b is b  # a readable __cuda_array_interface__ is passed through untouched
    assert list(converted) == [id(a)]


def test_a_cuda_array_that_exports_nothing_readable_is_refused_by_name(device_present, monkeypatch):
    cupy = pytest.importorskip("cupy")
    monkeypatch.setattr(cupy, "from_dlpack", lambda x: x.__dlpack__())  # the exporter's refusal, no driver
    with pytest.raises(TypeError, match=r"^b \(test_cuda_dispatch._GradTensorLike\) is on cuda:0 .*detach"):
        gemm(FakeDeviceArray((3, 4)), _GradTensorLike())
    assert device_present == []


@needs_build
def test_a_converted_dlpack_array_passes_the_bindings_checks(monkeypatch):
    cupy = pytest.importorskip("cupy")
    monkeypatch.setattr(_device, "_cuda_for", lambda device: _cuda)
    monkeypatch.setattr(cupy, "from_dlpack", lambda x: FakeDeviceArray(x.shape, ptr=1 << 40))
    if DEVICES:
        pytest.skip("this machine has a CUDA device: the GPU tests run real calls")
    with pytest.raises(RuntimeError, match="no CUDA device"):  # past every check, not "must be a CUDA array"
        gemm(_DLPackOnlyCuda((3, 4)), FakeDeviceArray((4, 5)))


def _fake(shape, dtype="float32", n=[0]):  # noqa: B006 (a counter: every fake at its own address)
    n[0] += 1
    return FakeDeviceArray(shape, dtype, ptr=n[0] << 36)


# Kernels with no GPU twin: called on CUDA arrays, a NotImplementedError that names the binding,
# raised before anything else (never an AttributeError from the _cuda module).
CPU_ONLY = [
    ("pairwise_distances", lambda: kernels.pairwise_distances(_fake((3, 4)), _fake((5, 4)))),
    ("linear_attention_forward", lambda: kernels.linear_attention(_fake((1, 4, 8)), _fake((1, 4, 8)),
                                                                  _fake((1, 4, 8)))),
    ("linear_attention_backward", lambda: kernels.linear_attention_backward(
        _fake((1, 4, 8)), _fake((1, 4, 8)), _fake((1, 4, 8)), _fake((1, 4, 8)))),
    ("eigh_symmetric", lambda: kernels.eigh_symmetric(_fake((4, 4), "float64"))),
    ("svd_bidiagonal", lambda: kernels.svd_bidiagonal(_fake((6, 4), "float64"))),
    ("jacobi_svd_sweeps", lambda: kernels.jacobi_svd_sweeps(_fake((4, 6), "float64"), None)),
    ("word2vec_sgns_train", lambda: kernels.word2vec_sgns_train(
        _fake((10, 4)), _fake((10, 4)), _fake((20,), "int32"), _fake((50,), "int32"))),
    ("pack_int8_weight", lambda: kernels.pack_int8_weight(_fake((4, 8), "int8"))),
    ("linear_int8_packed", lambda: kernels.linear_int8_packed(_fake((2, 8)), None, _fake((4,)))),
    ("gelu", lambda: kernels.gelu(_fake((4, 8)))),
    ("gelu_backward", lambda: kernels.gelu_backward(_fake((4, 8)), _fake((4, 8)))),
    ("conv2d_int8", lambda: kernels.conv2d_int8(_fake((2, 3, 8, 8)), None, _fake((4,)))),
    ("linear_bf16", lambda: kernels.linear_bf16(_fake((2, 8)), _fake((4, 8)))),
    ("pack_bf16_weight", lambda: kernels.pack_bf16_weight(_fake((4, 8)))),
    ("linear_bf16_packed", lambda: kernels.linear_bf16_packed(_fake((2, 8)), None)),
]


@pytest.mark.parametrize(("binding", "call"), CPU_ONLY, ids=[b for b, _ in CPU_ONLY])
def test_kernels_without_a_gpu_twin_say_so(binding, call, monkeypatch):
    module = _cuda if CUDA_BUILT else types.ModuleType("stand_in_cuda")  # the real one where built
    monkeypatch.setattr(_device, "_cuda_for", lambda device: module)
    assert not hasattr(module, binding), f"_cuda now binds {binding}: test it like the other families"
    with pytest.raises(NotImplementedError, match=rf"^{binding} has no GPU kernel"):
        call()


@needs_build
def test_every_dispatched_kernel_is_bound_or_listed_as_cpu_only():
    """The binding names grimoire.kernels dispatches through backend(...) are either bound by
    _cuda (the families) or the CPU-only ones above: a new Python function on a kernel _cuda
    lacks must be added to CPU_ONLY (and so gets the NotImplementedError test)."""
    import ast
    import inspect

    def is_backend(node):
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "backend"

    called = set()
    for module in (kernels.activation, kernels.attention, kernels.conv, kernels.distance, kernels.gemm,
                   kernels.linalg, kernels.linear_attention, kernels.norm, kernels.optim, kernels.pool,
                   kernels.quant, kernels.softmax, kernels.word2vec):
        nodes = list(ast.walk(ast.parse(inspect.getsource(module))))
        holders = {t.id for node in nodes if isinstance(node, ast.Assign) and is_backend(node.value)
                   for t in node.targets if isinstance(t, ast.Name)}  # module = backend(...)
        for node in nodes:
            if not isinstance(node, ast.Attribute):
                continue
            if is_backend(node.value) or (isinstance(node.value, ast.Name) and node.value.id in holders):
                called.add(node.attr)
    assert {"gemm", "attention_forward", "pairwise_distances", "word2vec_sgns_train"} <= called
    missing = {name for name in called if not hasattr(_cuda, name)} - {b for b, _ in CPU_ONLY}
    assert missing == set()


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
