"""grimoire.kernels.norm against PyTorch CPU: LayerNorm, RMSNorm, BatchNorm, forward and backward.

Tolerances follow the reference's own error: grimoire's float32 result may be at most a small
multiple of PyTorch-float32's distance from PyTorch-float64 (plus a few ulps of the scale).
"""

import grimoire
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grimoire.kernels import (
    batch_norm,
    batch_norm_backward,
    layer_norm,
    layer_norm_backward,
    rms_norm,
    rms_norm_backward,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HYP = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DIMS = st.sampled_from([1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 97, 130])


def assert_close(ours, ref32, ref64, factor=4.0, ulps=64.0, extra=0.0):
    """|ours - ref64| <= factor * |ref32 - ref64| + ulps * eps32 * scale + extra, NaN where ref64 is
    NaN."""
    ours, ref32, ref64 = (np.asarray(a, dtype=np.float64) for a in (ours, ref32, ref64))
    assert ours.shape == ref64.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref64))
    fin = np.isfinite(ref64)
    np.testing.assert_array_equal(ours[~fin & ~np.isnan(ref64)], ref64[~fin & ~np.isnan(ref64)])
    if not fin.any():
        return
    scale = max(1.0, float(np.abs(ref64[fin]).max()))
    bound = factor * float(np.abs(ref32[fin] - ref64[fin]).max()) + ulps * 2.0**-24 * scale + extra
    err = float(np.abs(ours[fin] - ref64[fin]).max())
    assert err <= bound, f"max error {err:.3g} > bound {bound:.3g}"


def layer_norm_case(rng, lead, d, affine, rms):
    x = (rng.standard_normal((*lead, d)) * 2 + 0.5).astype(np.float32)
    w = rng.standard_normal(d).astype(np.float32) if affine else None
    b = rng.standard_normal(d).astype(np.float32) if affine and not rms else None
    gy = rng.standard_normal(x.shape).astype(np.float32)
    return x, w, b, gy


def torch_norm(x, w, b, gy, eps, rms, dtype):
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    wt = None if w is None else torch.tensor(w, dtype=dtype, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=dtype, requires_grad=True)
    d = x.shape[-1]
    y = F.rms_norm(xt, (d,), wt, eps) if rms else F.layer_norm(xt, (d,), wt, bt, eps)
    y.backward(torch.tensor(gy, dtype=dtype))
    dims = tuple(range(x.ndim - 1))
    xd = xt.detach().double()
    if rms:
        stats = (1 / torch.sqrt((xd * xd).mean(-1) + eps),)
    else:
        stats = (xd.mean(-1), 1 / torch.sqrt(((xd - xd.mean(-1, keepdim=True)) ** 2).mean(-1) + eps))
    grads = [xt.grad, None if wt is None else wt.grad, None if bt is None else bt.grad]
    gyd = torch.tensor(gy, dtype=torch.float64)

    def rowsum(t):  # sum over every leading axis (none for a single 1-D row)
        return t.sum(dims) if dims else t

    if wt is None:  # grimoire returns grad_weight/grad_bias of an implicit weight 1 / bias 0
        xhat = (xd - (0 if rms else stats[0][..., None])) * stats[-1][..., None]
        grads[1] = rowsum(gyd * xhat)
    if bt is None:
        grads[2] = rowsum(gyd)
    return y.detach().numpy(), [s.numpy() for s in stats], [g.detach().numpy() for g in grads]


