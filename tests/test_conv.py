"""The conv2d and pool families against torch.nn.functional (forward and backward).

Tolerance: an output of a convolution is a sum of products; float32 rounding bounds its error by
a small multiple of eps32 * sum |terms|, so each entry is compared with the float64 PyTorch result
to 1e-4 of that entry's sum of |terms| (the same convolution run on |x|, |w|, |grad_out|).
"""

import grimoire
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grimoire import _core
from grimoire.kernels import (
    avg_pool2d,
    avg_pool2d_backward,
    conv1d,
    conv1d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

RTOL = 1e-4


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def torch_conv(x, w, b, dy, stride, padding, dilation, groups, dims=2):
    """float64 torch forward and grads, plus the sums of |terms| that bound float32 error."""
    conv = F.conv2d if dims == 2 else F.conv1d

    def run(xa, wa, ba, dya):
        xt = _t(xa).requires_grad_()
        wt = _t(wa).requires_grad_()
        bt = None if ba is None else _t(ba).requires_grad_()
        y = conv(xt, wt, bt, stride, padding, dilation, groups)
        y.backward(_t(dya))
        return (y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(),
                None if bt is None else bt.grad.numpy())

    exact = run(x, w, b, dy)
    mags = run(np.abs(x), np.abs(w), None if b is None else np.abs(b), np.abs(dy))
    return exact, mags


def check(got, exact, mag, name):
    assert got.shape == exact.shape, name
    assert got.dtype == np.float32, name
    err = np.abs(got.astype(np.float64) - exact)
    bound = RTOL * mag + 1e-30
    worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.size else None
    assert np.all(err <= bound), f"{name}: error {err[worst]} > {bound[worst]} at {worst}"


def conv_case(rng, n, c_in, h, w, c_out, kh, kw, stride, padding, dilation, groups, bias=True):
    x = rng.standard_normal((n, c_in, h, w)).astype(np.float32)
    wt = rng.standard_normal((c_out, c_in // groups, kh, kw)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32) if bias else None
    y = conv2d(x, wt, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    exact, mags = torch_conv(x, wt, b, dy, stride, padding, dilation, groups)
    check(y, exact[0], mags[0], "y")
    dx, dw, db = conv2d_backward(dy, x, wt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    check(dx, exact[1], mags[1], "grad_x")
    check(dw, exact[2], mags[2], "grad_w")
    if bias:
        check(db, exact[3], mags[3], "grad_b")
    return x, wt, b, dy


# (N, C_in, H, W, C_out, KH, KW, stride, padding, dilation, groups)
CASES = [
    (2, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1),
    (1, 4, 8, 8, 6, 3, 3, 2, 1, 1, 1),              # one image: the threaded-GEMM path
    (3, 6, 11, 13, 6, 3, 3, 1, 1, 1, 6),            # depthwise (a direct backward)
    (2, 5, 9, 8, 5, 3, 2, 2, (1, 0), (2, 3), 5),    # depthwise, strided, dilated
    (2, 4, 7, 7, 8, 3, 3, 1, 1, 1, 4),              # channel multiplier 2: the GEMM path
    (2, 4, 10, 9, 8, 3, 2, (2, 1), (1, 0), (2, 3), 2),
    (2, 8, 7, 5, 5, 1, 1, 1, 0, 1, 1),              # 1x1: a plain GEMM
    (2, 8, 40, 40, 4, 1, 1, 1, 0, 1, 1),            # 1x1 over several tiles
    (2, 3, 13, 13, 4, 1, 1, 2, 0, 1, 1),            # 1x1 with stride: im2col
    (2, 64, 20, 20, 8, 3, 3, 1, 1, 1, 1),           # several im2col tiles per image
    (1, 3, 23, 23, 5, 7, 7, 2, 3, 1, 1),            # the ResNet stem, small
    (2, 2, 1, 1, 3, 1, 1, 1, 0, 1, 1),              # 1x1 image
    (1, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1),              # 1x1 image, 3x3 kernel all but one tap in padding
    (2, 5, 6, 7, 3, 6, 7, 1, 0, 1, 1),              # kernel the size of the image: one output
    (2, 3, 5, 5, 4, 3, 3, 4, 2, 1, 1),              # stride larger than the kernel
    # small images side by side in one GEMM (chunks of 4 and 3), input channels lowered in blocks
    (7, 64, 12, 12, 12, 3, 3, 1, 1, 1, 2),
    (7, 160, 10, 10, 8, 3, 3, 2, 1, 1, 1),          # the same, strided: grad_x through col2im
    (7, 160, 10, 10, 8, 3, 3, 1, 1, 1, 1),          # channel blocks in the forward and grad_w
    (7, 8, 10, 10, 160, 3, 3, 1, 1, 1, 1),          # channel blocks in grad_x's transposed convolution
    (2, 64, 40, 40, 8, 3, 3, 1, 1, 1, 1),           # tiles of one image, channel blocks
    (3, 8, 9, 9, 6, 3, 3, 1, 2, 2, 1),              # grad_x as a dilated transposed convolution
    (2, 4, 6, 6, 4, 3, 3, 1, 3, 1, 1),              # padding past the kernel: no transposed grad_x
]


@pytest.mark.parametrize("case", CASES)
def test_conv2d_forward_backward_match_torch(isa, rng, case):
    conv_case(rng, *case)


@pytest.mark.parametrize("threads", [2, 3])  # one thread: every small case above
def test_conv2d_threading_strategies_agree(rng, threads):
    before = grimoire.get_num_threads()
    try:
        grimoire.set_num_threads(threads)
        # small (one thread), big enough to share images, and fewer images than threads (the
        # GEMM threads itself)
        for case in [(1, 4, 12, 12, 6, 3, 3, 1, 1, 1, 1), (5, 16, 24, 24, 16, 3, 3, 1, 1, 1, 2),
                     (1, 16, 24, 24, 16, 3, 3, 1, 1, 1, 1), (2, 16, 24, 24, 16, 3, 3, 2, 1, 1, 1),
                     (1, 64, 24, 24, 32, 1, 1, 1, 0, 1, 1), (8, 16, 32, 32, 16, 3, 3, 1, 1, 1, 16),
                     (7, 64, 12, 12, 12, 3, 3, 1, 1, 1, 2)]:
            conv_case(rng, *case)
    finally:
        grimoire.set_num_threads(before)


def test_conv2d_reference_path_matches_torch(rng):
    n, c, h, w, o, k, s, p, d, g = 2, 4, 7, 6, 6, 3, (2, 1), (1, 2), (1, 2), 2
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((o, c // g, k, k)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    y = _core.conv2d_reference(x, wt, b, s, p, d, g)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    exact, mags = torch_conv(x, wt, b, dy, s, p, d, g)
    check(y, exact[0], mags[0], "y")
    dx, dw, db = _core.conv2d_backward_reference(dy, x, wt, s, p, d, g, True, True, True)
    for got, i, name in [(dx, 1, "grad_x"), (dw, 2, "grad_w"), (db, 3, "grad_b")]:
        check(got, exact[i], mags[i], name)


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(0, 3), groups=st.sampled_from([1, 2, 3]), cpg=st.integers(1, 3), opg=st.integers(1, 3),
    h=st.integers(1, 11), w=st.integers(1, 11), kh=st.integers(1, 4), kw=st.integers(1, 4),
    sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
    dh=st.integers(1, 2), dw=st.integers(1, 2), bias=st.booleans(), seed=st.integers(0, 2**16),
)
def test_conv2d_any_shape_matches_torch(n, groups, cpg, opg, h, w, kh, kw, sh, sw, ph, pw, dh, dw, bias,
                                        seed):
    assume(h + 2 * ph >= dh * (kh - 1) + 1 and w + 2 * pw >= dw * (kw - 1) + 1)
    conv_case(np.random.default_rng(seed), n, groups * cpg, h, w, groups * opg, kh, kw, (sh, sw), (ph, pw),
              (dh, dw), groups, bias)


# stride 1 takes grad_x as a transposed convolution; stride 2 and a padding past the dilated kernel
# take the col2im path, which must also run when grad_x is the only gradient asked for.
@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1), (1, 3)])
def test_conv2d_backward_computes_only_what_is_asked(rng, stride, padding):
    x, w, _, dy = conv_case(rng, 2, 4, 8, 8, 6, 3, 3, stride, padding, 1, 2)
    full = conv2d_backward(dy, x, w, stride=stride, padding=padding, groups=2)
    xt = torch.tensor(x, dtype=torch.float64)
    wt = torch.tensor(w, dtype=torch.float64)
    dyt = torch.tensor(dy, dtype=torch.float64)
    want_dx = torch.nn.grad.conv2d_input(xt.shape, wt, dyt, stride=stride, padding=padding, groups=2)
    np.testing.assert_allclose(full[0], want_dx.numpy(), rtol=1e-4, atol=1e-4)
    for needs in [(False, True, True), (True, False, False), (False, False, True), (False, False, False)]:
        part = conv2d_backward(dy, x, w, stride=stride, padding=padding, groups=2, needs_input_grad=needs)
        for want, got, ref in zip(needs, part, full, strict=True):
            if want:
                np.testing.assert_array_equal(got, ref)
            else:
                assert got is None


def test_conv2d_nan_and_inf_propagate_like_torch(rng):
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    x[0, 0, 2, 3] = np.nan
    x[0, 1, 4, 1] = np.inf
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    got = conv2d(x, w, padding=1)
    want = F.conv2d(_t(x), _t(w), padding=1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-4, atol=1e-4)


def test_conv2d_empty_batch_and_int_or_pair_arguments(rng):
    x = np.zeros((0, 3, 5, 5), np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    assert conv2d(x, w, padding=1).shape == (0, 4, 5, 5)
    dx, dw, db = conv2d_backward(np.zeros((0, 4, 5, 5), np.float32), x, w, padding=1)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dw, 0)
    np.testing.assert_array_equal(db, 0)
    x = rng.standard_normal((1, 3, 9, 9)).astype(np.float32)
    np.testing.assert_array_equal(conv2d(x, w, stride=2, padding=[1, 1], dilation=(1, 1)),
                                  conv2d(x, w, stride=(2, 2), padding=1))


@pytest.mark.parametrize("case", [
    # (N, C_in, L, C_out, K, stride, padding, dilation, groups)
    (2, 3, 17, 4, 3, 1, 1, 1, 1),
    (3, 4, 20, 6, 5, 2, 2, 2, 2),
    (1, 6, 9, 6, 3, 1, 0, 1, 6),
    (2, 5, 1, 3, 1, 1, 0, 1, 1),
])
def test_conv1d_forward_backward_match_torch(isa, rng, case):
    n, c, length, o, k, s, p, d, g = case
    x = rng.standard_normal((n, c, length)).astype(np.float32)
    w = rng.standard_normal((o, c // g, k)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    y = conv1d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    exact, mags = torch_conv(x, w, b, dy, s, p, d, g, dims=1)
    check(y, exact[0], mags[0], "y")
    grads = conv1d_backward(dy, x, w, stride=s, padding=p, dilation=d, groups=g)
    for got, i, name in zip(grads, (1, 2, 3), ("grad_x", "grad_w", "grad_b"), strict=True):
        check(got, exact[i], mags[i], name)
    dx, dw, db = conv1d_backward(dy, x, w, stride=s, padding=p, dilation=d, groups=g,
                                 needs_input_grad=(False, True, False))
    assert dx is None and db is None
    np.testing.assert_array_equal(dw, grads[1])


def _f32(*shape):
    return np.zeros(shape, np.float32)


def _i64(*shape):
    return np.zeros(shape, np.int64)


def _conv_inputs():
    return np.zeros((2, 4, 8, 8), np.float32), np.zeros((6, 2, 3, 3), np.float32)


@pytest.mark.parametrize("call, exc, match", [
    (lambda x, w: conv2d(x.astype(np.float64), w, groups=2), TypeError, "x must have dtype float32"),
    (lambda x, w: conv2d(x, w.astype(np.float16), groups=2), TypeError, "w must have dtype float32"),
    (lambda x, w: conv2d(x.tolist(), w, groups=2), TypeError, "x must be an array on the CPU"),
    (lambda x, w: conv2d(x[0], w, groups=2), ValueError, "x must have 4 dimensions"),
    (lambda x, w: conv2d(x[:, :, ::2], w, groups=2), ValueError, "x must be C-contiguous"),
    (lambda x, w: conv2d(x, w), ValueError, r"C_in/groups = 4"),
    (lambda x, w: conv2d(x, w, groups=3), ValueError, "divisible by groups"),
    (lambda x, w: conv2d(_f32(1, 4, 8, 8), _f32(3, 1, 3, 3), groups=3), ValueError, "x's channels"),
    (lambda x, w: conv2d(x, w[:5], groups=2), ValueError, "w's output channels"),
    (lambda x, w: conv2d(x, w, groups=0), ValueError, "groups must be >= 1"),
    (lambda x, w: conv2d(x, w, groups=2, stride=0), ValueError, r"stride\[0\] must be >= 1"),
    (lambda x, w: conv2d(x, w, groups=2, stride=(1, -2)), ValueError, r"stride\[1\] must be >= 1"),
    (lambda x, w: conv2d(x, w, groups=2, padding=-1), ValueError, r"padding\[0\] must be >= 0"),
    (lambda x, w: conv2d(x, w, groups=2, dilation=0), ValueError, r"dilation\[0\] must be >= 1"),
    (lambda x, w: conv2d(x, w, groups=2, dilation=4), ValueError, "larger than the padded input"),
    (lambda x, w: conv2d(_f32(2, 4, 2, 8), w, groups=2), ValueError, "larger than the padded input"),
    (lambda x, w: conv2d(x, w, groups=2, padding=2**62), ValueError, "overflows"),
    (lambda x, w: conv2d(x, w, groups=2, stride=1.5), TypeError, "stride must be an int or a pair"),
    (lambda x, w: conv2d(x, w, groups=2, padding=(1, 2, 3)), TypeError, "padding must be an int or a pair"),
    (lambda x, w: conv2d(x, w, groups=True), TypeError, "groups must be an int"),
    (lambda x, w: conv2d(x, w[:, :, :0], groups=2), ValueError, "kernel size must be at least"),
    (lambda x, w: conv2d(x, w, np.zeros(5, np.float32), groups=2), ValueError, "b must have the shape"),
    (lambda x, w: conv2d(x, w, np.zeros(6, np.float64), groups=2), TypeError, "b must have dtype float32"),
    (lambda x, w: conv2d_backward(np.zeros((2, 6, 5, 6), np.float32), x, w, groups=2), ValueError,
     "grad_out must have the shape of the convolution's output"),
    (lambda x, w: conv2d_backward(np.zeros((2, 6, 6, 6), np.float32), x, w, groups=2, needs_input_grad=(1,)),
     TypeError, "needs_input_grad"),
    (lambda x, w: conv1d(x, w, groups=2), ValueError, "x must have 3 dimensions"),
])
def test_conv_bad_inputs_raise_clearly(call, exc, match):
    x, w = _conv_inputs()
    with pytest.raises(exc, match=match):
        call(x, w)


# ------------------------------------------------------------------------------------------------
# Pooling
# ------------------------------------------------------------------------------------------------

def test_max_pool_reproduces_the_primer_example():
    m = np.array([[1, 3, 2, 5], [5, 8, 4, 7], [2, 6, 9, 1], [4, 3, 2, 6]], np.float32)[None, None]
    out, idx = max_pool2d(m, 2)
    np.testing.assert_array_equal(out[0, 0], [[8, 7], [6, 9]])
    np.testing.assert_array_equal(idx[0, 0], [[5, 7], [9, 10]])
    np.testing.assert_array_equal(avg_pool2d(m, 2)[0, 0], [[17 / 4, 18 / 4], [15 / 4, 18 / 4]])


def pool_case(rng, n, c, h, w, k, s, p, count_include_pad=True):
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    out, idx = max_pool2d(x, k, s, p)
    out_t, idx_t = F.max_pool2d(xt, k, s, p, return_indices=True)
    np.testing.assert_array_equal(out, out_t.detach().numpy())  # a max is exact
    np.testing.assert_array_equal(idx, idx_t.numpy())
    dy = rng.standard_normal(out.shape).astype(np.float32)
    out_t.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(max_pool2d_backward(dy, idx, x.shape), xt.grad.numpy(), rtol=1e-6, atol=1e-6)

    x64 = _t(x).requires_grad_()
    avg_t = F.avg_pool2d(x64, k, s, p, count_include_pad=count_include_pad)
    avg = avg_pool2d(x, k, s, p, count_include_pad=count_include_pad)
    np.testing.assert_allclose(avg, avg_t.detach().numpy(), rtol=RTOL, atol=1e-6)
    avg_t.backward(_t(dy))
    got = avg_pool2d_backward(dy, x.shape, k, s, p, count_include_pad=count_include_pad)
    np.testing.assert_allclose(got, x64.grad.numpy(), rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("case", [
    (2, 3, 8, 8, 2, None, 0),
    (2, 3, 9, 7, 3, 2, 1),
    (1, 4, 7, 11, (3, 2), (2, 1), (1, 1)),
    (2, 2, 5, 5, 5, 1, 2),
    (1, 1, 1, 1, 1, 1, 0),
    (3, 2, 6, 6, 3, 3, 0),
    # rows of >= 16 outputs: the SIMD paths' contiguous row blocks, their tails and edge columns
    (1, 2, 6, 70, 2, None, 0),
    (1, 2, 9, 75, 3, 2, 1),
    (2, 1, 5, 40, (3, 3), 1, (1, 1)),
])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_pool_forward_backward_match_torch(isa, rng, case, count_include_pad):
    pool_case(rng, *case, count_include_pad=count_include_pad)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 2), c=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), cip=st.booleans(), seed=st.integers(0, 2**16))
def test_pool_any_shape_matches_torch(n, c, h, w, kh, kw, sh, sw, ph, pw, cip, seed):
    assume(ph <= kh // 2 and pw <= kw // 2 and h + 2 * ph >= kh and w + 2 * pw >= kw)
    pool_case(np.random.default_rng(seed), n, c, h, w, (kh, kw), (sh, sw), (ph, pw), cip)


def test_max_pool_nan_propagates_like_torch():
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    x[0, 1, 3, 3] = -np.inf
    out, idx = max_pool2d(x, 2)
    out_t, idx_t = F.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    np.testing.assert_array_equal(out, out_t.numpy())
    np.testing.assert_array_equal(idx, idx_t.numpy())


def _paths():
    """The ISA paths this CPU runs (scalar, avx2, avx512), for tests that loop over them."""
    order = ["scalar", "avx2", "avx512"]
    return order[: order.index(_core.detected_isa()) + 1]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3), c=st.integers(1, 3), h=st.integers(1, 19), w=st.integers(1, 40),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), cip=st.booleans(), seed=st.integers(0, 2**16))
def test_pool_simd_paths_match_torch_with_ties_nan_and_inf(n, c, h, w, kh, kw, sh, sw, ph, pw, cip, seed):
    # Few distinct values, so windows hold ties (torch keeps the first maximum), plus NaN and
    # -inf; widths to 40 reach the kernels' contiguous-row blocks (rows of >= 16 outputs). Every
    # path must give torch's values and indices exactly, and the average bitwise the scalar
    # reference's (same additions in the same order).
    assume(ph <= kh // 2 and pw <= kw // 2 and h + 2 * ph >= kh and w + 2 * pw >= kw)
    rng = np.random.default_rng(seed)
    x = rng.choice(np.array([-1.0, 0.0, 2.0, 3.0, -np.inf, np.nan], np.float32), size=(n, c, h, w),
                   p=[0.3, 0.25, 0.2, 0.15, 0.06, 0.04])
    out_t, idx_t = F.max_pool2d(torch.from_numpy(x), (kh, kw), (sh, sw), (ph, pw), return_indices=True)
    dy = rng.standard_normal(tuple(out_t.shape)).astype(np.float32)
    previous = _core.active_isa()
    results = {}
    try:
        for path in _paths():
            _core.set_isa(path)
            out, idx = max_pool2d(x, (kh, kw), (sh, sw), (ph, pw))
            np.testing.assert_array_equal(out, out_t.numpy(), err_msg=path)
            np.testing.assert_array_equal(idx, idx_t.numpy(), err_msg=path)
            avg = avg_pool2d(x, (kh, kw), (sh, sw), (ph, pw), count_include_pad=cip)
            back = avg_pool2d_backward(dy, x.shape, (kh, kw), (sh, sw), (ph, pw), count_include_pad=cip)
            results[path] = (avg, back, max_pool2d_backward(dy, idx, x.shape))
    finally:
        _core.set_isa(previous)
    for path, got in results.items():
        for a, b in zip(got, results["scalar"], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=path)


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: max_pool2d(x, 3, padding=2), ValueError, "at most half the kernel size"),
    (lambda x: avg_pool2d(x, 9), ValueError, "larger than the padded input"),
    (lambda x: max_pool2d(x, 0), ValueError, r"kernel_size\[0\] must be >= 1"),
    (lambda x: max_pool2d(x, 2, stride=(1, 0)), ValueError, r"stride\[1\] must be >= 1"),
    (lambda x: avg_pool2d(x, 2, padding=-1), ValueError, r"padding\[0\] must be >= 0"),
    (lambda x: max_pool2d(x.astype(np.float64), 2), TypeError, "x must have dtype float32"),
    (lambda x: max_pool2d(x[0], 2), ValueError, "x must have 4 dimensions"),
    (lambda x: max_pool2d(x[..., ::2], 2), ValueError, "x must be C-contiguous"),
    (lambda x: max_pool2d(x, 2.0), TypeError, "kernel_size must be an int or a pair"),
    (lambda x: max_pool2d_backward(np.ones((1, 2, 4, 4), np.float32), np.full((1, 2, 4, 4), 64), x.shape),
     ValueError, r"indices must lie in \[0, H\*W\)"),
    (lambda x: max_pool2d_backward(np.ones((1, 2, 4, 4), np.float32), np.full((1, 2, 4, 4), -1), x.shape),
     ValueError, r"indices must lie in \[0, H\*W\)"),
    (lambda x: max_pool2d_backward(_f32(1, 2, 4, 4), _i64(1, 2, 4, 4).astype(np.int32), x.shape),
     TypeError, "indices must have dtype int64"),
    (lambda x: max_pool2d_backward(_f32(1, 2, 4, 4), _i64(1, 2, 4, 3), x.shape),
     ValueError, "indices must have the shape of grad_out"),
    (lambda x: max_pool2d_backward(_f32(1, 2, 4, 4), _i64(1, 2, 4, 4), (2, 2, 8, 8)),
     ValueError, "must share N and C"),
    (lambda x: avg_pool2d_backward(np.ones((1, 2, 3, 3), np.float32), x.shape, 2), ValueError,
     "grad_out must have the shape of the pooling's output"),
    (lambda x: avg_pool2d_backward(np.ones((1, 2, 4, 4), np.float32), (1, 2, 8), 2), ValueError,
     "input_shape must have 4 entries"),
])
def test_pool_bad_inputs_raise_clearly(call, exc, match):
    x = np.zeros((1, 2, 8, 8), np.float32)
    with pytest.raises(exc, match=match):
        call(x)


def test_conv_and_pool_families_are_registered():
    fams = _core.kernel_families()
    assert "conv2d" in fams and "pool" in fams
