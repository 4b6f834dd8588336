"""max/avg pooling on the GPU (grimoire._cuda), the twins of the CPU core's: the checks without a
GPU (pool_shapes.h, the CPU's messages), and with a GPU every kernel bit-identical to the CPU core
(the same window order; the backwards add in the CPU's order) and close to PyTorch CUDA."""

import numpy as np
import pytest
from cuda_checks import fake, reaches_device, same_error
from cuda_support import _cuda, needs_build, needs_gpu
from grimoire import _core
from grimoire.kernels import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = needs_build


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding", "match"),
    [
        ((1, 1, 4, 4), (0, 2), (1, 1), (0, 0), r"kernel_size\[0\] must be >= 1"),
        ((1, 1, 4, 4), (2, 2), (1, 0), (0, 0), r"stride\[1\] must be >= 1"),
        ((1, 1, 4, 4), (2, 2), (1, 1), (2, 0), "padding must be at most half the kernel size"),
        ((1, 1, 2, 2), (3, 3), (1, 1), (0, 0), "larger than the padded input"),
        ((1, 4, 4), (2, 2), (1, 1), (0, 0), "must have 4 dimensions"),
    ],
)
def test_forward_checks_match_the_cpu(shape, kernel, stride, padding, match):
    x, dx = np.zeros(shape, np.float32), fake(shape)
    same_error(
        lambda: _core.max_pool2d(x, kernel, stride, padding),
        lambda: _cuda.max_pool2d(dx, kernel, stride, padding),
        ValueError,
        match,
    )
    same_error(
        lambda: _core.avg_pool2d(x, kernel, stride, padding, True),
        lambda: _cuda.avg_pool2d(dx, kernel, stride, padding, True),
        ValueError,
        match,
    )


def test_backward_checks_match_the_cpu():
    dy, idx = np.zeros((2, 3, 2, 2), np.float32), np.zeros((2, 3, 2, 2), np.int64)
    ddy, didx = fake((2, 3, 2, 2)), fake((2, 3, 2, 2), "int64")
    same_error(
        lambda: _core.max_pool2d_backward(dy, idx, [2, 4, 4, 4]),
        lambda: _cuda.max_pool2d_backward(ddy, didx, [2, 4, 4, 4]),
        ValueError,
        "must share N and C",
    )
    same_error(
        lambda: _core.max_pool2d_backward(dy, np.zeros((2, 3, 1, 2), np.int64), [2, 3, 4, 4]),
        lambda: _cuda.max_pool2d_backward(ddy, fake((2, 3, 1, 2), "int64"), [2, 3, 4, 4]),
        ValueError,
        "indices must have the shape of grad_out",
    )
    same_error(
        lambda: _core.max_pool2d_backward(dy, idx, [2, 3, 4]),
        lambda: _cuda.max_pool2d_backward(ddy, didx, [2, 3, 4]),
        ValueError,
        "input_shape must have 4 entries",
    )
    same_error(
        lambda: _core.avg_pool2d_backward(dy, [2, 3, 4, 4], (2, 2), (1, 1), (0, 0), True),
        lambda: _cuda.avg_pool2d_backward(ddy, [2, 3, 4, 4], (2, 2), (1, 1), (0, 0), True),
        ValueError,
        "grad_out must have the shape of the pooling's output",
    )
    reaches_device(lambda: _cuda.max_pool2d_backward(ddy, didx, [2, 3, 4, 4]))
    reaches_device(lambda: _cuda.avg_pool2d(fake((2, 3, 5, 5)), (2, 2), (2, 2), (1, 1), False))


# ---- on a GPU ---------------------------------------------------------------------------------


@needs_gpu
@settings(max_examples=40, deadline=None)
@given(
    n=st.sampled_from([0, 1, 2]),
    c=st.sampled_from([1, 3]),
    h=st.integers(1, 13),
    w=st.integers(1, 13),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    pad=st.integers(0, 2),
    include=st.booleans(),
    nan=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_pooling_is_bit_identical_to_the_cpu(n, c, h, w, k, s, pad, include, nan, seed):
    import cupy as cp

    pad = min(pad, k // 2)
    if h + 2 * pad < k or w + 2 * pad < k:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    x[..., 0, 0] = x[..., 0, 1] if w > 1 else x[..., 0, 0]  # ties: the first maximum wins on both
    if nan and x.size:
        x.flat[rng.integers(x.size)] = np.nan
    dx = cp.asarray(x)
    y, idx = max_pool2d(x, k, s, pad)
    gy, gidx = max_pool2d(dx, k, s, pad)
    np.testing.assert_array_equal(cp.asnumpy(gy), y)
    np.testing.assert_array_equal(cp.asnumpy(gidx), idx)
    grad = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(
        cp.asnumpy(max_pool2d_backward(cp.asarray(grad), gidx, x.shape)),
        max_pool2d_backward(grad, idx, x.shape),
    )
    a = avg_pool2d(x, k, s, pad, count_include_pad=include)
    np.testing.assert_array_equal(cp.asnumpy(avg_pool2d(dx, k, s, pad, count_include_pad=include)), a)
    np.testing.assert_array_equal(
        cp.asnumpy(avg_pool2d_backward(cp.asarray(grad), x.shape, k, s, pad, count_include_pad=include)),
        avg_pool2d_backward(grad, x.shape, k, s, pad, count_include_pad=include),
    )


@needs_gpu
def test_bad_indices_raise_like_the_cpu_and_torch_agrees():
    import cupy as cp
    import torch

    dy, idx = np.ones((1, 1, 2, 2), np.float32), np.array([[[[0, 1], [2, 99]]]], np.int64)
    same_error(
        lambda: max_pool2d_backward(dy, idx, (1, 1, 4, 4)),
        lambda: max_pool2d_backward(cp.asarray(dy), cp.asarray(idx), (1, 1, 4, 4)),
        ValueError,
        r"indices must lie in \[0, H\*W\)",
    )
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    x = torch.randn(4, 8, 17, 23, device="cuda")
    y, _ = max_pool2d(x, 3, 2, 1)
    np.testing.assert_array_equal(cp.asnumpy(y), torch.nn.functional.max_pool2d(x, 3, 2, 1).cpu().numpy())
    a = avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    want = torch.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    np.testing.assert_allclose(cp.asnumpy(a), want.cpu().numpy(), rtol=1e-6, atol=1e-6)