def _stats_rounding_effect(gy, x, w, mean, rstd):
    """How far grad_x moves when the saved float32 mean and rstd move by one ulp: the backward gets
    them rounded to float32 (as torch's does), and at small d with the variance near eps the
    formula cancels (d = 2: a 1e-3 relative change for an ulp of the mean), so that much error is
    the input's, not the kernel's."""
    g = np.asarray(gy, np.float64) * (1.0 if w is None else np.asarray(w, np.float64))
    x64, m, r = (
        np.asarray(x, np.float64),
        np.asarray(mean, np.float64)[..., None],
        np.asarray(rstd, np.float64)[..., None],
    )

    def grad_x(m, r):
        xhat = (x64 - m) * r
        return r * (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True))

    base = grad_x(m, r)
    dm = np.spacing(np.asarray(mean, np.float32)).astype(np.float64)[..., None]
    dr = np.spacing(np.asarray(rstd, np.float32)).astype(np.float64)[..., None]
    moved = [grad_x(m + sm * dm, r + sr * dr) for sm in (-1, 0, 1) for sr in (-1, 0, 1)]
    return max((float(np.abs(v - base).max()) for v in moved), default=0.0) if base.size else 0.0


@HYP
@given(lead=st.lists(st.integers(0, 4), max_size=2), d=DIMS, affine=st.booleans(), seed=st.integers(0, 2**16))
def test_layer_norm_forward_backward(isa, lead, d, affine, seed):
    rng = np.random.default_rng(seed)
    x, w, b, gy = layer_norm_case(rng, lead, d, affine, rms=False)
    y, mean, rstd = layer_norm(x, w, b, eps=1e-5)
    gx, gw, gb = layer_norm_backward(gy, x, w, mean, rstd)
    y32, _, g32 = torch_norm(x, w, b, gy, 1e-5, False, torch.float32)
    y64, (m64, r64), g64 = torch_norm(x, w, b, gy, 1e-5, False, torch.float64)
    assert y.shape == x.shape and mean.shape == x.shape[:-1] and rstd.shape == x.shape[:-1]
    assert_close(y, y32, y64)
    np.testing.assert_allclose(mean, m64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rstd, r64, rtol=1e-5)
    assert_close(gx, g32[0], g64[0], extra=2 * _stats_rounding_effect(gy, x, w, mean, rstd))
    assert_close(gw, g32[1], g64[1], ulps=1024)
    assert_close(gb, g32[2], g64[2], ulps=1024)


@HYP
@given(lead=st.lists(st.integers(0, 4), max_size=2), d=DIMS, affine=st.booleans(), seed=st.integers(0, 2**16))
def test_rms_norm_forward_backward(isa, lead, d, affine, seed):
    rng = np.random.default_rng(seed)
    x, w, _, gy = layer_norm_case(rng, lead, d, affine, rms=True)
    y, rstd = rms_norm(x, w, eps=1e-6)
    gx, gw = rms_norm_backward(gy, x, w, rstd)
    y32, _, g32 = torch_norm(x, w, None, gy, 1e-6, True, torch.float32)
    y64, (r64,), g64 = torch_norm(x, w, None, gy, 1e-6, True, torch.float64)
    assert_close(y, y32, y64)
    np.testing.assert_allclose(rstd, r64, rtol=1e-5)
    assert_close(gx, g32[0], g64[0])
    assert_close(gw, g32[1], g64[1], ulps=1024)


def test_layer_norm_large_rows_and_offset(isa, rng):
    # A row of 4096 (the benchmark's width) far from zero: the two-pass variance keeps its digits.
    x = (1e4 + rng.standard_normal((3, 4099))).astype(np.float32)
    y, mean, rstd = layer_norm(x)
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, ref, atol=2e-3)
    np.testing.assert_allclose(rstd, 1 / np.sqrt(x64.var(-1) + 1e-5), rtol=1e-4)


def test_norm_nan_inf_stay_in_their_row(isa, rng):
    x = rng.standard_normal((4, 37)).astype(np.float32)
    x[1, 5], x[2, 36] = np.nan, np.inf
    y, _, _ = layer_norm(x)
    yt = F.layer_norm(torch.from_numpy(x), (37,)).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(yt))
    assert np.isnan(y[1]).all() and np.isnan(y[2]).all() and np.isfinite(y[[0, 3]]).all()
    z, _ = rms_norm(x)
    assert np.isnan(z[1]).all() and np.isfinite(z[[0, 3]]).all()


