"""GEMM (primer 2.2.1): grimoire.kernels.gemm and grimoire.matmul against NumPy.

Accuracy is judged against a reference computed in higher precision (float64 for float32 inputs,
long double for float64): the error of grimoire's result, relative to the size of the terms
(|alpha| |A| |B| + |beta| |C|), must stay within a small factor of the error of a plain
computation in the input dtype (NumPy's matmul, then alpha/beta), which is what a correct
float32/float64 GEMM can promise.
"""

from __future__ import annotations

import os
import subprocess
import sys

import grimoire
import grimoire.kernels
import numpy as np
import pytest
from grimoire import _core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SIZES = [0, 1, 2, 3, 5, 7, 13, 16, 17, 31, 64, 97, 128, 131, 257, 300]
FLOATS = [np.float32, np.float64]
def fixture_ok(max_examples: int) -> settings:
    """Hypothesis settings for tests that also take the isa/threads fixtures (set once per test)."""
    return settings(max_examples=max_examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=[1, 2], ids=["threads1", "threads2"])
def threads(request):
    previous = grimoire.get_num_threads()
    grimoire.set_num_threads(request.param)
    yield request.param
    grimoire.set_num_threads(previous)


def op(x: np.ndarray, trans: bool) -> np.ndarray:
    return np.swapaxes(x, -1, -2) if trans else x


