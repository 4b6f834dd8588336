"""grimoire.linalg against numpy.linalg / scipy.linalg / scipy.signal / scipy.spatial / sklearn."""

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
from grimoire import linalg as L
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

SIZES = st.sampled_from([1, 2, 3, 5, 7, 13])


# --- primer worked examples -------------------------------------------------------------------
def test_primer_222_determinant_and_dependence():
    a = [[1, 2], [2, 4]]
    assert L.det(a) == 0.0
    assert L.det_2x2(a) == 0.0
    dep = L.linear_dependence(a)
    assert not dep.independent and dep.rank == 1 and dep.dependent_rows == [1]
    np.testing.assert_allclose(dep.coefficients[1], [2.0])
    m = [[2, -3, 1], [2, 0, -1], [1, 4, 5]]
    assert L.det_sarrus(m) == pytest.approx(np.linalg.det(m), abs=1e-12)
    assert L.linear_dependence(np.eye(3)).independent


def test_primer_226_convolutions():
    np.testing.assert_array_equal(L.convolve([1, 2, 3, 4], [1, 0, -1]), [1, 2, 2, 2, -3, -4])
    m = np.zeros((4, 4))
    m[1:3, 1:3] = [[1, 2], [3, 4]]
    k = [[1, 0], [0, -1]]
    want = [[1, 2, 0], [3, 3, -2], [0, -3, -4]]
    np.testing.assert_array_equal(L.convolve2d(m, k), want)
    np.testing.assert_array_equal(L.convolve2d([[1, 2], [3, 4]], k, padding=1), want)
    np.testing.assert_array_equal(L.convolve2d([[1, 2], [3, 4]], k, mode="full"), want)
    # cross-correlation does not flip: it differs from convolution here
    assert not np.array_equal(L.correlate2d(m, k), want)


def test_products():
    a, b = np.array([[1.0, 2], [3, 4]]), np.array([[5.0, 6], [7, 8]])
    np.testing.assert_array_equal(L.add(a, b), [[6, 8], [10, 12]])
    np.testing.assert_array_equal(L.subtract(b, a), b - a)
    np.testing.assert_array_equal(L.scalar_multiply(3, a), 3 * a)
    np.testing.assert_array_equal(L.hadamard(a, b), a * b)
    assert L.dot([1, 2, 3], [4, 5, 6]) == 32.0
    m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    n = np.array([[1, 0, 2], [1, 2, 1], [0, 3, 2]])
    np.testing.assert_array_equal(L.matmul(m, n), [[3, 13, 10], [9, 28, 25], [15, 43, 40]])
    np.testing.assert_array_equal(L.kron(a, b), np.kron(a, b))
    np.testing.assert_array_equal(L.kron(np.ones((2, 3)), np.arange(4.0).reshape(1, 4)),
                                  np.kron(np.ones((2, 3)), np.arange(4.0).reshape(1, 4)))
    np.testing.assert_array_equal(L.transpose(m), m.T)
    with pytest.raises(ValueError, match="same shape"):
        L.add(a, np.ones(3))


@settings(max_examples=25, deadline=None)
@given(n=SIZES, seed=st.integers(0, 1000))
def test_det_inv_solve(n, seed):
    r = np.random.default_rng(seed)
    a = r.standard_normal((n, n)) + n * np.eye(n)
    assert L.det(a) == pytest.approx(np.linalg.det(a), rel=1e-10)
    np.testing.assert_allclose(L.inv(a), np.linalg.inv(a), rtol=1e-9, atol=1e-12)
    b = r.standard_normal((n, 2))
    np.testing.assert_allclose(L.solve(a, b), np.linalg.solve(a, b), rtol=1e-9, atol=1e-12)
    p, lo, u = L.lu(a)
    p2, l2, u2 = scipy.linalg.lu(a)
    np.testing.assert_allclose(p, p2)
    np.testing.assert_allclose(lo, l2, atol=1e-12)
    np.testing.assert_allclose(u, u2, atol=1e-12)