def test_layer_norm_out_and_threads_deterministic(rng):
    x = rng.standard_normal((300, 257)).astype(np.float32)
    w = rng.standard_normal(257).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    out = np.empty_like(x)
    y, mean, rstd = layer_norm(x, w, None, out=out)
    assert y is out
    before = grimoire.get_num_threads()
    try:
        grimoire.set_num_threads(1)
        one = layer_norm_backward(gy, x, w, mean, rstd)
        grimoire.set_num_threads(2)
        two = layer_norm_backward(gy, x, w, mean, rstd)
    finally:
        grimoire.set_num_threads(before)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def torch_batch_norm(x, w, b, rm, rv, gy, training, momentum, eps, dtype):
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    wt = None if w is None else torch.tensor(w, dtype=dtype, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=dtype, requires_grad=True)
    rmt = torch.tensor(rm, dtype=dtype)
    rvt = torch.tensor(rv, dtype=dtype)
    y = F.batch_norm(xt, rmt, rvt, wt, bt, training=training, momentum=momentum, eps=eps)
    y.backward(torch.tensor(gy, dtype=dtype))
    grads = [xt.grad.numpy()] + [None if t is None else t.grad.numpy() for t in (wt, bt)]
    return y.detach().numpy(), rmt.numpy(), rvt.numpy(), grads