def reference(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """(exact-ish result, size of the terms, plain same-dtype result) of alpha op(a) op(b) + beta c."""
    wide = np.float64 if a.dtype == np.float32 else np.longdouble
    a_w, b_w = op(a, trans_a).astype(wide), op(b, trans_b).astype(wide)
    exact = wide(alpha) * np.matmul(a_w, b_w)
    scale = abs(wide(alpha)) * np.matmul(np.abs(a_w), np.abs(b_w))
    plain = a.dtype.type(alpha) * np.matmul(op(a, trans_a), op(b, trans_b))
    if c is not None and beta != 0.0:
        exact = exact + wide(beta) * c.astype(wide)
        scale = scale + abs(wide(beta)) * np.abs(c.astype(wide))
        plain = plain + a.dtype.type(beta) * c
    return exact, scale, plain


def assert_accurate(got, a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    exact, scale, plain = reference(a, b, c, alpha, beta, trans_a, trans_b)
    assert got.shape == exact.shape
    assert got.dtype == a.dtype
    if got.size == 0:
        return
    eps = np.finfo(a.dtype).eps
    floor = np.maximum(scale, np.finfo(a.dtype).tiny)
    err_got = np.max(np.abs(got.astype(exact.dtype) - exact) / floor)
    err_plain = np.max(np.abs(plain.astype(exact.dtype) - exact) / floor)
    # 4x the plain computation's error, and never less than a few roundings (when the plain
    # product happens to be exact, e.g. k = 1).
    assert err_got <= 4 * max(err_plain, 2 * eps), (err_got, err_plain)


def random(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# --- grimoire.kernels.gemm: C = alpha op(A) op(B) + beta C ----------------------------------


@fixture_ok(25)
@given(m=st.sampled_from(SIZES), n=st.sampled_from(SIZES), k=st.sampled_from(SIZES),
       trans_a=st.booleans(), trans_b=st.booleans(), dtype=st.sampled_from(FLOATS),
       alpha=st.sampled_from([1.0, -0.5, 2.0]), beta=st.sampled_from([0.0, 1.0, -1.5]),
       seed=st.integers(0, 2**16))
def test_gemm_matches_reference(isa, threads, m, n, k, trans_a, trans_b, dtype, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    a = random(rng, (k, m) if trans_a else (m, k), dtype)
    b = random(rng, (n, k) if trans_b else (k, n), dtype)
    c = random(rng, (m, n), dtype)
    out = grimoire.kernels.gemm(a, b, c.copy(), alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    assert_accurate(out, a, b, c, alpha, beta, trans_a, trans_b)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (6, 16, 8), (7, 17, 9), (64, 64, 64), (300, 257, 131),
                                   (1, 300, 257), (8, 257, 300), (33, 5, 300), (300, 1, 97)])
def test_gemm_every_path_and_thread_count(isa, threads, dtype, shape):
    """Shapes that straddle the microkernel tiles (6 x 16 / 6 x 8), the cache blocks and the
    small-m path, on every ISA path and with 1 and 2 threads."""
    m, n, k = shape
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b = random(rng, (m, k), dtype), random(rng, (k, n), dtype)
    assert_accurate(grimoire.kernels.gemm(a, b), a, b)
    assert_accurate(grimoire.matmul(a, b), a, b)


def test_large_blocked_product(threads):
    """Several k blocks, several A blocks and several B blocks at once (float32)."""
    rng = np.random.default_rng(7)
    a, b = random(rng, (517, 611), np.float32), random(rng, (611, 1031), np.float32)
    assert_accurate(grimoire.matmul(a, b), a, b)


def strided_views(rng, base_shape, dtype):
    """A few non-contiguous views of a random array: transposed, stepped, reversed."""
    rows, cols = base_shape
    side = max(rows, cols)
    big = random(rng, (2 * side + 1, 3 * side + 2), dtype)
    return {
        "stepped": big[1::2, 2::3][:rows, :cols],
        "reversed": big[:rows, :cols][::-1, ::-1],
        "transposed": np.ascontiguousarray(big[:cols, :rows]).T,
        "fortran": np.asfortranarray(big[:rows, :cols]),
        "rows_reversed_stepped": big[::-2, ::3][:rows, :cols],
    }


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m", [5, 23], ids=["skinny", "packed"])
def test_strided_and_negative_stride_views_read_in_place(isa, dtype, m):
    rng = np.random.default_rng(3)
    k, n = 37, 29
    for a in strided_views(rng, (m, k), dtype).values():
        for b in strided_views(rng, (k, n), dtype).values():
            assert_accurate(grimoire.kernels.gemm(a, b), a, b)
            assert_accurate(grimoire.matmul(a, b), a, b)
            for trans_a, trans_b in [(True, False), (False, True), (True, True)]:
                a_t = np.swapaxes(a, 0, 1) if trans_a else a
                b_t = np.swapaxes(b, 0, 1) if trans_b else b
                got = grimoire.kernels.gemm(a_t, b_t, trans_a=trans_a, trans_b=trans_b)
                assert_accurate(got, a_t, b_t, trans_a=trans_a, trans_b=trans_b)


@pytest.mark.parametrize("dtype", FLOATS)
def test_strided_output_updated_in_place(isa, dtype):
    rng = np.random.default_rng(4)
    a, b = random(rng, (19, 11), dtype), random(rng, (11, 21), dtype)
    for c_base in [random(rng, (40, 50), dtype)[::2, 1::2][:19, :21],
                   random(rng, (21, 19), dtype).T,
                   random(rng, (19, 21), dtype)[::-1]]:
        c_before = c_base.copy()
        out = grimoire.kernels.gemm(a, b, c_base, alpha=0.5, beta=2.0)
        assert out is c_base
        assert_accurate(out, a, b, c_before, 0.5, 2.0)


def test_c_in_place_returns_c_and_leaves_inputs(isa):
    rng = np.random.default_rng(5)
    a, b = random(rng, (30, 20), np.float32), random(rng, (20, 40), np.float32)
    c = random(rng, (30, 40), np.float32)
    a0, b0, c0 = a.copy(), b.copy(), c.copy()
    out = grimoire.kernels.gemm(a, b, c, beta=1.0)
    assert out is c
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    assert_accurate(out, a0, b0, c0, 1.0, 1.0)


def test_aliasing_output_is_refused():
    rng = np.random.default_rng(6)
    x = random(rng, (16, 16), np.float32)
    with pytest.raises(ValueError, match="c must not share memory"):
        grimoire.kernels.gemm(x, x.copy(), x)
    with pytest.raises(ValueError, match="c must not share memory"):
        grimoire.kernels.gemm(x.copy(), x, x.T)
    big = random(rng, (16, 32), np.float32)
    with pytest.raises(ValueError, match="c must not share memory"):
        grimoire.kernels.gemm(big[:, :16], x, big[:, 8:24])  # overlaps a


@pytest.mark.parametrize("dtype", FLOATS)
def test_alpha_zero_and_empty_k_scale_c(isa, dtype):
    rng = np.random.default_rng(8)
    c = random(rng, (9, 11), dtype)
    a, b = random(rng, (9, 0), dtype), random(rng, (0, 11), dtype)
    np.testing.assert_array_equal(grimoire.kernels.gemm(a, b, c.copy(), beta=-2.0), dtype(-2.0) * c)
    np.testing.assert_array_equal(grimoire.kernels.gemm(a, b), np.zeros((9, 11), dtype))
    a, b = random(rng, (9, 5), dtype), random(rng, (5, 11), dtype)
    a[0, 0] = np.nan  # alpha == 0: the product is not formed (BLAS), C is only scaled
    np.testing.assert_array_equal(grimoire.kernels.gemm(a, b, c.copy(), alpha=0.0, beta=3.0), dtype(3.0) * c)
    assert grimoire.kernels.gemm(random(rng, (0, 5), dtype), b).shape == (0, 11)
    assert grimoire.kernels.gemm(a, random(rng, (5, 0), dtype)).shape == (9, 0)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(3, 4, 5), (40, 50, 300)])
def test_nan_and_inf_propagate(isa, dtype, shape):
    m, n, k = shape
    rng = np.random.default_rng(9)
    a, b = np.abs(random(rng, (m, k), dtype)) + 0.1, np.abs(random(rng, (k, n), dtype)) + 0.1
    a[1, 2] = np.nan
    a[2, 0] = np.inf
    b[3, 1] = -np.inf
    with np.errstate(invalid="ignore"):  # inf - inf in the oracle is the point of the test
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    got = grimoire.kernels.gemm(a, b)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    assert np.isnan(got[1]).all() and np.isposinf(got[2, 0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_beta_zero_never_reads_c(isa, dtype):
    rng = np.random.default_rng(10)
    a, b = random(rng, (37, 19), dtype), random(rng, (19, 45), dtype)
    c = np.full((37, 45), np.nan, dtype)
    c[::3] = np.inf
    out = grimoire.kernels.gemm(a, b, c, beta=0.0)
    assert np.isfinite(out).all()
    assert_accurate(out, a, b)


# --- batched -------------------------------------------------------------------------------


@fixture_ok(20)
@given(batch=st.sampled_from([1, 2, 5]), m=st.sampled_from([1, 6, 17, 40]), n=st.sampled_from([1, 8, 33]),
       k=st.sampled_from([0, 1, 9, 70]), form=st.sampled_from(["3x3", "2x3", "3x2", "1x3", "3x1"]),
       dtype=st.sampled_from(FLOATS), seed=st.integers(0, 2**16))
def test_batched_with_broadcast(isa, threads, batch, m, n, k, form, dtype, seed):
    rng = np.random.default_rng(seed)
    a_shape = {"3": (batch, m, k), "2": (m, k), "1": (1, m, k)}[form[0]]
    b_shape = {"3": (batch, k, n), "2": (k, n), "1": (1, k, n)}[form[2]]
    a, b = random(rng, a_shape, dtype), random(rng, b_shape, dtype)
    assert_accurate(grimoire.matmul(a, b), a, b)
    assert_accurate(grimoire.kernels.gemm(a, b), a, b)
    bt = np.ascontiguousarray(np.swapaxes(b, -1, -2))
    assert_accurate(grimoire.kernels.gemm(a, bt, trans_b=True), a, bt, trans_b=True)
    c = random(rng, np.broadcast_shapes(a_shape[:-2], b_shape[:-2]) + (m, n), dtype)
    c0 = c.copy()
    assert_accurate(grimoire.kernels.gemm(a, b, c, alpha=2.0, beta=-1.0), a, b, c0, 2.0, -1.0)


def test_many_small_products_spread_over_threads(threads):
    rng = np.random.default_rng(11)
    a, b = random(rng, (64, 12, 7), np.float32), random(rng, (64, 7, 9), np.float32)
    assert_accurate(grimoire.matmul(a, b), a, b)


# --- grimoire.matmul: numpy.matmul semantics -------------------------------------------------


@pytest.mark.parametrize("a_shape,b_shape", [
    ((5,), (5,)), ((5,), (5, 3)), ((4, 5), (5,)), ((4, 5), (5, 3)), ((2, 4, 5), (5,)), ((5,), (2, 5, 3)),
    ((2, 4, 5), (5, 3)), ((4, 5), (2, 5, 3)), ((2, 4, 5), (2, 5, 3)), ((1, 4, 5), (3, 5, 2)), ((0,), (0,)),
    ((0, 5), (5, 3)), ((4, 0), (0, 3)),
])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64),
                                    (np.float32, np.float64), (np.float64, np.float32)])
