"""The linalg family (primer 2.2.4-2.2.5): the O(n^3) iterations behind ``grimoire.linalg``."""

from __future__ import annotations

import numpy as np

from ._device import backend


def eigh_symmetric(a: np.ndarray, vectors: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric float64 (n, n) C-contiguous
    matrix, by Householder tridiagonalisation and implicit QL. ``a`` is overwritten."""
    return backend(a=a).eigh_symmetric(a, bool(vectors))  # CPU only: NotImplementedError on CUDA


def jacobi_svd_sweeps(bt: np.ndarray, vt: np.ndarray | None, max_sweeps: int = 60, tol: float = 1e-15) -> int:
    """One-sided Jacobi sweeps on the rows of ``bt`` (n, m) (the columns of B), the same rotations
    applied to the rows of ``vt`` (n, nv); in place. Returns the sweeps used (``max_sweeps + 1``
    if they did not converge). A pair counts as orthogonal once ``|b_i . b_j| <= tol * ||b_i|| ||b_j||``;
    ``tol`` must be at least float64's epsilon (below it, convergence is decided by rounding)."""
    return backend(bt=bt, vt=vt).jacobi_svd_sweeps(bt, vt, int(max_sweeps), float(tol))