def test_lu_rectangular():
    r = np.random.default_rng(5)
    for shape in [(5, 3), (3, 5)]:
        a = r.standard_normal(shape)
        for ours, ref in zip(L.lu(a), scipy.linalg.lu(a), strict=True):
            np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_singular_and_bad_input():
    with pytest.raises(L.LinAlgError, match="singular"):
        L.inv([[1, 2], [2, 4]])
    with pytest.raises(L.LinAlgError):
        L.solve([[1, 2], [2, 4]], [1, 2])
    with pytest.raises(ValueError, match="square"):
        L.det(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        L.det([[np.nan, 1], [1, 1]])
    with pytest.raises(ValueError, match="2x2"):
        L.det_2x2(np.eye(3))
    with pytest.raises(ValueError, match="empty"):
        L.convolve([], [1])
    with pytest.raises(ValueError, match="mode"):
        L.convolve([1, 2], [1], mode="wide")
    with pytest.raises(ValueError, match="stride"):
        L.convolve2d(np.ones((3, 3)), np.ones((2, 2)), stride=0)
    with pytest.raises(TypeError):
        L.det(np.array([["a"]]))


@settings(max_examples=20, deadline=None)
@given(m=SIZES, n=SIZES, seed=st.integers(0, 1000), rank=st.integers(0, 3))
def test_rank(m, n, seed, rank):
    r = np.random.default_rng(seed)
    k = min(rank, m, n)
    a = r.standard_normal((m, k)) @ r.standard_normal((k, n))
    # Exact zeros of grimoire's SVD sit at a few eps * s_max, right at NumPy's default threshold
    # (see matrix_rank's docstring): compare at a tolerance clear of both libraries' floors.
    tol = 1e-10 * max(float(np.abs(a).max()), 1e-300) * max(m, n, 1)
    assert L.matrix_rank(a, tol=tol) == np.linalg.matrix_rank(a, tol=tol) == k


def test_rank_default_tolerance_is_numpys_rule():
    # Singular values 3, 2, 1e-13 (clear of the ~1e-15 floor): the default threshold,
    # 3 * eps * 3 ~ 2e-15, counts all three; an explicit tol above 1e-13 drops the last.
    u, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    a = u @ np.diag([3.0, 2.0, 1e-13]) @ u.T
    assert L.matrix_rank(a) == np.linalg.matrix_rank(a) == 3
    assert L.matrix_rank(a, tol=1e-12) == np.linalg.matrix_rank(a, tol=1e-12) == 2


@settings(max_examples=20, deadline=None)
@given(n=SIZES, seed=st.integers(0, 1000))
def test_eigh(n, seed):
    r = np.random.default_rng(seed)
    a = r.standard_normal((n, n))
    a = a + a.T
    w, v = L.eigh(a)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), atol=1e-10)
    np.testing.assert_allclose(a @ v, v * w, atol=1e-10)
    np.testing.assert_allclose(v.T @ v, np.eye(n), atol=1e-10)
    np.testing.assert_allclose(L.eigvalsh(a), w, atol=1e-12)


def test_eigh_degenerate_and_isa(isa):
    a = np.diag([2.0, 2.0, 1.0, 0.0])
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))
    b = q @ a @ q.T
    w, v = L.eigh(b)
    np.testing.assert_allclose(w, [0, 1, 2, 2], atol=1e-12)
    np.testing.assert_allclose(b @ v, v * w, atol=1e-12)
    c = np.random.default_rng(1).standard_normal((40, 40))
    c = c + c.T
    w, v = L.eigh(c)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(c), atol=1e-10)
    np.testing.assert_allclose(c @ v, v * w, atol=1e-10)


# --- the blocked paths (panels of 32 reflectors): sizes that cross the panel edges -----------------
BLOCKED = st.sampled_from([31, 32, 33, 63, 64, 65, 97, 130])
EPS = np.finfo(float).eps


def _eigh_errors(a, w, v):
    """LAPACK's accuracy measures: ||A V - V diag(w)||_F / ||A||_F and ||V^T V - I||_F."""
    scale = max(np.linalg.norm(a), 1e-300)
    return np.linalg.norm(a @ v - v * w) / scale, np.linalg.norm(v.T @ v - np.eye(len(w)))


@settings(max_examples=12, deadline=None)
@given(n=BLOCKED, seed=st.integers(0, 1000))
def test_eigh_blocked_at_lapack_accuracy(n, seed):
    a = np.random.default_rng(seed).standard_normal((n, n))
    a = a + a.T
    w, v = L.eigh(a)
    w_np, v_np = np.linalg.eigh(a)
    res, orth = _eigh_errors(a, w, v)
    res_np, orth_np = _eigh_errors(a, w_np, v_np)
    assert res <= 4 * n * EPS and orth <= 4 * n * EPS, (res, orth)
    assert res <= 20 * res_np + n * EPS and orth <= 20 * orth_np + n * EPS, (res, res_np, orth, orth_np)
    np.testing.assert_allclose(w, w_np, rtol=0, atol=8 * n * EPS * np.abs(w_np).max())


