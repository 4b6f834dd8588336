"""The linalg family (primer 2.2.4-2.2.5): the O(n^3) iterations behind ``grimoire.linalg``."""

from __future__ import annotations

import numpy as np

from ._device import backend


def eigh_symmetric(a: np.ndarray, vectors: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric float64 (n, n) C-contiguous
    matrix, by blocked Householder tridiagonalisation and implicit QL. Only the lower triangle is
    read; ``a`` is overwritten."""
    return backend(a=a).eigh_symmetric(a, bool(vectors))  # CPU only: NotImplementedError on CUDA


def svd_bidiagonal(a: np.ndarray, compute_uv: bool = True,
                   full_matrices: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U, s, Vt)`` of a float64 (m, n) C-contiguous matrix with m >= n, ``A = U diag(s) Vt``
    (s descending), by blocked Householder bidiagonalisation and the Golub-Kahan QR iteration.
    ``U`` is (m, n), or (m, m) with ``full_matrices``; U and Vt are empty without ``compute_uv``.
    ``a`` is overwritten."""
    return backend(a=a).svd_bidiagonal(a, bool(compute_uv), bool(full_matrices))  # CPU only


def jacobi_svd_sweeps(bt: np.ndarray, vt: np.ndarray | None, max_sweeps: int = 60, tol: float = 1e-15) -> int:
    """One-sided Jacobi sweeps on the rows of ``bt`` (n, m) (the columns of B), the same rotations
    applied to the rows of ``vt`` (n, nv); in place. Returns the sweeps used (``max_sweeps + 1``
    if they did not converge). A pair counts as orthogonal once ``|b_i . b_j| <= tol * ||b_i|| ||b_j||``;
    ``tol`` must be at least float64's epsilon (below it, convergence is decided by rounding)."""
    return backend(bt=bt, vt=vt).jacobi_svd_sweeps(bt, vt, int(max_sweeps), float(tol))
