"""conv2d forward/backward on the GPU (cuda/conv.cu, implicit GEMM) against the CPU core.

Without a GPU: the CUDA binding refuses the same bad calls as the CPU one, with the same message
(both read conv_operands.h). With a GPU: float32 against the CPU core (tolerance from the float64
reference's error, as for the GEMM), bf16 against a float64 convolution of the same rounded
inputs, over strides, paddings, dilations, groups (depthwise included) and sizes 1; PyTorch CUDA
where it is importable.
"""

import numpy as np
import pytest
from cuda_support import DEVICES, FakeDeviceArray, _cuda, needs_build, needs_gpu
from grimoire.kernels import conv2d, conv2d_backward
from grimoire.kernels.quant import from_bf16, to_bf16
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:
    import cupy as cp
except ImportError:
    cp = None

EPS32 = np.finfo(np.float32).eps


@needs_build
@pytest.mark.parametrize(
    ("x", "w", "kwargs", "match"),
    [((2, 3, 8, 8), (4, 3, 3, 3), {"groups": 2}, "divisible by groups"),
     ((2, 4, 8, 8), (4, 3, 3, 3), {"groups": 2}, "must have shape"),
     ((2, 3, 2, 2), (4, 3, 5, 5), {}, "larger than the padded input"),
     ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": (0, 1)}, r"stride\[0\] must be >= 1"),
     ((2, 3, 8), (4, 3, 3, 3), {}, "x must have 4 dimensions")],
)
def test_conv_binding_checks_like_the_cpu_core(x, w, kwargs, match):
    from grimoire import _core

    call = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1} | kwargs
    args = (call["stride"], call["padding"], call["dilation"], call["groups"])
    with pytest.raises(ValueError, match=match) as cpu_err:
        _core.conv2d(np.ones(x, np.float32), np.ones(w, np.float32), None, *args)
    with pytest.raises(ValueError, match=match) as gpu_err:
        _cuda.conv2d(FakeDeviceArray(x), FakeDeviceArray(w, ptr=1 << 33), None, *args)
    assert str(cpu_err.value) == str(gpu_err.value)


@needs_build
def test_conv_binding_checks_dtypes_and_grad_shape():
    with pytest.raises(TypeError, match="x must have dtype float32 or bfloat16"):
        _cuda.conv2d(FakeDeviceArray((1, 1, 4, 4), "float64"), FakeDeviceArray((1, 1, 3, 3)), None, (1, 1),
                     (0, 0), (1, 1), 1)
    with pytest.raises(TypeError, match="w must have dtype uint16, got float32"):
        _cuda.conv2d(FakeDeviceArray((1, 1, 4, 4), "uint16"), FakeDeviceArray((1, 1, 3, 3)), None, (1, 1),
                     (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="grad_out must have the shape of the convolution's output"):
        _cuda.conv2d_backward(FakeDeviceArray((1, 1, 3, 3)), FakeDeviceArray((1, 1, 4, 4)),
                              FakeDeviceArray((1, 1, 3, 3)), (1, 1), (0, 0), (1, 1), 1, True, True, True)


@needs_build
def test_conv_dispatches_to_the_gpu():
    if DEVICES:
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        conv2d(FakeDeviceArray((1, 1, 4, 4)), FakeDeviceArray((1, 1, 3, 3), ptr=1 << 33))
    with pytest.raises(ValueError, match="x is on cuda but w is on cpu"):
        conv2d(FakeDeviceArray((1, 1, 4, 4)), np.ones((1, 1, 3, 3), np.float32))


def _conv64(x, w, b, stride, padding, dilation, groups):
    """The convolution in float64 by explicit taps (the oracle; independent of both kernels)."""
    n, c_in, h, wd = x.shape
    c_out, cg, kh, kw = w.shape
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = np.zeros((n, c_in, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    y = np.zeros((n, c_out, oh, ow))
    cog = c_out // groups
    for o in range(c_out):
        g = o // cog
        for p in range(kh):
            for q in range(kw):
                rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
                cols = slice(q * dw, q * dw + sw * (ow - 1) + 1, sw)
                patch = xp[:, g * cg:(g + 1) * cg, rows, cols]
                y[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, p, q])
    if b is not None:
        y += b[None, :, None, None]
    return y


conv_cases = st.fixed_dictionaries({
    "n": st.integers(1, 3), "cg": st.integers(1, 5), "cog": st.integers(1, 5),
    "groups": st.sampled_from([1, 1, 2, 3]), "h": st.integers(1, 12), "w": st.integers(1, 12),
    "kh": st.integers(1, 3), "kw": st.integers(1, 3),
    "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
    "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
    "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)), "bias": st.booleans(),
    "seed": st.integers(0, 2**31),
})


def _draw(case, bf16):
    c_in, c_out = case["cg"] * case["groups"], case["cog"] * case["groups"]
    eh = case["dilation"][0] * (case["kh"] - 1) + 1
    ew = case["dilation"][1] * (case["kw"] - 1) + 1
    h = max(case["h"], eh - 2 * case["padding"][0])
    w_ = max(case["w"], ew - 2 * case["padding"][1])
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], c_in, h, w_)).astype(np.float32)
    w = rng.standard_normal((c_out, case["cg"], case["kh"], case["kw"])).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32) if case["bias"] else None
    if bf16:
        x, w = to_bf16(x), to_bf16(w)
    return x, w, b