@settings(max_examples=12, deadline=None)
@given(m=BLOCKED, n=BLOCKED, seed=st.integers(0, 1000), full=st.booleans())
def test_svd_blocked_at_lapack_accuracy(m, n, seed, full):
    a = np.random.default_rng(seed).standard_normal((m, n))
    u, s, vh = L.svd(a, full_matrices=full)
    s_np = np.linalg.svd(a, compute_uv=False)
    k, big = min(m, n), max(m, n)
    assert u.shape == ((m, m) if full else (m, k)) and vh.shape == ((n, n) if full else (k, n))
    norm = np.linalg.norm(a)
    assert np.linalg.norm(a - (u[:, :k] * s) @ vh[:k]) <= 4 * big * EPS * norm
    assert np.linalg.norm(u.T @ u - np.eye(u.shape[1])) <= 4 * big * EPS
    assert np.linalg.norm(vh @ vh.T - np.eye(vh.shape[0])) <= 4 * big * EPS
    np.testing.assert_allclose(s, s_np, rtol=0, atol=8 * big * EPS * s_np[0])
    assert np.all(np.diff(s) <= 0) and np.all(s >= 0)
    np.testing.assert_allclose(L.svd(a, compute_uv=False), s, rtol=0, atol=8 * big * EPS * s_np[0])


def test_eigh_blocked_repeated_eigenvalues_and_scale(isa):
    q, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((70, 70)))
    lam = np.r_[np.full(40, 1.0), np.full(29, 2.0), 0.0]
    a = (q * lam) @ q.T
    a = 0.5 * (a + a.T)
    w, v = L.eigh(a)
    np.testing.assert_allclose(w, np.sort(lam), atol=1e-13)
    res, orth = _eigh_errors(a, w, v)
    assert res <= 4 * 70 * EPS and orth <= 4 * 70 * EPS, (res, orth)
    for scale in (1e-200, 1e200):  # squares of the entries under/overflow: scaled paths
        ws, vs = L.eigh(a * scale)
        np.testing.assert_allclose(ws / scale, w, atol=1e-12)
        assert _eigh_errors(a, ws / scale, vs)[0] <= 4 * 70 * EPS
    w0, v0 = L.eigh(np.zeros((40, 40)))
    assert np.all(w0 == 0) and np.allclose(v0.T @ v0, np.eye(40))


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_only_the_uplo_triangle(uplo):
    r = np.random.default_rng(7)
    a = r.standard_normal((70, 70))  # not symmetric: the other triangle must be ignored
    w, v = L.eigh(a, UPLO=uplo)
    w_np = np.linalg.eigvalsh(a, UPLO=uplo)
    np.testing.assert_allclose(w, w_np, atol=1e-12)
    np.testing.assert_allclose(L.eigvalsh(a, UPLO=uplo), w_np, atol=1e-12)
    tri = np.tril(a) if uplo == "L" else np.triu(a)
    sym = tri + tri.T - np.diag(np.diag(a))
    assert _eigh_errors(sym, w, v)[0] <= 4 * 70 * EPS
    with pytest.raises(ValueError, match="UPLO"):
        L.eigvalsh(a, UPLO="X")


def test_svd_blocked_rank_deficient_zero_and_scale(isa):
    r = np.random.default_rng(5)
    a = r.standard_normal((100, 10)) @ r.standard_normal((10, 70))  # rank 10 of 70
    u, s, vh = L.svd(a)
    s_np = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(s, s_np, atol=1e-12 * s_np[0])
    assert np.all(s[10:] <= 1e-13 * s[0])
    np.testing.assert_allclose(u.T @ u, np.eye(100), atol=1e-13)
    np.testing.assert_allclose(vh @ vh.T, np.eye(70), atol=1e-13)
    np.testing.assert_allclose((u[:, :70] * s) @ vh, a, atol=1e-12 * s_np[0])
    for scale in (1e-200, 1e200):
        np.testing.assert_allclose(L.svd(a * scale, compute_uv=False) / scale, s, atol=1e-12 * s[0])
    u0, s0, vh0 = L.svd(np.zeros((45, 40)))
    assert np.all(s0 == 0)
    np.testing.assert_allclose(u0.T @ u0, np.eye(45), atol=1e-14)
    np.testing.assert_allclose(vh0 @ vh0.T, np.eye(40), atol=1e-14)


