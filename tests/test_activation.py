"""grimoire.kernels.activation against PyTorch CPU: exact GELU and its backward, every ISA path."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grimoire import _core
from grimoire.kernels import gelu, gelu_backward
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HYP = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# A&S 7.1.26 erf (|error| < 1.5e-7) in float32 arithmetic: a few float32 ulps of the result scale
TOL = 8 * 2.0**-24


def torch_gelu(x, gy):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = F.gelu(xt)
    y.backward(torch.tensor(gy, dtype=torch.float64))
    return y.detach().numpy(), xt.grad.numpy()


def assert_close(ours, ref):
    ours = np.asarray(ours, np.float64)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(ours[~fin & ~np.isnan(ref)], ref[~fin & ~np.isnan(ref)])
    np.testing.assert_allclose(ours[fin], ref[fin], rtol=TOL, atol=TOL)


@HYP
@given(shape=st.lists(st.integers(0, 40), max_size=3), scale=st.sampled_from([0.1, 3.0, 30.0]),
       seed=st.integers(0, 2**16))
def test_gelu_forward_backward(isa, shape, scale, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    y, gx = gelu(x), gelu_backward(gy, x)
    assert y.shape == x.shape and y.dtype == np.float32 and gx.dtype == np.float32
    ry, rg = torch_gelu(x, gy)
    assert_close(y, ry)
    assert_close(gx, rg)


def test_special_values_and_threads(isa):
    """0, -0, tiny, huge, +-inf, NaN as torch; a large array split over threads equals one thread."""
    x = np.array([0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0, 1e30, -1e30, np.inf, -np.inf, np.nan], np.float32)
    gy = np.ones_like(x)
    ry, rg = torch_gelu(x, gy)
    with np.errstate(invalid="ignore"):
        assert_close(gelu(x), ry)
        assert_close(gelu_backward(gy, x), rg)
    big = np.random.default_rng(0).standard_normal((513, 333)).astype(np.float32)
    threads = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        one = gelu(big), gelu_backward(big, big)
    finally:
        _core.set_num_threads(threads)
    np.testing.assert_array_equal(gelu(big), one[0])
    np.testing.assert_array_equal(gelu_backward(big, big), one[1])


def test_bad_inputs():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="x must have dtype float32"):
        gelu(x.astype(np.float64))
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        gelu(np.zeros((3, 2), np.float32).T)
    with pytest.raises(ValueError, match="grad_y must have the shape of x"):
        gelu_backward(np.zeros((2, 4), np.float32), x)
    with pytest.raises(TypeError, match="grad_y must have dtype float32"):
        gelu_backward(x.astype(np.float16), x)