def test_matmul_semantics_match_numpy(a_shape, b_shape, dtypes):
    rng = np.random.default_rng(12)
    a, b = random(rng, a_shape, dtypes[0]), random(rng, b_shape, dtypes[1])
    want = np.matmul(a, b)
    got = grimoire.matmul(a, b)
    assert type(got) is type(want)
    assert np.shape(got) == np.shape(want)
    assert got.dtype == want.dtype
    wide = np.result_type(a, b)
    # The promoted 2-D/3-D product, checked as any other; then the squeeze gives the same numbers.
    a2 = a.astype(wide)[None, :] if a.ndim == 1 else a.astype(wide)
    b2 = b.astype(wide)[:, None] if b.ndim == 1 else b.astype(wide)
    full = grimoire.matmul(a2, b2)
    assert_accurate(full, a2, b2)
    np.testing.assert_array_equal(np.asarray(got).ravel(), full.ravel())


@pytest.mark.parametrize("bad,match", [
    ((np.ones((2, 2), np.int64), np.ones((2, 2))), "a must have dtype"),
    ((np.ones((2, 2)), np.ones((2, 2), np.float16)), "b must have dtype"),
    ((np.ones(()), np.ones(2)), "a must have 1 to 3 dimensions"),
    ((np.ones((2, 2, 2, 2)), np.ones((2, 2))), "a must have 1 to 3 dimensions"),
    (([[1.0]], np.ones((1, 1))), "a must be an array on the CPU that exports DLPack"),
    ((np.ones((2, 2)), None), "b must be a numpy.ndarray"),
    ((np.ones((2, 3)), np.ones((2, 3))), "inner dimensions differ"),
    ((np.ones((3, 2, 3)), np.ones((4, 3, 2))), "batch sizes differ"),
])
def test_matmul_bad_input_raises_naming_the_argument(bad, match):
    with pytest.raises((TypeError, ValueError), match=match) as info:
        grimoire.matmul(*bad)
    assert info.type is (TypeError if any(w in match for w in ("dtype", "ndarray", "DLPack")) else ValueError)