def _bound(got_ref_err, x64, w64, kw):
    """2x the float32 reference's max error plus a few ulps of the magnitude of the sums."""
    mag = _conv64(np.abs(x64), np.abs(w64), None, **kw)
    return 2 * got_ref_err + 8 * EPS32 * mag * (1 + np.prod(w64.shape[1:]))


@needs_gpu
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=conv_cases, bf16=st.booleans())
def test_conv2d_forward_matches(case, bf16):
    x, w, b = _draw(case, bf16)
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    x64 = (from_bf16(x) if bf16 else x).astype(np.float64)
    w64 = (from_bf16(w) if bf16 else w).astype(np.float64)
    truth = _conv64(x64, w64, b, **kw)
    cpu = conv2d(x64.astype(np.float32), w64.astype(np.float32), b, **kw)
    got = cp.asnumpy(conv2d(cp.asarray(x), cp.asarray(w), None if b is None else cp.asarray(b), **kw))
    assert got.dtype == np.float32 and got.shape == truth.shape
    bound = _bound(np.max(np.abs(cpu - truth), initial=0.0), x64, w64, kw)
    assert np.all(np.abs(got - truth) <= bound)


@needs_gpu
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=conv_cases, bf16=st.booleans())
def test_conv2d_backward_matches_the_cpu_core(case, bf16):
    x, w, _ = _draw(case, bf16)
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    x32 = from_bf16(x) if bf16 else x
    w32 = from_bf16(w) if bf16 else w
    y_shape = conv2d(x32, w32, **kw).shape
    rng = np.random.default_rng(case["seed"] + 1)
    dy = rng.standard_normal(y_shape).astype(np.float32)
    if bf16:
        dy = to_bf16(dy)
    dy32 = from_bf16(dy) if bf16 else dy
    truth = _torch_grads(dy32, x32, w32, kw)
    magnitude = _torch_grads(np.abs(dy32), np.abs(x32), np.abs(w32), kw)
    cpu = conv2d_backward(dy32, x32, w32, **kw)  # float32 on the CPU: its error sets the bound
    got = conv2d_backward(cp.asarray(dy), cp.asarray(x), cp.asarray(w), **kw)
    for g, c, t, mag, name in zip(got, cpu, truth, magnitude, ("dx", "dw", "db"), strict=True):
        g = cp.asnumpy(g)
        assert g.dtype == np.float32 and g.shape == t.shape, name
        bound = 2 * np.max(np.abs(c - t), initial=0.0) + 8 * EPS32 * mag * np.sqrt(dy32.size + 1)
        assert np.all(np.abs(g - t) <= bound), name


def _torch_grads(dy, x, w, kw):
    """(dx, dw, db) of sum(dy * conv2d(x, w, b)) in float64 by PyTorch CPU autograd (the oracle)."""
    import torch

    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(tx, tw, tb, **kw)
    y.backward(torch.tensor(dy, dtype=torch.float64))
    return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


@needs_gpu
def test_conv2d_against_torch_cuda():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("PyTorch without CUDA: the CPU core is the oracle above")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6, 17, 19)).astype(np.float32)
    w = rng.standard_normal((9, 3, 3, 3)).astype(np.float32)
    kw = {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}
    tx = torch.from_numpy(x).cuda().requires_grad_()
    tw = torch.from_numpy(w).cuda().requires_grad_()
    ty = torch.nn.functional.conv2d(tx, tw, **kw)
    got = conv2d(tx.detach(), tw.detach(), **kw)  # torch CUDA tensors in, zero-copy
    np.testing.assert_allclose(cp.asnumpy(got), ty.detach().cpu().numpy(), rtol=1e-4, atol=1e-4)
    gy = torch.randn_like(ty)
    ty.backward(gy)
    dx, dw, _ = conv2d_backward(gy, tx.detach(), tw.detach(), needs_input_grad=(True, True, False), **kw)
    np.testing.assert_allclose(cp.asnumpy(dx), tx.grad.cpu().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cp.asnumpy(dw), tw.grad.cpu().numpy(), rtol=1e-4, atol=1e-3)
