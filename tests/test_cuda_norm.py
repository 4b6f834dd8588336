"""layer_norm / rms_norm on the GPU (grimoire._cuda), the twins of the CPU core's.

Without a GPU: the CUDA binding's checks on fake device arrays give the CPU binding's messages
(norm_shapes.h). With a GPU: every kernel against the CPU core and a float64 reference (and
PyTorch CUDA where present), over odd sizes, 0 and 1 rows, NaN, both the float4 and the scalar
path, and the deterministic weight gradients.
"""

import numpy as np
import pytest
from cuda_checks import assert_within_reference_error, fake, reaches_device, same_error
from cuda_support import _cuda, needs_build, needs_gpu
from grimoire import _core
from grimoire.kernels import layer_norm, layer_norm_backward, rms_norm, rms_norm_backward
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = needs_build


def host_and_device(*shapes, dtype="float32"):
    return [np.zeros(s, dtype) for s in shapes], [fake(s, dtype) for s in shapes]


@pytest.mark.parametrize(
    ("x", "w", "b", "eps", "error", "match"),
    [
        ((), None, None, 1e-5, ValueError, "must have 1 to 64 dimensions"),
        ((3, 0), None, None, 1e-5, ValueError, "must not be empty"),
        ((3, 4), (3,), None, 1e-5, ValueError, "weight must have the shape of x's last axis"),
        ((3, 4), (4,), (4, 1), 1e-5, ValueError, "bias must have the shape"),
        ((3, 4), None, None, float("nan"), ValueError, r"eps must be finite and in \[0, inf\]"),
        ((3, 4), None, None, -1.0, ValueError, r"eps must be finite and in \[0, inf\] as a float32, got -1"),
    ],
)
def test_layer_norm_checks_match_the_cpu(x, w, b, eps, error, match):
    shapes = [s for s in (x, w, b) if s is not None]
    host, dev = host_and_device(*shapes)
    hw = host[1] if w is not None else None
    dw = dev[1] if w is not None else None
    hb = host[-1] if b is not None else None
    db = dev[-1] if b is not None else None
    same_error(
        lambda: _core.layer_norm(host[0], hw, hb, eps),
        lambda: _cuda.layer_norm(dev[0], dw, db, eps),
        error,
        match,
    )
    if b is None:
        same_error(
            lambda: _core.rms_norm(host[0], hw, eps), lambda: _cuda.rms_norm(dev[0], dw, eps), error, match
        )


def test_out_and_dtype_checks_match_the_cpu():
    x = np.zeros((2, 4), np.float32)
    dx = fake((2, 4))
    same_error(
        lambda: _core.layer_norm(x, None, None, 1e-5, x),
        lambda: _cuda.layer_norm(dx, None, None, 1e-5, dx),
        ValueError,
        "out must not share memory with x",
    )
    same_error(
        lambda: _core.layer_norm(x, None, None, 1e-5, np.zeros((2, 3), np.float32)),
        lambda: _cuda.layer_norm(dx, None, None, 1e-5, fake((2, 3))),
        ValueError,
        "out must have the shape",
    )
    same_error(
        lambda: _core.layer_norm(x.astype(np.float64), None, None, 1e-5),
        lambda: _cuda.layer_norm(fake((2, 4), "float64"), None, None, 1e-5),
        TypeError,
        "must have dtype float32",
    )
    with pytest.raises(ValueError, match="out must be writable"):
        _cuda.layer_norm(dx, None, None, 1e-5, fake((2, 4), readonly=True))
    with pytest.raises(ValueError, match="C-contiguous"):
        _cuda.layer_norm(fake((2, 4), strides=(1, 2)), None, None, 1e-5)
    reaches_device(lambda: _cuda.layer_norm(dx, fake((4,)), fake((4,)), 1e-5))
    reaches_device(lambda: _cuda.rms_norm(dx, None, 1e-6, fake((2, 4))))