def test_gemm_bad_input_raises_naming_the_argument():
    f32, f64 = np.ones((3, 3), np.float32), np.ones((3, 3), np.float64)
    with pytest.raises(TypeError, match="a and b must both be float32 or both float64"):
        grimoire.kernels.gemm(f32, f64)
    with pytest.raises(TypeError, match="a and b must both be float32"):
        grimoire.kernels.gemm(np.ones((3, 3), np.int32), np.ones((3, 3), np.int32))
    with pytest.raises(TypeError, match=r"a must be an array on the CPU that exports DLPack.*, got list"):
        grimoire.kernels.gemm([[1.0]], f32)
    with pytest.raises(TypeError, match="b must be an array on the CPU that exports DLPack"):
        grimoire.kernels.gemm(f32, 2.0)
    with pytest.raises(ValueError, match="a must have 2 to 3 dimensions, got 1"):
        grimoire.kernels.gemm(np.ones(3, np.float32), f32)
    with pytest.raises(ValueError, match="b must have 2 to 3 dimensions, got 4"):
        grimoire.kernels.gemm(f32, np.ones((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="inner dimensions differ"):
        grimoire.kernels.gemm(np.ones((3, 4), np.float32), f32)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        grimoire.kernels.gemm(np.ones((3, 4), np.float32), np.ones((4, 3), np.float32), trans_b=True)
    with pytest.raises(TypeError, match="c must have the dtype of a and b"):
        grimoire.kernels.gemm(f32, f32, f64)
    with pytest.raises(ValueError, match=r"c must have the shape of op\(a\) @ op\(b\) \(3, 3\), got"):
        grimoire.kernels.gemm(f32, f32, np.ones((3, 4), np.float32))
    with pytest.raises(TypeError, match="c must be an array on the CPU that exports DLPack"):
        grimoire.kernels.gemm(f32, f32, [[0.0]])
    read_only = np.zeros((3, 3), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="c must be writable"):
        grimoire.kernels.gemm(f32, f32, read_only)
    with pytest.raises(ValueError, match="batch sizes differ"):
        grimoire.kernels.gemm(np.ones((2, 3, 3), np.float32), np.ones((4, 3, 3), np.float32))


def test_byte_strided_view_of_another_dtype_is_refused():
    raw = np.zeros((4, 9), np.float32)
    odd = np.ndarray((4, 4), np.float32, raw, offset=2, strides=(36, 6))
    with pytest.raises(ValueError, match="not a multiple of its item size"):
        grimoire.kernels.gemm(odd, np.ones((4, 4), np.float32))


# --- dispatch, threads, the rest of the family --------------------------------------------------


def test_info_lists_the_gemm_paths():
    paths, in_use = _core.kernel_families()["gemm"]
    assert paths == ["scalar", "avx2", "avx512"]
    assert in_use == _core.active_isa()
    assert "gemm" in grimoire.info()


@pytest.mark.parametrize("forced", ["scalar", "avx2", "avx512"])
def test_grimoire_isa_environment_forces_the_path(forced):
    code = ("from grimoire import _core; print(_core.kernel_families()['gemm'][1], _core.detected_isa())")
    env = dict(os.environ, GRIMOIRE_ISA=forced, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    in_use, detected = out.stdout.split()
    order = ["scalar", "avx2", "avx512"]
    assert in_use == order[min(order.index(forced), order.index(detected))]


def test_callable_single_threaded_from_inside_a_parallel_caller(threads):
    """Python threads calling gemm at once (the GIL is released) each get their own buffers."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(13)
    pairs = [(random(rng, (70 + i, 90), np.float32), random(rng, (90, 50 + 3 * i), np.float32))
             for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda ab: grimoire.matmul(*ab), pairs))
    for (a, b), got in zip(pairs, results, strict=True):
        assert_accurate(got, a, b)


def test_fma_peak_is_positive_where_avx2_exists(isa):
    per_thread = _core.fma_peak_flops(100000, 1)
    assert len(per_thread) == 1
    if _core.kernel_families()["gemm"][1] == "scalar":
        assert per_thread == [0.0]
    else:
        assert per_thread[0] > 1e9  # any AVX2 core runs 8-lane FMAs faster than 1 GFLOP/s
    with pytest.raises(ValueError, match="threads must be >= 1"):
        _core.fma_peak_flops(10, 0)


# --- CUDA ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_threads_without_barriers_keep_their_packed_panels_apart(dtype):
    # A short last depth block (k = 257 after 256) and a narrow last column block used to move
    # the packed B panels of one thread onto those another was still computing with: a race that
    # gave wrong products only now and then, so the same shapes run many times.
    before = grimoire.get_num_threads()
    grimoire.set_num_threads(2)
    try:
        rng = np.random.default_rng(0)
        for m, n, k in [(17, 300, 257), (40, 5000, 300), (9, 200, 513)]:
            a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
            ref = a.astype(np.float64) @ b.astype(np.float64)
            tol = 64 * np.finfo(dtype).eps * np.sqrt(k) * np.abs(ref).max()
            for _ in range(30):
                np.testing.assert_allclose(grimoire.matmul(a, b), ref, rtol=0, atol=tol)
    finally:
        grimoire.set_num_threads(before)
