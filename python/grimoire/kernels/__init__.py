"""``grimoire.kernels``: the core's kernels, one family per module, called on NumPy arrays.

Each function validates its arguments, reads arrays in place (no silent copies or casts),
releases the GIL and runs multithreaded in C++.
"""

from __future__ import annotations

from .distance import pairwise_distances
from .gemm import gemm
from .linalg import eigh_symmetric, jacobi_svd_sweeps
from .word2vec import word2vec_sgns_train

__all__ = ["gemm", "pairwise_distances", "eigh_symmetric", "jacobi_svd_sweeps", "word2vec_sgns_train"]
