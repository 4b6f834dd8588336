"""Regression tests for issue 11: every reproducer of the reliability probe, as a passing test.

Each test is the probe's input; it asserts the fixed behaviour (a clear error naming the argument,
or the right value against an independent oracle: NumPy in float64, or the scalar path).
"""

from __future__ import annotations

import os
import stat
import time

import numpy as np
import pytest
from grimoire import _core, nn, stats, text
from grimoire.kernels import optim as kopt

SIMD_ISAS = [
    isa
    for isa in ("avx2", "avx512")
    if isa in _core.kernel_families()["norm"][0]
    and _core.cpu_features()["avx512f" if isa == "avx512" else "avx2"]
]


@pytest.fixture
def isa():
    """Run under each SIMD path the machine has (the rows below were SIMD-only bugs), then restore."""
    before = _core.active_isa()
    yield
    _core.set_isa(before)


def each_isa():
    return ["scalar", *SIMD_ISAS]


def _w2v_args(n_tokens=10, vocab=4, dim=3):
    rng = np.random.default_rng(0)
    w_in = rng.standard_normal((vocab, dim)).astype(np.float32)
    w_out = np.zeros((vocab, dim), np.float32)
    corpus = rng.integers(0, vocab, n_tokens).astype(np.int32)
    table = np.arange(vocab, dtype=np.int32)
    return w_in, w_out, corpus, table


# ------------------------------------------------------------------ hangs and unbounded work
def test_word2vec_negative_int_max_is_refused_not_a_hang():
    w_in, w_out, corpus, table = _w2v_args()
    with pytest.raises(ValueError, match="negative"):
        _core.word2vec_sgns_train(w_in, w_out, corpus, table, None, negative=2**31 - 1)
    with pytest.raises(ValueError, match="negative"):
        text.Word2Vec(negative=2**31 - 1, min_count=1).fit([["a", "b", "a", "b"]])


def test_word2vec_huge_window_is_clipped_to_the_corpus():
    w_in, w_out, corpus, table = _w2v_args()
    ref_in, ref_out = w_in.copy(), w_out.copy()
    t0 = time.perf_counter()
    loss = _core.word2vec_sgns_train(w_in, w_out, corpus, table, None, window=2**31 - 1, seed=3)
    assert time.perf_counter() - t0 < 2.0
    # A window of the corpus length draws the same b (modulo 10) and sees the same pairs.
    loss_ref = _core.word2vec_sgns_train(ref_in, ref_out, corpus, table, None, window=10, seed=3)
    assert loss == loss_ref
    np.testing.assert_array_equal(w_in, ref_in)


def test_umap_negative_sample_rate_has_an_upper_bound():
    y = np.zeros((3, 2))
    h = np.array([0, 1], np.int64)
    with pytest.raises(ValueError, match="negative_sample_rate"):
        _core.umap_optimize(h, h, np.ones(2), y, None, 1, 1.0, 1.0, negative_sample_rate=1e18)
    with pytest.raises(ValueError, match="n_epochs"):
        _core.umap_optimize(h, h, np.ones(2), y, None, 2**62, 1.0, 1.0)


