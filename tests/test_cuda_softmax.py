"""softmax / log_softmax / backwards / cross_entropy on the GPU (grimoire._cuda), the twins of
the CPU core's: the checks without a GPU (softmax_shapes.h messages), and with a GPU every kernel
against the CPU core, a float64 reference and PyTorch CUDA, including 50k-class vocabularies."""

import numpy as np
import pytest
from cuda_checks import assert_within_reference_error, fake, reaches_device, same_error
from cuda_support import _cuda, needs_build, needs_gpu
from grimoire import _core
from grimoire.kernels import cross_entropy, log_softmax, log_softmax_backward, softmax, softmax_backward
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = needs_build


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_forward_checks_match_the_cpu(fn):
    same_error(
        lambda: getattr(_core, fn)(np.zeros((), np.float32)),
        lambda: getattr(_cuda, fn)(fake(())),
        ValueError,
        "must have 1 to 64 dimensions",
    )
    same_error(
        lambda: getattr(_core, fn)(np.zeros(3, np.float64)),
        lambda: getattr(_cuda, fn)(fake((3,), "float64")),
        TypeError,
        "must have dtype float32",
    )
    reaches_device(lambda: getattr(_cuda, fn)(fake((2, 5))))


@pytest.mark.parametrize("fn", ["softmax_backward", "log_softmax_backward"])
def test_backward_checks_match_the_cpu(fn):
    same_error(
        lambda: getattr(_core, fn)(np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32)),
        lambda: getattr(_cuda, fn)(fake((2, 3)), fake((2, 4))),
        ValueError,
        "grad_y must have the shape of y",
    )
    reaches_device(lambda: getattr(_cuda, fn)(fake((2, 3)), fake((2, 3))))


@pytest.mark.parametrize(
    ("logits", "targets", "kwargs", "match"),
    [
        ((3, 4), (2,), {}, "one entry per row"),
        ((3, 0), (3,), {}, "at least one class"),
        ((3, 4), (3,), {"reduction": "avg"}, "reduction must be"),
        ((3, 4), (3,), {"label_smoothing": 1.5}, r"label_smoothing must be finite and in \[0, 1\]"),
        ((3,), (3,), {}, "must have 2 dimensions"),
    ],
)
def test_cross_entropy_checks_match_the_cpu(logits, targets, kwargs, match):
    call = {"reduction": "mean", "ignore_index": -100, "label_smoothing": 0.0, "return_grad": False} | kwargs
    same_error(
        lambda: _core.cross_entropy(np.zeros(logits, np.float32), np.zeros(targets, np.int64), **call),
        lambda: _cuda.cross_entropy(fake(logits), fake(targets, "int64"), **call),
        ValueError,
        match,
    )


def test_cross_entropy_target_dtype_and_device():
    with pytest.raises(TypeError, match="targets must have dtype int64"):
        _cuda.cross_entropy(fake((3, 4)), fake((3,), "int32"), "mean", -100, 0.0, False)
    reaches_device(lambda: _cuda.cross_entropy(fake((3, 4)), fake((3,), "int64"), "sum", -100, 0.1, True))


# ---- on a GPU ---------------------------------------------------------------------------------


def _softmax64(x):
    x64 = x.astype(np.float64)
    m = np.max(np.where(np.isnan(x64), -np.inf, x64), axis=-1, keepdims=True)
    e = np.exp(x64 - m)
    return e / e.sum(-1, keepdims=True), (x64 - m) - np.log(e.sum(-1, keepdims=True))


@needs_gpu
@settings(max_examples=40, deadline=None)
@given(
    rows=st.sampled_from([0, 1, 5]),
    dim=st.sampled_from([1, 2, 7, 64, 1000, 4097, 50257]),
    special=st.sampled_from([None, np.nan, np.inf, -np.inf]),
    scale=st.sampled_from([1.0, 30.0, 1e4]),
    seed=st.integers(0, 2**31),
)
def test_softmax_family_matches_the_cpu(rows, dim, special, scale, seed):
    import cupy as cp

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, dim)) * scale).astype(np.float32)
    if special is not None and rows > 1:
        x[1, dim // 2] = special
    p64, lp64 = _softmax64(x)
    dx = cp.asarray(x)
    for fn, ref in ((softmax, p64), (log_softmax, lp64)):
        got, cpu = cp.asnumpy(fn(dx)), fn(x)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(cpu))  # NaN/inf rows as the CPU
        assert_within_reference_error(
            np.where(np.isnan(cpu), np.nan, got), cpu, np.where(np.isnan(cpu), np.nan, ref)
        )
    gy = rng.standard_normal((rows, dim)).astype(np.float32)
    y, ly = softmax(x), log_softmax(x)
    for fn, out in ((softmax_backward, y), (log_softmax_backward, ly)):
        got, cpu = cp.asnumpy(fn(cp.asarray(gy), cp.asarray(out))), fn(gy, out)
        np.testing.assert_allclose(got, cpu, rtol=1e-4, atol=1e-5 * (1 + np.nanmax(np.abs(cpu), initial=0)))


@needs_gpu
@settings(max_examples=30, deadline=None)
@given(
    n=st.sampled_from([0, 1, 3, 64]),
    classes=st.sampled_from([1, 3, 10, 1001, 50257]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    smoothing=st.sampled_from([0.0, 0.1]),
    ignore=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_cross_entropy_matches_the_cpu(n, classes, reduction, smoothing, ignore, seed):
    import cupy as cp

    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, classes)) * 4).astype(np.float32)
    targets = rng.integers(0, classes, n).astype(np.int64)
    if ignore and n > 0:
        targets[::2] = -100
    kw = dict(reduction=reduction, label_smoothing=smoothing, return_grad=True)
    loss, grad = cross_entropy(logits, targets, **kw)
    gloss, ggrad = cross_entropy(cp.asarray(logits), cp.asarray(targets), **kw)
    if reduction == "none":
        np.testing.assert_allclose(cp.asnumpy(gloss), loss, rtol=1e-5, atol=1e-5)
    else:
        assert isinstance(gloss, float)
        np.testing.assert_allclose(gloss, loss, rtol=1e-5, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(cp.asnumpy(ggrad), grad, rtol=1e-4, atol=1e-7, equal_nan=True)


@needs_gpu
def test_cross_entropy_bad_target_message_matches_the_cpu():
    import cupy as cp

    logits, targets = np.zeros((4, 5), np.float32), np.array([0, 1, 7, -3], np.int64)
    same_error(
        lambda: cross_entropy(logits, targets),
        lambda: cross_entropy(cp.asarray(logits), cp.asarray(targets)),
        ValueError,
        r"targets\[2\] = 7",
    )


@needs_gpu
def test_cross_entropy_agrees_with_torch_cuda_on_a_gpt2_vocabulary():
    import cupy as cp
    import torch

    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    logits = torch.randn(16, 50257, device="cuda", requires_grad=True)
    targets = torch.randint(0, 50257, (16,), device="cuda")
    want = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1)
    want.backward()
    loss, grad = cross_entropy(logits.detach(), targets, label_smoothing=0.1, return_grad=True)
    np.testing.assert_allclose(loss, want.item(), rtol=1e-5)
    np.testing.assert_allclose(cp.asnumpy(grad), logits.grad.cpu().numpy(), rtol=1e-4, atol=1e-9)