@pytest.mark.parametrize("rms", [False, True])
def test_backward_checks_match_the_cpu(rms):
    x, gy, w = np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float32), np.zeros(4, np.float32)
    stat = np.zeros(3, np.float32)
    dx, dgy, dw, dstat = fake((3, 4)), fake((3, 4)), fake((4,)), fake((3,))

    def calls(gy_shape=(3, 4), stat_shape=(3,), w_shape=(4,)):
        h = (
            np.zeros(gy_shape, np.float32),
            x,
            np.zeros(w_shape, np.float32),
            np.zeros(stat_shape, np.float32),
        )
        d = (fake(gy_shape), dx, fake(w_shape), fake(stat_shape))
        if rms:
            return (
                lambda: _core.rms_norm_backward(h[0], h[1], h[2], h[3]),
                lambda: _cuda.rms_norm_backward(d[0], d[1], d[2], d[3]),
            )
        return (
            lambda: _core.layer_norm_backward(h[0], h[1], h[2], h[3], h[3]),
            lambda: _cuda.layer_norm_backward(d[0], d[1], d[2], d[3], d[3]),
        )

    same_error(*calls(gy_shape=(3, 5)), ValueError, "grad_y must have the shape of x")
    same_error(*calls(stat_shape=(4,)), ValueError, "must have the shape of x without its last axis")
    same_error(*calls(w_shape=(5,)), ValueError, "weight must have the shape")
    if rms:
        reaches_device(lambda: _cuda.rms_norm_backward(dgy, dx, dw, dstat))
    else:
        reaches_device(lambda: _cuda.layer_norm_backward(dgy, dx, None, dstat, fake((3,))))
    del gy, w, stat


def test_norm_family_is_listed():
    assert {"norm_forward_kernel", "norm_backward_kernel"} <= set(_cuda.families["norm"])


# ---- on a GPU ---------------------------------------------------------------------------------


def _reference_layer_norm(x, w, b, eps, rms):
    x64 = x.astype(np.float64)
    if rms:
        rstd = 1 / np.sqrt((x64 * x64).mean(-1, keepdims=True) + eps)
        y = x64 * rstd
    else:
        mean = x64.mean(-1, keepdims=True)
        rstd = 1 / np.sqrt(((x64 - mean) ** 2).mean(-1, keepdims=True) + eps)
        y = (x64 - mean) * rstd
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


@needs_gpu
@settings(max_examples=40, deadline=None)
@given(
    rows=st.sampled_from([0, 1, 3, 17]),
    dim=st.sampled_from([1, 3, 4, 37, 128, 769, 1024, 4100, 12000]),
    affine=st.booleans(),
    rms=st.booleans(),
    offset=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**31),
)
def test_forward_and_backward_match_the_cpu(rows, dim, affine, rms, offset, seed):
    import cupy as cp

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, dim)) * 3 + 1).astype(np.float32)
    w = rng.standard_normal(dim).astype(np.float32) if affine else None
    b = rng.standard_normal(dim).astype(np.float32) if affine and not rms else None
    gy = rng.standard_normal((rows, dim)).astype(np.float32)
    # offset 1: a view one float into a buffer, so the rows are not 16-byte aligned (scalar path)
    dx = cp.zeros(rows * dim + offset, cp.float32)[offset:].reshape(rows, dim)
    dx[...] = cp.asarray(x)
    dw, db, dgy = (None if a is None else cp.asarray(a) for a in (w, b, gy))
    if rms:
        y, rstd = rms_norm(x, w, 1e-6)
        gy_, grstd = rms_norm(dx, dw, 1e-6)
        gx, gw = rms_norm_backward(gy, x, w, rstd)
        ggx, ggw = rms_norm_backward(dgy, dx, dw, grstd)
        assert isinstance(gy_, cp.ndarray) and isinstance(ggx, cp.ndarray)
        assert_within_reference_error(cp.asnumpy(gy_), y, _reference_layer_norm(x, w, None, 1e-6, True))
        np.testing.assert_allclose(cp.asnumpy(grstd), rstd, rtol=1e-5)
        np.testing.assert_allclose(
            cp.asnumpy(ggx), gx, rtol=1e-4, atol=1e-4 * (1 + np.abs(gx).max(initial=0))
        )
        np.testing.assert_allclose(
            cp.asnumpy(ggw), gw, rtol=1e-4, atol=1e-4 * (1 + np.abs(gw).max(initial=0))
        )
        return
    y, mean, rstd = layer_norm(x, w, b, 1e-5)
    gy_, gmean, grstd = layer_norm(dx, dw, db, 1e-5)
    assert_within_reference_error(cp.asnumpy(gy_), y, _reference_layer_norm(x, w, b, 1e-5, False))
    np.testing.assert_allclose(cp.asnumpy(gmean), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cp.asnumpy(grstd), rstd, rtol=1e-5)
    gx, gw, gb = layer_norm_backward(gy, x, w, mean, rstd)
    ggx, ggw, ggb = layer_norm_backward(dgy, dx, dw, gmean, grstd)
    for got, want in ((ggx, gx), (ggw, gw), (ggb, gb)):
        np.testing.assert_allclose(
            cp.asnumpy(got), want, rtol=1e-4, atol=1e-4 * (1 + np.abs(want).max(initial=0))
        )