# ------------------------------------------------------------------ overflow
@pytest.mark.parametrize("backward", [False, True])
def test_avg_pool_divisor_does_not_overflow(backward):
    k, pad = 2**32 + 2, 2**31 + 1
    x = np.ones((1, 1, 1, 1), np.float32)
    # Output 2x2 ((1 + 2 pad - k) + 1 = 2): four windows, each the full k x k padded window
    # holding the single input value, so each average is 1 / k^2 (and the gradient 4 / k^2).
    if backward:
        y = _core.avg_pool2d_backward(
            np.ones((1, 1, 2, 2), np.float32), [1, 1, 1, 1], (k, k), (1, 1), (pad, pad), True
        )
        want = 4.0 / (float(k) * float(k))
    else:
        y = _core.avg_pool2d(x, (k, k), (1, 1), (pad, pad), True)
        want = 1.0 / (float(k) * float(k))
    assert y.shape == ((1, 1, 1, 1) if backward else (1, 1, 2, 2))
    np.testing.assert_allclose(y, np.full(y.shape, want), rtol=1e-6)
    k2 = 2**62
    y2 = _core.avg_pool2d(x, (k2, k2), (1, 1), (k2 // 2, k2 // 2), True)
    assert np.all(np.isfinite(y2)) and np.all(y2 > 0)


@pytest.mark.parametrize("value", [1e30, 1e-25, 3e-20])
def test_clip_grad_norm_does_not_overflow_or_underflow(isa, value):
    for path in each_isa():
        _core.set_isa(path)
        g = [np.full(1000, value, np.float32), np.full(37, -value, np.float32)]
        g0 = [a.astype(np.float64) for a in g]
        want = np.sqrt(sum(float(np.sum(a * a)) for a in g0))
        total = _core.clip_grad_norm(g, 1.0, 2.0)
        np.testing.assert_allclose(total, want, rtol=1e-6, err_msg=path)
        coef = min(1.0, 1.0 / (want + 1e-6))
        np.testing.assert_allclose(g[0], g0[0] * coef, rtol=1e-5, err_msg=path)
        assert np.all(g[0] != 0)


def test_clip_grad_norm_long_reduction_is_blocked(isa):
    g = np.random.default_rng(1).standard_normal(3_000_000).astype(np.float32) + np.float32(3)
    want = float(np.linalg.norm(g.astype(np.float64)))
    for path in each_isa():
        _core.set_isa(path)
        np.testing.assert_allclose(
            _core.clip_grad_norm([g.copy()], np.inf, 2.0), want, rtol=2e-7, err_msg=path
        )


# ------------------------------------------------------------------ aliasing
def test_layer_norm_out_must_not_overlap_weight_or_bias():
    buf = np.ones((3, 4), np.float32)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="out must not share memory with weight"):
        _core.layer_norm(x, buf[1], None, 1e-5, out=buf[:2])
    with pytest.raises(ValueError, match="out must not share memory with weight"):
        _core.layer_norm(x, buf[2], None, 1e-5, out=buf[1:])
    _core.layer_norm(x, buf[0], None, 1e-5, out=buf[1:])  # adjacent, not overlapping: fine
    with pytest.raises(ValueError, match="out must not share memory with bias"):
        _core.layer_norm(x, None, buf[2], 1e-5, out=buf[1:])
    with pytest.raises(ValueError, match="out must not share memory with weight"):
        _core.rms_norm(x, buf[1], 1e-5, out=buf[:2])


def test_batch_norm_running_stats_must_not_alias_weight_or_each_other():
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    w, b = np.ones(3, np.float32), np.zeros(3, np.float32)
    rv = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="running_mean must not share memory with weight"):
        _core.batch_norm(x, w, b, w, rv, True, 0.1, 1e-5)
    rm = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="running_mean and running_var must not share memory"):
        _core.batch_norm(x, w, b, rm, rm, True, 0.1, 1e-5)
    # Evaluation only reads them: aliasing is harmless there and stays allowed.
    _core.batch_norm(x, w, b, rv, rv, False, 0.1, 1e-5)


def test_gemm_c_with_internal_overlap_is_refused():
    a = np.ones((2, 3), np.float32)
    b = np.ones((3, 4), np.float32)
    c = np.lib.stride_tricks.as_strided(np.zeros(4, np.float32), (2, 4), (0, 4))
    with pytest.raises(ValueError, match="c has overlapping elements"):
        _core.gemm(a, b, c)


# ------------------------------------------------------------------ quantisation
def test_quantize_int8_with_given_scale_refuses_nan():
    x = np.array([1.0, np.nan, -2.0], np.float32)
    with pytest.raises(ValueError, match="finite"):
        _core.quantize_int8(x, True, None, np.array([0.1], np.float32), np.array([0], np.int32))