def test_svd_zero_on_the_bidiagonal(isa):
    """Zero diagonal entries of the bidiagonal are chased out (rows by left rotations, the last
    column by right ones) before any QR step: an upper bidiagonal input with zeros in its middle
    and at its end, plus zero columns (reflectors that are the identity)."""
    n = 50
    r = np.random.default_rng(6)
    b = np.diag(r.standard_normal(n)) + np.diag(r.standard_normal(n - 1), 1)
    b[10, 10] = b[n - 1, n - 1] = b[25, 25] = 0.0
    c = r.standard_normal((60, 40))
    c[:, [0, 7, 39]] = 0.0
    for a in (b, c):
        u, s, vh = L.svd(a)
        s_np = np.linalg.svd(a, compute_uv=False)
        np.testing.assert_allclose(s, s_np, atol=1e-13 * s_np[0])
        np.testing.assert_allclose((u[:, :len(s)] * s) @ vh[:len(s)], a, atol=1e-13 * s_np[0])
        np.testing.assert_allclose(u.T @ u, np.eye(u.shape[0]), atol=1e-13)


@settings(max_examples=20, deadline=None)
@given(n=SIZES, seed=st.integers(0, 1000))
def test_eig_general(n, seed):
    r = np.random.default_rng(seed)
    a = r.standard_normal((n, n))
    lam, vec = L.eig(a)
    key = lambda z: (round(z.real, 6), round(z.imag, 6))  # noqa: E731
    np.testing.assert_allclose(sorted(lam.astype(complex), key=key),
                               sorted(np.linalg.eigvals(a), key=key), atol=1e-8)
    np.testing.assert_allclose(a @ vec, vec * lam, atol=1e-7)


def test_eig_rotation_is_complex():
    lam = L.eigvals([[0, -1], [1, 0]])
    np.testing.assert_allclose(sorted(lam, key=lambda z: z.imag), [-1j, 1j], atol=1e-14)
    lam, vec = L.eig([[2, 0], [0, 3]])
    assert lam.dtype == np.float64
    np.testing.assert_allclose(sorted(lam), [2, 3])


@settings(max_examples=25, deadline=None)
@given(m=SIZES, n=SIZES, seed=st.integers(0, 1000), full=st.booleans())
def test_svd(m, n, seed, full):
    r = np.random.default_rng(seed)
    a = r.standard_normal((m, n))
    u, s, vh = L.svd(a, full_matrices=full)
    u2, s2, vh2 = np.linalg.svd(a, full_matrices=full)
    assert u.shape == u2.shape and vh.shape == vh2.shape
    np.testing.assert_allclose(s, s2, rtol=1e-10, atol=1e-12)
    k = min(m, n)
    np.testing.assert_allclose((u[:, :k] * s) @ vh[:k], a, atol=1e-10)
    np.testing.assert_allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-10)
    np.testing.assert_allclose(vh @ vh.T, np.eye(vh.shape[0]), atol=1e-10)
    np.testing.assert_allclose(L.svd(a, compute_uv=False), s2, rtol=1e-10, atol=1e-12)


def test_svd_rank_deficient_and_low_rank(isa):
    r = np.random.default_rng(3)
    a = r.standard_normal((30, 4)) @ r.standard_normal((4, 20))
    u, s, vh = L.svd(a)
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-10)
    np.testing.assert_allclose(u.T @ u, np.eye(30), atol=1e-10)
    np.testing.assert_allclose((u[:, :20] * s) @ vh, a, atol=1e-10)
    b = r.standard_normal((12, 9))
    u2, s2, vh2 = np.linalg.svd(b)
    for k in (0, 1, 4, 9):
        np.testing.assert_allclose(L.low_rank_approximation(b, k), (u2[:, :k] * s2[:k]) @ vh2[:k], atol=1e-10)
    with pytest.raises(ValueError, match="k must be"):
        L.low_rank_approximation(b, 10)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 9), m=st.integers(1, 9), mode=st.sampled_from(["full", "same", "valid"]),
       seed=st.integers(0, 1000))
def test_convolve_1d(n, m, mode, seed):
    r = np.random.default_rng(seed)
    a, v = r.standard_normal(n), r.standard_normal(m)
    np.testing.assert_allclose(L.convolve(a, v, mode), np.convolve(a, v, mode), atol=1e-12)
    np.testing.assert_allclose(L.correlate(a, v, mode), np.correlate(a, v, mode), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), kh=st.integers(1, 4), kw=st.integers(1, 4),
       mode=st.sampled_from(["full", "same", "valid"]), seed=st.integers(0, 1000))