@HYP
@given(
    n=st.integers(1, 9),
    c=st.sampled_from([1, 2, 3, 8, 17, 300]),
    spatial=st.sampled_from([(), (1,), (5,), (3, 7)]),
    training=st.booleans(),
    affine=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batch_norm_forward_backward(isa, n, c, spatial, training, affine, seed):
    shape = (n, c, *spatial)
    if training and n * int(np.prod(spatial)) < 2:
        n, shape = 2, (2, c, *spatial)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    w = rng.standard_normal(c).astype(np.float32) if affine else None
    b = rng.standard_normal(c).astype(np.float32) if affine else None
    rm = rng.standard_normal(c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    rm_ours, rv_ours = rm.copy(), rv.copy()
    y, sm, sr = batch_norm(x, w, b, rm_ours, rv_ours, training=training, momentum=0.3, eps=1e-5)
    gx, gw, gb = batch_norm_backward(gy, x, w, sm, sr, training=training)
    y32, rm32, rv32, g32 = torch_batch_norm(x, w, b, rm, rv, gy, training, 0.3, 1e-5, torch.float32)
    y64, rm64, rv64, g64 = torch_batch_norm(x, w, b, rm, rv, gy, training, 0.3, 1e-5, torch.float64)
    assert_close(y, y32, y64)
    assert_close(rm_ours, rm32, rm64)
    assert_close(rv_ours, rv32, rv64)
    assert_close(gx, g32[0], g64[0], ulps=256)
    if affine:
        assert_close(gw, g32[1], g64[1], ulps=1024)
        assert_close(gb, g32[2], g64[2], ulps=1024)
    axes = (0, *range(2, x.ndim))
    if training:
        np.testing.assert_allclose(sm, x.astype(np.float64).mean(axes), rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(sm, rm)


def test_batch_norm_one_pass_stats_far_from_zero(isa, rng):
    # Chan-merged two-pass blocks: a large common offset does not eat the variance.
    x = (1e4 + rng.standard_normal((4096, 3))).astype(np.float32)
    _, sm, sr = batch_norm(x, None, None, None, None, training=True)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(1 / sr**2 - 1e-5, x64.var(0), rtol=1e-3)


def test_bad_inputs():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="x must have dtype float32"):
        layer_norm(x.astype(np.float64))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        layer_norm([[1.0, 2.0]])
    with pytest.raises(ValueError, match="C-contiguous"):
        layer_norm(np.zeros((3, 2), np.float32).T)
    with pytest.raises(ValueError, match="weight must have the shape"):
        layer_norm(x, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="eps"):
        rms_norm(x, eps=-1.0)
    with pytest.raises(ValueError, match="last axis"):
        layer_norm(np.zeros((2, 0), np.float32))
    with pytest.raises(ValueError, match="grad_y must have the shape"):
        layer_norm_backward(
            np.zeros((2, 4), np.float32), x, None, np.zeros(2, np.float32), np.ones(2, np.float32)
        )
    with pytest.raises(ValueError, match="rstd must have the shape"):
        rms_norm_backward(x, x, None, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="out must not share memory"):
        layer_norm(x, out=x)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm(np.zeros((1, 3), np.float32), None, None, None, None, training=True)
    with pytest.raises(ValueError, match="required when training=False"):
        batch_norm(x, None, None, None, None, training=False)
    with pytest.raises(ValueError, match="running_mean must be writable"):
        rm = np.zeros(3, np.float32)
        rm.flags.writeable = False
        batch_norm(x, None, None, rm, np.ones(3, np.float32), training=True)
    with pytest.raises(ValueError, match="x must have 2 to"):
        batch_norm(np.zeros(3, np.float32), None, None, None, None, training=True)


def test_tour_section_normalises_the_batch(capsys, tmp_path):
    from grimoire import tour

    tour.run(["6.5.2"], tmp_path)
    out = capsys.readouterr().out
    assert "per-feature mean of the output (0): [0. 0. 0.]" in out
    assert "[-1.3416 -0.4472  0.4472  1.3416]" in out


@pytest.mark.parametrize("offset", [0, 1, 3])
def test_streaming_stores_write_the_same_bits(isa, rng, offset):
    # Large outputs go out with non-temporal stores after a masked head up to alignment: force that
    # path on a small array, at several misalignments of out, and compare with ordinary stores.
    from grimoire import _core

    x = rng.standard_normal((7, 45)).astype(np.float32)
    w, b = rng.standard_normal(45).astype(np.float32), rng.standard_normal(45).astype(np.float32)
    buf = np.full(x.size + 8, np.nan, np.float32)
    out = buf[offset : offset + x.size].reshape(x.shape)
    previous = _core._set_norm_stream_threshold(0)
    try:
        y, _, _ = layer_norm(x, w, b, out=out)
        z, _ = rms_norm(x, w)
    finally:
        _core._set_norm_stream_threshold(previous)
    np.testing.assert_array_equal(y, layer_norm(x, w, b)[0])
    np.testing.assert_array_equal(z, rms_norm(x, w)[0])
    assert np.isnan(buf[:offset]).all() and np.isnan(buf[offset + x.size :]).all()


@pytest.mark.parametrize("shape", [(100, 300), (3, 2, 9000), (70, 5, 3)])
def test_batch_norm_many_blocks(isa, rng, shape):
    # Several row tiles per column block, several column blocks, contiguous blocks split within a
    # channel: the Chan merges between blocks must give the batch's statistics.
    x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    y, sm, sr = batch_norm(x, w, b, rm, rv, training=True)
    gx, gw, gb = batch_norm_backward(gy, x, w, sm, sr, training=True)
    z = np.zeros(c, np.float32)
    y32, rm32, rv32, g32 = torch_batch_norm(x, w, b, z, z + 1, gy, True, 0.1, 1e-5, torch.float32)
    y64, rm64, rv64, g64 = torch_batch_norm(x, w, b, z, z + 1, gy, True, 0.1, 1e-5, torch.float64)
    assert_close(y, y32, y64)
    assert_close(rm, rm32, rm64)
    assert_close(rv, rv32, rv64)
    assert_close(gx, g32[0], g64[0], ulps=256)
    assert_close(gw, g32[1], g64[1], ulps=4096)
    assert_close(gb, g32[2], g64[2], ulps=4096)