def test_quantize_int8_asymmetric_full_float_range():
    x = np.array([3e38, -3e38, 0.0, 1e38], np.float32)
    q, scale, zp = _core.quantize_int8(x, False, None, None, None)
    assert np.isfinite(scale[0]) and scale[0] > 0
    np.testing.assert_allclose(scale[0], 6e38 / 255, rtol=1e-6)
    deq = (q.astype(np.float64) - zp[0]) * scale[0]
    np.testing.assert_allclose(deq, x.astype(np.float64), atol=scale[0])
    assert len(set(q.tolist())) == 4


@pytest.mark.parametrize(
    "sa,sb",
    [(np.nan, 1.0), (np.inf, 1.0), (0.0, 1.0), (-1.0, 1.0), (1.0, -2.0), (1e-30, 1e-30), (1e30, 1e30)],
)
def test_gemm_fp8_refuses_bad_scales(sa, sb):
    a = _core.to_fp8(np.ones((2, 2), np.float32), "e4m3", True)
    with pytest.raises(ValueError, match="scale"):
        _core.gemm_fp8(a, a, sa, sb, "e4m3", "e4m3")


def test_gemm_fp8_scale_product_formed_in_double():
    a = _core.to_fp8(np.ones((2, 3), np.float32), "e4m3", True)
    b = _core.to_fp8(np.ones((3, 2), np.float32), "e4m3", True)
    np.testing.assert_allclose(_core.gemm_fp8(a, b, 1e40, 1e-40, "e4m3", "e4m3"), 3.0, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, -1.0, 0.0, np.inf])
def test_linear_int8_refuses_bad_w_scale(bad):
    x = np.ones((2, 3), np.float32)
    w = np.ones((2, 3), np.int8)
    with pytest.raises(ValueError, match="w_scale"):
        _core.linear_int8(x, w, np.array([1.0, bad], np.float32), None)


# ------------------------------------------------------------------ scalars checked after the cast
def test_attention_scale_checked_as_float32():
    q = np.ones((1, 1, 2, 4), np.float32)
    with pytest.raises(ValueError, match="scale.*float32"):
        _core.attention_forward(q, q, q, scale=1e39)
    with pytest.raises(TypeError, match="scale"):
        _core.attention_forward(q, q, q, scale="2")


@pytest.mark.parametrize(
    "call,name",
    [
        (
            lambda x, w: _core.batch_norm(
                x, w, w.copy(), np.zeros(3, np.float32), np.ones(3, np.float32), True, 1e300, 1e-5
            ),
            "momentum",
        ),
        (
            lambda x, w: _core.batch_norm(
                x, w, w.copy(), np.zeros(3, np.float32), np.ones(3, np.float32), True, 0.1, 1e39
            ),
            "eps",
        ),
        (lambda x, w: _core.sgd_step(w, w.copy(), None, np.inf, 0.0, 0.0, False, 0.0, True), "lr"),
        (
            lambda x, w: _core.sgd_step(w, w.copy(), w.copy(), 0.1, 0.9, -np.inf, False, 0.0, True),
            "dampening",
        ),
        (lambda x, w: _core.sgd_step(w, w.copy(), w.copy(), 0.1, 1e300, 0.0, False, 0.0, True), "momentum"),
        (
            lambda x, w: _core.adam_step(
                w, w.copy(), w.copy(), w.copy(), 1, 1e39, 0.9, 0.999, 1e-8, 0.0, True, False, None
            ),
            "lr",
        ),
        (lambda x, w: _core.word2vec_sgns_train(*_w2v_args(), None, lr_min=np.nan), "lr_min"),
        (lambda x, w: _core.word2vec_sgns_train(*_w2v_args(), None, lr=np.inf), "lr"),
        (lambda x, w: _core.gemm(x, x.T.copy(), alpha=1e39), "alpha"),
    ],
)
def test_non_finite_scalars_are_refused(call, name):
    x = np.ones((4, 3), np.float32)
    w = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=name):
        call(x, w)