def test_convolve_2d(h, w, kh, kw, mode, seed):
    r = np.random.default_rng(seed)
    x, k = r.standard_normal((h, w)), r.standard_normal((kh, kw))
    if mode == "valid" and (kh > h or kw > w):
        with pytest.raises(ValueError, match="valid"):
            L.convolve2d(x, k, mode)
        return
    np.testing.assert_allclose(L.convolve2d(x, k, mode), scipy.signal.convolve2d(x, k, mode), atol=1e-12)
    np.testing.assert_allclose(L.correlate2d(x, k, mode), scipy.signal.correlate2d(x, k, mode), atol=1e-12)


def test_convolve_2d_stride_padding():
    # padding then stride == scipy on the zero-padded input, every s-th output (torch's conv2d
    # layout; torch itself is not imported here to keep the suite fast)
    r = np.random.default_rng(0)
    x, k = r.standard_normal((9, 8)), r.standard_normal((3, 2))
    for (sh, sw), (ph, pw) in [((1, 1), (0, 0)), ((2, 2), (1, 1)), ((2, 3), (0, 2))]:
        xp = np.pad(x, ((ph, ph), (pw, pw)))
        want = scipy.signal.correlate2d(xp, k, "valid")[::sh, ::sw]
        np.testing.assert_allclose(L.correlate2d(x, k, stride=(sh, sw), padding=(ph, pw)), want, atol=1e-12)
        want = scipy.signal.convolve2d(xp, k, "valid")[::sh, ::sw]
        np.testing.assert_allclose(L.convolve2d(x, k, stride=(sh, sw), padding=(ph, pw)), want, atol=1e-12)


def test_vector_distances():
    assert L.euclidean([0, 0], [3, 4]) == 5.0
    assert L.cosine_similarity([1, 0], [0, 1]) == 0.0
    assert L.cosine_similarity([1, 1], [2, 2]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="zero vector"):
        L.cosine_similarity([0, 0], [1, 1])


@settings(max_examples=30, deadline=None)
@given(m=st.sampled_from([0, 1, 5, 6, 7, 13, 31]), n=st.sampled_from([0, 1, 15, 16, 17, 33]),
       k=st.sampled_from([0, 1, 3, 8, 17]), metric=st.sampled_from(["euclidean", "sqeuclidean", "cosine"]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 100))
def test_pairwise_distances(m, n, k, metric, dtype, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal((m, k)).astype(dtype)
    y = r.standard_normal((n, k)).astype(dtype)
    got = L.pairwise_distances(x, y, metric)
    assert got.dtype == dtype and got.shape == (m, n)
    if m == 0 or n == 0:
        return
    if k == 0:  # empty vectors: distance 0, and cosine treats them as zero vectors (distance 1)
        np.testing.assert_array_equal(got, 1.0 if metric == "cosine" else 0.0)
        return
    if metric == "cosine":
        from sklearn.metrics.pairwise import cosine_distances
        want = cosine_distances(x.astype(np.float64), y.astype(np.float64))
    else:
        want = cdist(x.astype(np.float64), y.astype(np.float64), metric)
    tol = 1e-5 * max(k, 1) if dtype == np.float32 else 1e-10 * max(k, 1)
    np.testing.assert_allclose(got, want, atol=tol if metric != "euclidean" else np.sqrt(tol))


def test_pairwise_distances_each_isa(isa):
    r = np.random.default_rng(0)
    x = r.standard_normal((50, 37)).astype(np.float32)
    y = r.standard_normal((45, 37)).astype(np.float32)[::2]  # strided rows
    for metric in ("euclidean", "sqeuclidean", "cosine"):
        want = cdist(x.astype(np.float64), y.astype(np.float64), metric)
        tol = 2e-3 if metric == "euclidean" else 1e-4 * 37
        np.testing.assert_allclose(L.pairwise_distances(x, y, metric), want, atol=tol)
    d = L.pairwise_distances(x)
    assert np.all(np.diag(d) == 0) and np.all(d >= 0)
    sim = L.cosine_similarity(x)
    np.testing.assert_allclose(np.diag(sim), 1.0)
    # zero rows: scikit-learn's convention (norm taken as 1, distance 1 to everything)
    z = np.zeros((2, 37), np.float32)
    np.testing.assert_allclose(L.pairwise_distances(z, x, "cosine"), 1.0)


def test_pairwise_distances_bad_input():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="columns"):
        L.pairwise_distances(x, np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match="metric"):
        L.pairwise_distances(x, x, "manhattan")
    with pytest.raises(ValueError, match="NaN"):
        L.pairwise_distances(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        L.pairwise_distances(np.ones(3))
    # mixed dtypes go to float64
    assert L.pairwise_distances(x, np.ones((2, 4))).dtype == np.float64
