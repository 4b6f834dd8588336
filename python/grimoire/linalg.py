"""``grimoire.linalg``: the linear algebra of primer 2.2, computed.

Names and signatures follow NumPy/SciPy (``det``, ``inv``, ``solve``, ``matrix_rank``, ``eig``,
``eigh``, ``svd``, ``kron``, ``convolve``, ``convolve2d``) so habits carry over; the primer's own
teaching forms (:func:`det_2x2`, :func:`det_sarrus`, :func:`linear_dependence`) sit beside them.

Where the work is O(n^3) it runs in the C++ core: the matrix product on the core's GEMM
(:func:`grimoire.matmul`), the symmetric eigensolver (blocked Householder tridiagonalisation +
implicit QL) and the SVD (blocked Householder bidiagonalisation + Golub-Kahan QR), both in
``cpp/src/linalg.cpp`` with their reductions on the GEMM, and the pairwise
distances (``cpp/src/distance*.cpp``). LU with partial pivoting and the Hessenberg QR algorithm
for general matrices are written here, row operations vectorised with NumPy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._matmul import matmul as _matmul

__all__ = [
    "add", "subtract", "scalar_multiply", "hadamard", "dot", "matmul", "kron", "transpose",
    "det", "det_2x2", "det_sarrus", "lu", "inv", "solve", "matrix_rank", "linear_dependence",
    "LinearDependence", "eigh", "eigvalsh", "eig", "eigvals", "svd", "low_rank_approximation",
    "convolve", "correlate", "convolve2d", "correlate2d", "euclidean", "cosine_similarity",
    "pairwise_distances", "LinAlgError",
]


class LinAlgError(ValueError):
    """A matrix the operation cannot handle (singular for ``inv``/``solve``, not converged)."""


def _array(a, name: str, ndim: int | None = None, square: bool = False,
           allow_complex: bool = False) -> np.ndarray:
    """``a`` as a float64 (or complex128) array, checked: finite, the right shape."""
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        if not allow_complex:
            raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
        arr = arr.astype(np.complex128)
    else:
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if square and (arr.ndim != 2 or arr.shape[0] != arr.shape[1]):
        raise ValueError(f"{name} must be a square matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


# ---------------------------------------------------------------------------------------------
# 2.2.1 element-wise operations and products
# ---------------------------------------------------------------------------------------------
def _same_shape(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Element-wise sum ``(A + B)_ij = a_ij + b_ij``; shapes must match (no broadcasting)."""
    a, b = _same_shape(a, b)
    return a + b