def test_tsne_learning_rate_inf_is_refused():
    y = np.zeros((2, 2))
    ip = np.array([0, 1, 2], np.int64)
    ix = np.array([1, 0], np.int64)
    with pytest.raises(ValueError, match="learning_rate"):
        _core.tsne_optimize(ip, ix, np.ones(2), y, 1, 0, 12.0, np.inf, 0.5)


def test_adam_step_refuses_a_non_integer_step():
    p = np.ones(3, np.float32)
    for step in (1.5, "1", True):
        with pytest.raises(TypeError, match="step"):
            kopt.adam_step(p, p.copy(), p.copy(), p.copy(), step=step, lr=1e-3)


# ------------------------------------------------------------------ cancellation and long sums
def test_pairwise_distances_float32_near_rows_do_not_cancel(isa):
    rng = np.random.default_rng(0)
    x = (1e4 + rng.standard_normal((20, 8)) * 1e-3).astype(np.float32)
    y = (x + rng.standard_normal((20, 8)).astype(np.float32) * np.float32(3e-3)).astype(np.float32)
    want = np.sqrt(((x.astype(np.float64)[:, None] - y.astype(np.float64)[None]) ** 2).sum(-1))
    for path in each_isa():
        _core.set_isa(path)
        d = _core.pairwise_distances(x, y, "euclidean")
        np.testing.assert_allclose(d, want, rtol=1e-4, atol=1e-6, err_msg=path)
        d2 = _core.pairwise_distances(x, y, "sqeuclidean")
        np.testing.assert_allclose(d2, want**2, rtol=2e-4, atol=1e-9, err_msg=path)


def test_pairwise_distances_same_input_needs_the_same_array():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="same_input"):
        _core.pairwise_distances(x, x + 1, "euclidean", True)
    d = _core.pairwise_distances(x, x, "euclidean", True)
    assert np.all(np.diag(d) == 0)


@pytest.mark.parametrize("m", [1, 3, 8])
def test_skinny_gemm_accumulates_long_k_in_blocks(isa, m):
    k = 2**22
    rng = np.random.default_rng(m)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, 8)).astype(np.float32)
    want = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    for path in SIMD_ISAS:
        _core.set_isa(path)
        c = _core.gemm(a, b)
        assert np.max(np.abs(c - want) / scale) < 1e-6, path


def test_skinny_gemm_ones_with_k_2_26(isa):
    k = 2**26
    a = np.ones((1, k), np.float32)
    b = np.lib.stride_tricks.as_strided(np.ones(16, np.float32), (k, 16), (0, 4))
    for path in SIMD_ISAS:
        _core.set_isa(path)
        c = _core.gemm(a, b)
        np.testing.assert_array_equal(c, np.full((1, 16), float(k), np.float32), err_msg=path)


@pytest.mark.parametrize("offset", [1e4, 1e5])
def test_layer_norm_simd_with_a_large_offset(isa, offset):
    rng = np.random.default_rng(0)
    x = (offset + rng.standard_normal((16, 1024))).astype(np.float32)
    x64 = x.astype(np.float64)
    want = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    for path in each_isa():
        _core.set_isa(path)
        y = _core.layer_norm(x, None, None, 1e-5)[0]
        assert np.max(np.abs(y - want)) < 1e-5, (path, np.max(np.abs(y - want)))


def test_rms_norm_simd_with_huge_values(isa):
    x = np.full((2, 33), 1e20, np.float32)
    for path in each_isa():
        _core.set_isa(path)
        y = _core.rms_norm(x, None, 0.0)[0]
        np.testing.assert_allclose(y, 1.0, rtol=1e-6, err_msg=path)


# ------------------------------------------------------------------ files and state
def _mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_module_load_is_all_or_nothing(tmp_path):
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5))  # layer 2 has another shape
    path = tmp_path / "other.safetensors"
    other.save(path)
    model = _mlp()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="shape"):
        model.load(path)
    after = model.state_dict()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)