@needs_gpu
def test_nan_rows_stay_in_their_row_and_weight_gradients_are_deterministic():
    import cupy as cp

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 300)).astype(np.float32)
    x[5, 7] = np.nan
    y, mean, rstd = layer_norm(cp.asarray(x), None, None, 1e-5)
    y = cp.asnumpy(y)
    assert np.isnan(y[5]).all() and np.isfinite(np.delete(y, 5, axis=0)).all()
    x[5, 7] = 0.0
    gy = cp.asarray(rng.standard_normal((64, 300)).astype(np.float32))
    dx, w = cp.asarray(x), cp.asarray(rng.standard_normal(300).astype(np.float32))
    _, mean, rstd = layer_norm(dx, w, None, 1e-5)
    first = [cp.asnumpy(a) for a in layer_norm_backward(gy, dx, w, mean, rstd)]
    for _ in range(3):
        again = [cp.asnumpy(a) for a in layer_norm_backward(gy, dx, w, mean, rstd)]
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)  # no atomics: bit-identical every run


@needs_gpu
def test_large_rows_use_the_uncached_paths():
    """dim past the forward's shared-memory cache and the backward's shared accumulators."""
    import cupy as cp

    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 30000)).astype(np.float32)
    w = rng.standard_normal(30000).astype(np.float32)
    y, mean, rstd = layer_norm(x, w, w, 1e-5)
    gy_, gmean, grstd = layer_norm(cp.asarray(x), cp.asarray(w), cp.asarray(w), 1e-5)
    assert_within_reference_error(cp.asnumpy(gy_), y, _reference_layer_norm(x, w, w, 1e-5, False))
    gx, gw, gb = layer_norm_backward(x, x, w, mean, rstd)
    ggx, ggw, ggb = layer_norm_backward(cp.asarray(x), cp.asarray(x), cp.asarray(w), gmean, grstd)
    for got, want in ((ggx, gx), (ggw, gw), (ggb, gb)):
        np.testing.assert_allclose(cp.asnumpy(got), want, rtol=1e-4, atol=1e-4 * (1 + np.abs(want).max()))


@needs_gpu
def test_torch_cuda_tensors_zero_copy_and_torch_agrees():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    import cupy as cp

    x = torch.randn(33, 257, device="cuda")
    w, b = torch.randn(257, device="cuda"), torch.randn(257, device="cuda")
    y, _, _ = layer_norm(x, w, b, 1e-5)
    assert isinstance(y, cp.ndarray)
    want = torch.nn.functional.layer_norm(x, (257,), w, b, 1e-5)
    np.testing.assert_allclose(cp.asnumpy(y), want.cpu().numpy(), rtol=1e-4, atol=1e-4)