def subtract(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Element-wise difference ``(A - B)_ij = a_ij - b_ij``; shapes must match."""
    a, b = _same_shape(a, b)
    return a - b


def scalar_multiply(c: float, a: ArrayLike) -> np.ndarray:
    """Scalar multiplication ``(cA)_ij = c a_ij``."""
    return c * np.asarray(a)


def hadamard(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Hadamard (element-wise) product ``(A o B)_ij = a_ij b_ij``; shapes must match."""
    a, b = _same_shape(a, b)
    return a * b


def dot(x: ArrayLike, y: ArrayLike) -> float:
    """Dot product of two vectors, ``x . y = sum_i x_i y_i`` (on the core GEMM)."""
    x, y = _array(x, "x", ndim=1), _array(y, "y", ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    return float(_matmul(x, y))


def matmul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Matrix product ``C_ij = sum_k A_ik B_kj`` (2-D) or a batch of them (3-D): the core GEMM.

    Lists and integer arrays are converted to float64 first; float32/float64 arrays are used as
    they are (see :func:`grimoire.matmul`).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if b.dtype not in (np.float32, np.float64):
        b = b.astype(np.float64)
    return _matmul(a, b)


def kron(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Kronecker product: the (m p, n q) block matrix whose block (i, j) is ``a_ij B``."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"kron takes two 2-D arrays, got shapes {a.shape} and {b.shape}")
    m, n = a.shape
    p, q = b.shape
    return (a[:, None, :, None] * b[None, :, None, :]).reshape(m * p, n * q)


def transpose(a: ArrayLike) -> np.ndarray:
    """Transpose ``(A^T)_ij = a_ji`` (a view, no copy)."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"transpose takes a 2-D array, got shape {a.shape}")
    return a.T


# ---------------------------------------------------------------------------------------------
# 2.2.2 determinants, LU, inverse, rank, linear dependence
# ---------------------------------------------------------------------------------------------
def det_2x2(a: ArrayLike) -> float:
    """The primer's 2x2 determinant, ``det [[a, b], [c, d]] = ad - bc``."""
    a = _array(a, "a", square=True)
    if a.shape != (2, 2):
        raise ValueError(f"det_2x2 takes a 2x2 matrix, got shape {a.shape}")
    return float(a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0])


def det_sarrus(a: ArrayLike) -> float:
    """The primer's 3x3 rule: ``a(ei - fh) - b(di - fg) + c(dh - eg)``."""
    m = _array(a, "a", square=True)
    if m.shape != (3, 3):
        raise ValueError(f"det_sarrus takes a 3x3 matrix, got shape {m.shape}")
    (a_, b, c), (d, e, f), (g, h, i) = m
    return float(a_ * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g))


def lu(a: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LU factorisation with partial pivoting, ``A = P @ L @ U`` (``scipy.linalg.lu``'s layout).

    Column by column, the row with the largest |a_ik| is swapped to the pivot, and the entries
    below are eliminated: ``l_ik = a_ik / a_kk``. L is unit lower triangular, U upper triangular.
    """
    a = _array(a, "a", ndim=2)
    m, n = a.shape
    u = a.copy()
    perm = np.arange(m)
    lower = np.eye(m)
    for k in range(min(m, n)):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if p != k:
            u[[k, p]] = u[[p, k]]
            perm[[k, p]] = perm[[p, k]]
            lower[[k, p], :k] = lower[[p, k], :k]
        if u[k, k] != 0:
            f = u[k + 1:, k] / u[k, k]
            lower[k + 1:, k] = f
            u[k + 1:, k:] -= np.outer(f, u[k, k:])
            u[k + 1:, k] = 0.0
    pmat = np.zeros((m, m))
    pmat[perm, np.arange(m)] = 1.0
    k = min(m, n)
    return pmat, lower[:, :k], u[:k]


def _lu_packed(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """In-place style LU of a square matrix: (LU packed, permutation, number of swaps)."""
    n = a.shape[0]
    lu_ = a.copy()
    perm = np.arange(n)
    swaps = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(lu_[k:, k])))
        if p != k:
            lu_[[k, p]] = lu_[[p, k]]
            perm[[k, p]] = perm[[p, k]]
            swaps += 1
        if lu_[k, k] != 0:
            lu_[k + 1:, k] /= lu_[k, k]
            lu_[k + 1:, k + 1:] -= np.outer(lu_[k + 1:, k], lu_[k, k + 1:])
    return lu_, perm, swaps


def det(a: ArrayLike) -> float:
    """Determinant by LU with partial pivoting: ``det A = (-1)^swaps prod_k u_kk``.

    Exact on small integer matrices where no rounding occurs (primer 2.2.2:
    ``det [[1, 2], [2, 4]] = 0``).
    """
    a = _array(a, "a", square=True)
    if a.shape[0] == 0:
        return 1.0
    lu_, _, swaps = _lu_packed(a)
    return float((-1) ** swaps * np.prod(np.diag(lu_))) + 0.0  # + 0.0: no "-0.0" for singular


def _lu_solve(lu_: np.ndarray, perm: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = lu_.shape[0]
    y = b[perm].astype(np.result_type(lu_, b), copy=True)
    for i in range(n):  # forward: L y = P b (unit diagonal)
        y[i] -= lu_[i, :i] @ y[:i]
    for i in range(n - 1, -1, -1):  # back: U x = y
        y[i] = (y[i] - lu_[i, i + 1:] @ y[i + 1:]) / lu_[i, i]
    return y


def _check_nonsingular(lu_: np.ndarray, what: str) -> None:
    d = np.abs(np.diag(lu_))
    scale = max(float(np.max(np.abs(lu_))), 1e-300) if lu_.size else 1.0
    if lu_.size and float(np.min(d)) <= lu_.shape[0] * np.finfo(float).eps * scale:
        raise LinAlgError(f"{what}: the matrix is singular (a pivot is zero to rounding)")


def solve(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Solve ``A x = b`` by LU with partial pivoting; b is (n,) or (n, k)."""
    a = _array(a, "a", square=True)
    b = _array(b, "b")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"b must be ({a.shape[0]},) or ({a.shape[0]}, k), got {b.shape}")
    lu_, perm, _ = _lu_packed(a)
    _check_nonsingular(lu_, "solve")
    return _lu_solve(lu_, perm, b)


def inv(a: ArrayLike) -> np.ndarray:
    """Inverse ``A^{-1}``, the solution of ``A X = I`` (raises LinAlgError when singular)."""
    a = _array(a, "a", square=True)
    lu_, perm, _ = _lu_packed(a)
    _check_nonsingular(lu_, "inv")
    return _lu_solve(lu_, perm, np.eye(a.shape[0]))


def matrix_rank(a: ArrayLike, tol: float | None = None) -> int:
    """Rank: the number of singular values above ``tol`` (default ``max(m, n) * eps * s_max``,
    NumPy's rule).

    Exactly zero singular values come out of :func:`svd` at up to ~4-6 eps * s_max (LAPACK's
    land nearer 1 eps), which is at NumPy's default threshold for small matrices: for an exactly
    rank-deficient matrix pass a ``tol`` above that floor (say ``1e-10 * s_max``).
    """
    a = _array(a, "a", ndim=2)
    if a.size == 0:
        return 0
    s = svd(a, compute_uv=False)
    if tol is None:
        tol = float(s.max()) * max(a.shape) * np.finfo(float).eps
    return int(np.sum(s > tol))


class LinearDependence(NamedTuple):
    independent: bool
    rank: int
    dependent_rows: list[int]  # rows that are combinations of the rows before them
    coefficients: dict[int, np.ndarray]  # row i = coefficients[i] @ (the independent rows before it)


def linear_dependence(a: ArrayLike, tol: float | None = None) -> LinearDependence:
    """Which rows of ``A`` are linearly dependent (primer 2.2.2).

    Rows are taken in order; row i is *dependent* when it is a combination
    ``v_i = sum_j c_j v_j`` of the independent rows before it (checked by least squares on
    the rank). For ``[[1, 2], [2, 4]]``: row 1 = 2 * row 0, so ``dependent_rows == [1]``.
    """
    a = _array(a, "a", ndim=2)
    basis: list[int] = []
    dependent: list[int] = []
    coefs: dict[int, np.ndarray] = {}
    for i in range(a.shape[0]):
        cand = basis + [i]
        if matrix_rank(a[cand], tol) == len(cand):
            basis.append(i)
        else:
            dependent.append(i)
            if basis:
                b = a[basis]
                coefs[i] = solve(b @ b.T, b @ a[i])
            else:
                coefs[i] = np.zeros(0)
    return LinearDependence(not dependent, len(basis), dependent, coefs)


# ---------------------------------------------------------------------------------------------
# 2.2.4 eigenvalues, 2.2.5 SVD
# ---------------------------------------------------------------------------------------------
def eigh(a: ArrayLike, UPLO: str = "L") -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix, ``A v = lambda v``.

    Blocked Householder reduction to tridiagonal form ``T = Q^T A Q`` (panels of reflectors, the
    trailing update ``A -= V W^T + W V^T`` on the GEMM), Q formed blockwise in WY form, then the
    implicit QL iteration with Wilkinson shifts on T, its rotations applied blockwise to Q (C++
    core). Residual ``||A V - V diag(w)|| / ||A||`` and ``||V^T V - I||`` are ~n eps, as LAPACK's.
    Only the ``UPLO`` triangle is read, as in :func:`numpy.linalg.eigh`.
    """
    a = _array(a, "a", square=True)
    if UPLO not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', got {UPLO!r}")
    # the core reads the lower triangle of its (fresh: _array copied) C-contiguous argument
    w, z = _core.eigh_symmetric(np.ascontiguousarray(a if UPLO == "L" else a.T), True)
    return w, z


def eigvalsh(a: ArrayLike, UPLO: str = "L") -> np.ndarray:
    """Eigenvalues of a symmetric matrix, ascending."""
    a = _array(a, "a", square=True)
    if UPLO not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', got {UPLO!r}")
    return _core.eigh_symmetric(np.ascontiguousarray(a if UPLO == "L" else a.T), False)[0]


def _hessenberg(a: np.ndarray) -> np.ndarray:
    """Householder reduction to upper Hessenberg form ``H = Q^T A Q`` (same eigenvalues)."""
    h = a.copy()
    n = h.shape[0]
    for k in range(n - 2):
        x = h[k + 1:, k].copy()
        nx = np.linalg.norm(x)
        if nx == 0:
            continue
        v = x
        v[0] += np.copysign(nx, x[0])
        v /= np.linalg.norm(v)
        h[k + 1:, k:] -= 2.0 * np.outer(v, v @ h[k + 1:, k:])
        h[:, k + 1:] -= 2.0 * np.outer(h[:, k + 1:] @ v, v)
    return h


def _hqr(h: np.ndarray, max_iter: int = 60) -> np.ndarray:
    """Eigenvalues of an upper Hessenberg matrix by the Francis double-shift QR algorithm
    (the classical ``hqr``): deflate 1x1 and 2x2 blocks from the bottom; 2x2 blocks with
    complex eigenvalues give conjugate pairs."""
    a = h.copy()
    n = a.shape[0]
    wr = np.zeros(n)
    wi = np.zeros(n)
    anorm = np.sum(np.abs(a))
    nn = n - 1
    t = 0.0
    while nn >= 0:
        its = 0
        while True:
            l_ = nn
            while l_ >= 1:
                s = abs(a[l_ - 1, l_ - 1]) + abs(a[l_, l_])
                if s == 0.0:
                    s = anorm
                if abs(a[l_, l_ - 1]) + s == s:
                    a[l_, l_ - 1] = 0.0
                    break
                l_ -= 1
            x = a[nn, nn]
            if l_ == nn:
                wr[nn] = x + t
                nn -= 1
                break
            y = a[nn - 1, nn - 1]
            w = a[nn, nn - 1] * a[nn - 1, nn]
            if l_ == nn - 1:
                p = 0.5 * (y - x)
                q = p * p + w
                z = np.sqrt(abs(q))
                x += t
                if q >= 0.0:
                    z = p + np.copysign(z, p)
                    wr[nn - 1] = wr[nn] = x + z
                    if z != 0:
                        wr[nn] = x - w / z
                else:
                    wr[nn - 1] = wr[nn] = x + p
                    wi[nn - 1] = -z
                    wi[nn] = z
                nn -= 2
                break
            if its == max_iter:
                raise LinAlgError("eig: the QR iteration did not converge")
            if its in (10, 20):  # exceptional shift
                t += x
                for i in range(nn + 1):
                    a[i, i] -= x
                s = abs(a[nn, nn - 1]) + abs(a[nn - 1, nn - 2])
                y = x = 0.75 * s
                w = -0.4375 * s * s
            its += 1
            m = nn - 2
            while m >= l_:
                z = a[m, m]
                r = x - z
                s = y - z
                p = (r * s - w) / a[m + 1, m] + a[m, m + 1]
                q = a[m + 1, m + 1] - z - r - s
                r = a[m + 2, m + 1]
                s = abs(p) + abs(q) + abs(r)
                p, q, r = p / s, q / s, r / s
                if m == l_:
                    break
                u = abs(a[m, m - 1]) * (abs(q) + abs(r))
                v = abs(p) * (abs(a[m - 1, m - 1]) + abs(z) + abs(a[m + 1, m + 1]))
                if u + v == v:
                    break
                m -= 1
            for i in range(m + 2, nn + 1):
                a[i, i - 2] = 0.0
                if i != m + 2:
                    a[i, i - 3] = 0.0
            k = m
            while k <= nn - 1:
                if k != m:
                    p = a[k, k - 1]
                    q = a[k + 1, k - 1]
                    r = a[k + 2, k - 1] if k != nn - 1 else 0.0
                    x = abs(p) + abs(q) + abs(r)
                    if x != 0.0:
                        p, q, r = p / x, q / x, r / x
                s = np.copysign(np.sqrt(p * p + q * q + r * r), p)
                if s != 0.0:
                    if k == m:
                        if l_ != m:
                            a[k, k - 1] = -a[k, k - 1]
                    else:
                        a[k, k - 1] = -s * x
                    p += s
                    x, y, z = p / s, q / s, r / s
                    q, r = q / p, r / p
                    for j in range(k, nn + 1):  # row modification
                        p = a[k, j] + q * a[k + 1, j]
                        if k != nn - 1:
                            p += r * a[k + 2, j]
                            a[k + 2, j] -= p * z
                        a[k + 1, j] -= p * y
                        a[k, j] -= p * x
                    mmin = nn if nn < k + 3 else k + 3
                    for i in range(l_, mmin + 1):  # column modification
                        p = x * a[i, k] + y * a[i, k + 1]
                        if k != nn - 1:
                            p += z * a[i, k + 2]
                            a[i, k + 2] -= p * r
                        a[i, k + 1] -= p * q
                        a[i, k] -= p
                k += 1
    return wr + 1j * wi


def eigvals(a: ArrayLike) -> np.ndarray:
    """Eigenvalues of a general real square matrix (complex where they come in pairs)."""
    a = _array(a, "a", square=True)
    if a.shape[0] == 0:
        return np.zeros(0)
    lam = _hqr(_hessenberg(a))
    return lam.real.copy() if np.all(lam.imag == 0) else lam


def eig(a: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and right eigenvectors of a general real matrix, ``A v = lambda v``.

    Hessenberg reduction and the Francis double-shift QR algorithm give the eigenvalues;
    each eigenvector is then found by inverse iteration, ``(A - lambda I) x_{k+1} = x_k``,
    normalised to unit length. Complex eigenvalues come as conjugate pairs with complex
    eigenvectors (the result is real when every eigenvalue is).
    """
    a = _array(a, "a", square=True)
    n = a.shape[0]
    lam = eigvals(a)
    vecs = np.zeros((n, n), dtype=np.complex128)
    scale = max(float(np.max(np.abs(a))), 1.0) if n else 1.0
    rng = np.random.default_rng(0)
    for i, li in enumerate(lam):
        shifted = a.astype(np.complex128) - (li + 1e-10 * scale) * np.eye(n)
        lu_, perm, _ = _lu_packed(shifted)
        d = np.diag(lu_).copy()
        tiny = np.abs(d) < 1e-14 * scale
        d[tiny] = 1e-14 * scale
        lu_[np.diag_indices(n)] = d
        x = rng.standard_normal(n) + 0j
        for _ in range(3):
            x = _lu_solve(lu_, perm, x)
            x /= np.linalg.norm(x)
        k = int(np.argmax(np.abs(x)))  # fix the phase: largest entry real positive
        x *= np.conj(x[k]) / abs(x[k])
        vecs[:, i] = x
    if np.isrealobj(lam):
        return lam, vecs.real.copy()
    return lam, vecs


def svd(a: ArrayLike, full_matrices: bool = True,
        compute_uv: bool = True) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Singular value decomposition ``A = U diag(s) V^T`` (NumPy's signature and layout: returns
    ``U, s, Vh`` with s descending, or only ``s``).

    LAPACK's route, in the C++ core: blocked Householder bidiagonalisation ``A = Q B P^T`` (B
    upper bidiagonal; panels of reflectors, the trailing update ``A -= U Y^T + X P^T`` on the
    GEMM), then the implicit-shift Golub-Kahan QR iteration on ``B = U_B diag(s) V_B^T``, whose
    plane rotations are applied blockwise to Q and P: ``U = Q U_B``, ``V = P V_B``. Backward
    stable: the computed factors are exact for ``A + E`` with ``||E|| ~ n eps ||A||``. A wide
    matrix is decomposed through its transpose.
    """
    a = _array(a, "a", ndim=2)
    m, n = a.shape
    if m < n:
        res = svd(a.T, full_matrices=full_matrices, compute_uv=compute_uv)
        if not compute_uv:
            return res
        u, s, vh = res
        return vh.T, s, u.T
    # _array's astype made a fresh copy: the core may overwrite it
    u, s, vt = _core.svd_bidiagonal(np.ascontiguousarray(a), compute_uv, full_matrices)
    if not compute_uv:
        return s
    return u, s, vt


def low_rank_approximation(a: ArrayLike, k: int) -> np.ndarray:
    """Best rank-k approximation (Eckart-Young): ``A_k = sum_{i<k} s_i u_i v_i^T``."""
    a = _array(a, "a", ndim=2)
    if not 0 <= k <= min(a.shape):
        raise ValueError(f"k must be in [0, {min(a.shape)}], got {k}")
    u, s, vh = svd(a, full_matrices=False)
    return (u[:, :k] * s[:k]) @ vh[:k]


# ---------------------------------------------------------------------------------------------
# 2.2.6 convolution ("flip and slide") and cross-correlation ("slide")
# ---------------------------------------------------------------------------------------------
_MODES = ("full", "same", "valid")


def correlate(a: ArrayLike, v: ArrayLike, mode: str = "valid") -> np.ndarray:
    """1-D cross-correlation, ``c_k = sum_n a_{n+k} v_n`` (no flip: what CNN layers compute),
    NumPy's ``correlate`` (default mode ``"valid"``)."""
    a, v = _array(a, "a", ndim=1), _array(v, "v", ndim=1)
    if v.size > a.size:  # NumPy's rule: swap the operands and reverse the result
        return convolve(v, a[::-1], mode)[::-1].copy()
    return convolve(a, v[::-1], mode)


def convolve(a: ArrayLike, v: ArrayLike, mode: str = "full") -> np.ndarray:
    """True 1-D convolution, ``(a * v)_k = sum_n a_n v_{k-n}``: flip ``v`` and slide it.

    Modes as in :func:`numpy.convolve`: ``"full"`` (length N+M-1), ``"same"`` (length
    max(N, M), centred), ``"valid"`` (length max(N, M) - min(N, M) + 1). Primer 2.2.6:
    ``convolve([1, 2, 3, 4], [1, 0, -1]) = [1, 2, 2, 2, -3, -4]``.
    """
    a, v = _array(a, "a", ndim=1), _array(v, "v", ndim=1)
    if a.size == 0 or v.size == 0:
        raise ValueError("convolve: a and v must not be empty")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if v.size > a.size:
        a, v = v, a
    n, m = a.size, v.size
    padded = np.concatenate([np.zeros(m - 1), a, np.zeros(m - 1)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, m)  # (n + m - 1, m)
    full = windows @ v[::-1]
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return full[start:start + n]
    return full[m - 1:n]


def _pair(x, name: str) -> tuple[int, int]:
    if isinstance(x, int | np.integer):
        return int(x), int(x)
    t = tuple(int(i) for i in x)
    if len(t) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {x!r}")
    return t


def correlate2d(in1: ArrayLike, in2: ArrayLike, mode: str = "valid", stride: int | tuple[int, int] = 1,
                padding: int | tuple[int, int] = 0) -> np.ndarray:
    """2-D cross-correlation, ``C[i, j] = sum_{u,v} X[i s + u, j s + v] K[u, v]`` (no flip).

    This is what a CNN's "convolution" layer computes. ``padding`` zeros are added around
    ``in1`` first (int or pair), then ``mode`` applies as in :func:`scipy.signal.correlate2d`,
    then ``stride`` (int or pair) keeps every s-th output.
    """
    x, k = _array(in1, "in1", ndim=2), _array(in2, "in2", ndim=2)
    return _slide2d(x, k, mode, stride, padding)


def convolve2d(in1: ArrayLike, in2: ArrayLike, mode: str = "valid", stride: int | tuple[int, int] = 1,
               padding: int | tuple[int, int] = 0) -> np.ndarray:
    """True 2-D convolution: flip the kernel horizontally and vertically, then slide it
    (primer 2.2.6), ``C[i, j] = sum_{u,v} X[i - u, j - v] K[u, v]``.

    ``padding`` zeros surround ``in1`` first; ``mode`` is ``"valid"`` (default: only where the
    kernel fits), ``"same"`` or ``"full"`` (:func:`scipy.signal.convolve2d`'s modes); ``stride``
    keeps every s-th output. Primer: the zero-padded 4x4 ``M`` with ``K = [[1, 0], [0, -1]]``
    gives ``[[1, 2, 0], [3, 3, -2], [0, -3, -4]]``.
    """
    x, k = _array(in1, "in1", ndim=2), _array(in2, "in2", ndim=2)
    return _slide2d(x, k[::-1, ::-1], mode, stride, padding, flipped=True)


def _slide2d(x: np.ndarray, k: np.ndarray, mode: str, stride, padding, flipped: bool = False) -> np.ndarray:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if x.size == 0 or k.size == 0:
        raise ValueError("in1 and in2 must not be empty")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be >= 1, got {stride!r}")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    x = np.pad(x, ((ph, ph), (pw, pw)))
    kh, kw = k.shape
    if mode == "valid":
        if x.shape[0] < kh or x.shape[1] < kw:
            raise ValueError(f"valid mode needs in1 {x.shape} (after padding) at least as large as "
                             f"in2 {k.shape}")
    elif mode == "full":
        x = np.pad(x, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    else:  # same: output of in1's size, aligned as scipy.signal does
        if flipped:
            top, left = (kh - 1) // 2, (kw - 1) // 2
            x = np.pad(x, ((kh - 1 - top, top), (kw - 1 - left, left)))
        else:
            top, left = (kh - 1) // 2, (kw - 1) // 2
            x = np.pad(x, ((top, kh - 1 - top), (left, kw - 1 - left)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw))[::sh, ::sw]
    return np.einsum("ijuv,uv->ij", windows, k)


# ---------------------------------------------------------------------------------------------
# distances (2.2.3 vectors, used across the primer)
# ---------------------------------------------------------------------------------------------
def euclidean(x: ArrayLike, y: ArrayLike) -> float:
    """Euclidean distance ``||x - y||_2 = sqrt(sum_i (x_i - y_i)^2)``."""
    x, y = _array(x, "x", ndim=1), _array(y, "y", ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    return float(np.sqrt(np.sum((x - y) ** 2)))


def cosine_similarity(x: ArrayLike, y: ArrayLike | None = None) -> float | np.ndarray:
    """Cosine similarity ``x . y / (||x|| ||y||)``.

    Two vectors give a float (a zero vector raises, the angle is undefined). Two matrices (or
    one, compared with itself) give the (m, n) similarity matrix through the core kernel,
    ``1 - pairwise_distances(X, Y, "cosine")``, with scikit-learn's zero-vector convention.
    """
    xa = np.asarray(x)
    if xa.ndim == 1:
        x1, y1 = _array(x, "x", ndim=1), _array(y, "y", ndim=1)
        if x1.shape != y1.shape:
            raise ValueError(f"x and y must have the same length, got {x1.shape[0]} and {y1.shape[0]}")
        nx, ny = np.linalg.norm(x1), np.linalg.norm(y1)
        if nx == 0 or ny == 0:
            raise ValueError("cosine similarity of a zero vector is undefined")
        return float(x1 @ y1 / (nx * ny))
    return 1.0 - pairwise_distances(x, y, metric="cosine")


def pairwise_distances(X: ArrayLike, Y: ArrayLike | None = None, metric: str = "euclidean") -> np.ndarray:
    """Distance matrix ``D[i, j] = d(X_i, Y_j)`` for ``metric`` in ``"euclidean"``,
    ``"sqeuclidean"``, ``"cosine"`` (scikit-learn's name and layout).

    Computed in the C++ core from the Gram matrix, ``||x||^2 - 2 x.y + ||y||^2`` clamped at 0
    (register-blocked SIMD microkernel for float32, multithreaded). ``Y=None`` compares X with
    itself and the diagonal is exactly 0. float32 stays float32 (its rounding: about
    ``1e-7 ||x||^2`` absolute on squared distances); other inputs are computed in float64.
    Rows must be contiguous (a copy is made with ``np.ascontiguousarray`` otherwise).
    """
    same = Y is None
    X = _dist_input(X, "X")
    Y = X if same else _dist_input(Y, "Y")
    if X.dtype != Y.dtype:
        X, Y = X.astype(np.float64), Y.astype(np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of columns, got {X.shape[1]} and {Y.shape[1]}")
    return _core.pairwise_distances(X, Y, metric, same)


def _dist_input(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype not in (np.float32, np.float64):
        if not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    if arr.strides[1] != arr.itemsize and arr.shape[1] > 1:
        arr = np.ascontiguousarray(arr)
    return arr