def test_saved_files_get_the_umask_mode(tmp_path):
    path = tmp_path / "m.safetensors"
    old = os.umask(0o027)
    try:
        _mlp().save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_a_read_only_file_is_not_replaced(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"keep me")
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match="read-only"):
        _mlp().save(path)
    assert path.read_bytes() == b"keep me"


def test_word2vec_is_deterministic_by_default():
    corpus = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "sat", "on", "the", "log"]] * 50
    losses = {text.Word2Vec(vector_size=8, min_count=1, epochs=2, seed=4).fit(corpus).loss_ for _ in range(3)}
    assert len(losses) == 1


# ------------------------------------------------------------------ the minor row
@pytest.mark.parametrize(
    "make",
    [
        lambda: stats.uniform(np.nan, 1),
        lambda: stats.norm(np.inf, 1),
        lambda: stats.t(3, np.nan, 1),
        lambda: stats.randint(0.5, 3),
    ],
)
def test_stats_distributions_refuse_bad_parameters(make):
    with pytest.raises(ValueError):
        make()


def test_ztest_one_observation_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        stats.ztest([1.0])


def test_max_pool2d_backward_input_shape_must_fit_grad_out():
    dy = np.ones((1, 1, 5, 5), np.float32)
    idx = np.zeros((1, 1, 5, 5), np.int64)
    with pytest.raises(ValueError, match="input_shape"):
        _core.max_pool2d_backward(dy, idx, [1, 1, 1, 1])


# ------------------------------------------------------------------ resource limits and Ctrl-C
def test_huge_allocation_is_a_clear_error():
    x = np.lib.stride_tricks.as_strided(np.zeros(4, np.float32), (2**20, 4), (0, 4))
    with pytest.raises(MemoryError, match=r"output of shape \(1048576, 1048576\) needs 4096 GiB"):
        _core.pairwise_distances(x, x, "euclidean")
    with pytest.raises(ValueError, match="overflows"):
        _core.gemm(np.ones((2**40, 0), np.float32), np.ones((0, 2**40), np.float32))


# --- findings of the fuzz harness (tests/fuzz.py) after the probe's rows were fixed


def test_simd_exp_of_inf_is_inf_in_log_softmax_backward(isa):
    # y = +inf (not a log-probability, but accepted): exp(y) must be inf on every path, as the scalar
    # path's expf gives (the SIMD exp saturated at exp(88) = 1.65e38).
    rng = np.random.default_rng(0)
    gy = rng.standard_normal((3, 37)).astype(np.float32)
    y = -np.abs(rng.standard_normal((3, 37))).astype(np.float32)
    y[:, ::5] = np.inf
    _core.set_isa("scalar")
    want = _core.log_softmax_backward(gy, y)
    assert np.isinf(want[:, ::5]).all()
    for path in SIMD_ISAS:
        _core.set_isa(path)
        got = _core.log_softmax_backward(gy, y)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-5, atol=1e-5)


def test_attention_backward_huge_scale_agrees_with_the_scalar_path(isa):
    # scale = 2**64 with a given lse: exp(s - lse) overflows; the SIMD exp gave a finite 1.65e38
    # for it, so dq/dk/dv had no NaN where the scalar path's had them.
    rng = np.random.default_rng(555)
    q, g, o = (rng.standard_normal((1, 2, 18, 34)).astype(np.float32) for _ in range(3))
    k, v = (rng.standard_normal((1, 1, 19, 34)).astype(np.float32) for _ in range(2))
    lse = rng.standard_normal((1, 2, 18)).astype(np.float32)
    _core.set_isa("scalar")
    want = _core.attention_backward(g, q, k, v, o, lse, True, float(2**64), None)
    for path in SIMD_ISAS:
        _core.set_isa(path)
        got = _core.attention_backward(g, q, k, v, o, lse, True, float(2**64), None)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            np.testing.assert_array_equal(np.isinf(a), np.isinf(b))