# ---- batch_norm ---------------------------------------------------------------------------------


def test_batch_norm_checks_match_the_cpu():
    x, dx = np.zeros((1, 3), np.float32), fake((1, 3))
    same_error(
        lambda: _core.batch_norm(x, None, None, None, None, True, 0.1, 1e-5),
        lambda: _cuda.batch_norm(dx, None, None, None, None, True, 0.1, 1e-5),
        ValueError,
        "needs more than 1 value per channel",
    )
    same_error(
        lambda: _core.batch_norm(x, None, None, None, None, False, 0.1, 1e-5),
        lambda: _cuda.batch_norm(dx, None, None, None, None, False, 0.1, 1e-5),
        ValueError,
        "required when training=False",
    )
    same_error(
        lambda: _core.batch_norm(np.zeros(3, np.float32), None, None, None, None, True, 0.1, 1e-5),
        lambda: _cuda.batch_norm(fake((3,)), None, None, None, None, True, 0.1, 1e-5),
        ValueError,
        "must have 2 to 64 dimensions",
    )
    same_error(
        lambda: _core.batch_norm(
            np.zeros((4, 3), np.float32), np.zeros(2, np.float32), None, None, None, True, 0.1, 1e-5
        ),
        lambda: _cuda.batch_norm(fake((4, 3)), fake((2,)), None, None, None, True, 0.1, 1e-5),
        ValueError,
        "weight must have the shape of x's channel axis",
    )
    same_error(
        lambda: _core.batch_norm_backward(
            np.zeros((4, 3), np.float32), np.zeros((4, 3), np.float32), None, None, None, True
        ),
        lambda: _cuda.batch_norm_backward(fake((4, 3)), fake((4, 3)), None, None, None, True),
        ValueError,
        "save_mean and save_rstd are required",
    )
    reaches_device(
        lambda: _cuda.batch_norm(fake((4, 3, 5)), fake((3,)), None, fake((3,)), fake((3,)), True, 0.1, 1e-5)
    )


@needs_gpu
@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(2, 3), (5, 1), (4, 3, 7), (2, 5, 3, 3), (64, 8), (3, 2, 0)]),
    training=st.booleans(),
    affine=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_batch_norm_matches_the_cpu(shape, training, affine, seed):
    import cupy as cp

    if training and shape[0] * int(np.prod(shape[2:])) <= 1:
        return
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
    w = rng.standard_normal(c).astype(np.float32) if affine else None
    b = rng.standard_normal(c).astype(np.float32) if affine else None
    rm, rv = rng.standard_normal(c).astype(np.float32), rng.random(c).astype(np.float32) + 0.5
    drm, drv = cp.asarray(rm), cp.asarray(rv)
    y, sm, sr = _core.batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5)
    dw, db = (None if a is None else cp.asarray(a) for a in (w, b))
    gy_, gsm, gsr = _cuda.batch_norm(cp.asarray(x), dw, db, drm, drv, training, 0.1, 1e-5)
    tol = dict(rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(cp.asnumpy(gy_), y, **tol)
    np.testing.assert_allclose(cp.asnumpy(gsm), sm, **tol)
    np.testing.assert_allclose(cp.asnumpy(gsr), sr, **tol)
    np.testing.assert_allclose(cp.asnumpy(drm), rm, **tol)
    np.testing.assert_allclose(cp.asnumpy(drv), rv, **tol)
    gy = rng.standard_normal(shape).astype(np.float32)
    want = _core.batch_norm_backward(gy, x, w, sm, sr, training)
    got = _cuda.batch_norm_backward(cp.asarray(gy), cp.asarray(x), dw, gsm, gsr, training)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(cp.asnumpy(g), e, rtol=1e-4, atol=1e-4 * (1 + np.abs(e).max(initial=0)))
