"""grimoire.kernels.softmax against PyTorch CPU: softmax, log_softmax, their backwards, cross-entropy."""

import grimoire
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grimoire.kernels import cross_entropy, log_softmax, log_softmax_backward, softmax, softmax_backward
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HYP = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DIMS = st.sampled_from([1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 97, 1000])


def assert_close(ours, ref32, ref64, factor=4.0, ulps=64.0):
    """|ours - ref64| <= factor * |ref32 - ref64| + ulps * eps32 * scale, NaN exactly where ref64 is NaN."""
    ours, ref32, ref64 = (np.asarray(a, dtype=np.float64) for a in (ours, ref32, ref64))
    assert ours.shape == ref64.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref64))
    fin = np.isfinite(ref64)
    np.testing.assert_array_equal(ours[~fin & ~np.isnan(ref64)], ref64[~fin & ~np.isnan(ref64)])
    if not fin.any():
        return
    scale = max(1.0, float(np.abs(ref64[fin]).max()))
    bound = factor * float(np.abs(ref32[fin] - ref64[fin]).max()) + ulps * 2.0**-24 * scale
    err = float(np.abs(ours[fin] - ref64[fin]).max())
    assert err <= bound, f"max error {err:.3g} > bound {bound:.3g}"


def torch_op(fn, x, gy, dtype):
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    y = fn(xt, dim=-1)
    y.backward(torch.tensor(gy, dtype=dtype))
    return y.detach().numpy(), xt.grad.numpy()


@HYP
@given(lead=st.lists(st.integers(0, 4), max_size=2), d=DIMS, log=st.booleans(), big=st.booleans(),
       seed=st.integers(0, 2**16))
def test_softmax_forward_backward(isa, lead, d, log, big, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((*lead, d)) * (1e4 if big else 3)).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    y = log_softmax(x) if log else softmax(x)
    gx = (log_softmax_backward if log else softmax_backward)(gy, y)
    fn = F.log_softmax if log else F.softmax
    y32, g32 = torch_op(fn, x, gy, torch.float32)
    y64, g64 = torch_op(fn, x, gy, torch.float64)
    assert_close(y, y32, y64)
    assert_close(gx, g32, g64)


def test_primer_example_and_stability(isa):
    p = softmax(np.array([-2.4, 0.5, 1.7], np.float32))
    np.testing.assert_array_equal(np.round(p.astype(np.float64), 2), [0.01, 0.23, 0.76])
    q = softmax(np.array([1000, 1001, 1002], np.float32))
    np.testing.assert_allclose(q, F.softmax(torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64), 0).numpy(),
                               rtol=1e-6)
    r = log_softmax(np.array([-1e4, 0, 1e4], np.float32))
    np.testing.assert_array_equal(r, [-2e4, -1e4, 0])


def test_nan_inf_rows(isa):
    x = np.array([[1, 2, np.nan, 4, 5, 6, 7, 8, 9], [np.inf, 0, 0, 0, 0, 0, 0, 0, 0],
                  [-np.inf, 0, 1, 2, 3, 4, 5, 6, 7], [-np.inf] * 9, [0, 1, 2, 3, 4, 5, 6, 7, 8]], np.float32)
    for ours, ref in ((softmax, F.softmax), (log_softmax, F.log_softmax)):
        y = ours(x)
        yt = ref(torch.from_numpy(x), -1).numpy()
        np.testing.assert_array_equal(np.isnan(y), np.isnan(yt))
        np.testing.assert_allclose(y[~np.isnan(yt)], yt[~np.isnan(yt)], rtol=1e-5, atol=1e-6)
    loss = cross_entropy(x, np.array([0, 1, 2, 3, 4]), reduction="none")
    assert np.isnan(loss[[0, 1, 3]]).all() and np.isfinite(loss[[2, 4]]).all()


def torch_ce(logits, targets, dtype, **kw):
    lt = torch.tensor(logits, dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(lt, torch.from_numpy(targets), **kw)
    loss.sum().backward()
    return loss.detach().numpy(), lt.grad.numpy()


@HYP
@given(n=st.integers(0, 9), c=DIMS, reduction=st.sampled_from(["mean", "sum", "none"]),
       smoothing=st.sampled_from([0.0, 0.1, 1.0]), ignore=st.booleans(), big=st.booleans(),
       seed=st.integers(0, 2**16))
def test_cross_entropy(isa, n, c, reduction, smoothing, ignore, big, seed):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, c)) * (1e4 if big else 3)).astype(np.float32)
    targets = rng.integers(0, c, n).astype(np.int64)
    if ignore and n > 0:
        targets[rng.random(n) < 0.4] = -100
    loss, grad = cross_entropy(logits, targets, reduction=reduction, label_smoothing=smoothing,
                               return_grad=True)
    only = cross_entropy(logits, targets, reduction=reduction, label_smoothing=smoothing)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    l32, g32 = torch_ce(logits, targets, torch.float32, **kw)
    l64, g64 = torch_ce(logits, targets, torch.float64, **kw)
    assert_close(np.asarray(loss), l32, l64, ulps=256)
    np.testing.assert_array_equal(np.asarray(only), np.asarray(loss))
    assert_close(grad, g32, g64)
    if reduction != "none":
        assert isinstance(loss, float)


def test_cross_entropy_threads_and_ignore_index(rng):
    logits = rng.standard_normal((513, 11)).astype(np.float32)
    targets = rng.integers(0, 11, 513)
    targets[::3] = 7777
    before = grimoire.get_num_threads()
    try:
        grimoire.set_num_threads(1)
        one = cross_entropy(logits, targets, ignore_index=7777, return_grad=True)
        grimoire.set_num_threads(2)
        two = cross_entropy(logits, targets, ignore_index=7777, return_grad=True)
    finally:
        grimoire.set_num_threads(before)
    assert one[0] == two[0]
    np.testing.assert_array_equal(one[1], two[1])
    ref = F.cross_entropy(torch.from_numpy(logits).double(), torch.from_numpy(targets), ignore_index=7777)
    assert one[0] == pytest.approx(float(ref), rel=1e-6)
    assert not one[1][::3].any()


def test_bad_inputs():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32"):
        softmax(x.astype(np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        log_softmax(np.zeros((3, 2), np.float32).T)
    with pytest.raises(ValueError, match="grad_y must have the shape"):
        softmax_backward(np.zeros((2, 4), np.float32), x)
    with pytest.raises(TypeError, match="targets must have dtype int64"):
        cross_entropy(x, np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="one entry per row"):
        cross_entropy(x, np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"targets\[1\] = 3 is not a class"):
        cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(x, np.array([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="logits must have 2"):
        cross_entropy(np.zeros(3, np.float32), np.array([0]))


def test_tour_section_reproduces_the_primer(capsys, tmp_path):
    from grimoire import tour

    tour.run(["5.2.4"], tmp_path)
    out = capsys.readouterr().out
    assert "(the primer: [0.01 0.23 0.76]): [0.01 0.23 0.76]" in out
    assert "softmax([0 1 2]): [0.0900" in out