@pytest.mark.parametrize("fn", ["multi_tensor_sgd_step", "multi_tensor_adam_step"])
def test_multi_tensor_optional_list_must_be_a_list(fn):
    p, g, z = ([np.zeros(3, np.float32)] for _ in range(3))
    if fn == "multi_tensor_sgd_step":
        with pytest.raises(TypeError, match="momentum_bufs"):
            _core.multi_tensor_sgd_step(p, g, 5, 0.1, 0.9, 0.0, False, 0.0, False)
    else:
        with pytest.raises(TypeError, match="max_vs"):
            _core.multi_tensor_adam_step(p, g, z, z, 1, 0.1, 0.9, 0.99, 1e-8, 0.0, False, True, 5)


@pytest.mark.parametrize("tol", [5e-324, 1e-40, 1e-17])
def test_jacobi_tol_below_epsilon_is_refused(tol):
    # Below float64's epsilon convergence is decided by rounding: the SIMD path stopped after 5
    # sweeps, the scalar path ran out of sweeps (31), on the same matrix.
    bt = np.random.default_rng(63).standard_normal((3, 4))
    with pytest.raises(ValueError, match="tol"):
        _core.jacobi_svd_sweeps(bt, np.eye(3), 30, tol)
    assert _core.jacobi_svd_sweeps(bt, np.eye(3), 30, float(np.finfo(float).eps)) <= 30


def test_amsgrad_keeps_a_nan_in_max_v(isa):
    # The SIMD max returned v where max_v held NaN (the scalar path's std::max keeps it), so the
    # parameters stayed finite on one path and became NaN on the other (fuzz --long finding).
    rng = np.random.default_rng(0)
    results = {}
    for path in each_isa():
        _core.set_isa(path)
        p, g, m = (rng.standard_normal(21).astype(np.float32) for _ in range(3))
        v, max_v = (np.abs(rng.standard_normal(21)).astype(np.float32) for _ in range(2))
        max_v[::4] = np.nan
        _core.adam_step(p, g, m, v, 4, 1e-3, 0.9, 0.999, 1e-8, 0.01, True, True, max_v)
        results[path] = (np.isnan(p), np.isnan(max_v))
        rng = np.random.default_rng(0)
    for path in SIMD_ISAS:
        for got, want in zip(results[path], results["scalar"], strict=True):
            np.testing.assert_array_equal(got, want)
    assert results["scalar"][0][::4].all()


def test_kalman_filter_past_a_bad_variance_is_nan_not_uninitialised():
    # Z near the float64 maximum makes F_0 inf and F_1 NaN: the filter stopped there and returned
    # v, F (and the final state) with the rest never written (fuzz --long: the values changed from
    # run to run, and were y's).
    y = np.random.default_rng(437).standard_normal(52)
    args = (np.array([1.0, 1.6e308]), np.array([[0.5, 0.2], [1.0, 0.0]]), np.array([[1.0, 0], [0, 0]]), 0.1)
    loglik, v, f, a, p = _core.kalman_filter(y, *args, np.zeros(2), np.eye(2) * 2.0, 2)
    assert np.isnan(loglik)
    stop = int(np.argmax(~(f > 0)))
    assert np.isnan(v[stop + 1 :]).all() and np.isnan(f[stop + 1 :]).all()
    assert np.isnan(a).all() and np.isnan(p).all()


def test_matmul_of_a_huge_batch_of_empty_products_returns_at_once():
    # (2**40, 0, 1) @ (1, 3): C is empty, but the batched kernel looped 2**40 times (fuzz --long: a hang).
    a = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (2**40, 0, 1), (0, 0, 0))
    t = time.monotonic()
    out = _core.matmul(a, np.ones((1, 3), np.float32))
    assert out.shape == (2**40, 0, 3) and time.monotonic() - t < 5.0


def test_conv_dilation_overflow_names_the_argument():
    x = np.zeros((1, 1, 4, 4), np.float32)
    w = np.zeros((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="dilation"):
        _core.conv2d_reference(x, w, None, (1, 1), (0, 0), (2**62, 1), 1)
