"""The distance family (primer 2.2.3): pairwise distance matrices in the core."""

from __future__ import annotations

import numpy as np

from ._device import backend


def pairwise_distances(x: np.ndarray, y: np.ndarray, metric: str = "euclidean",
                       same_input: bool = False) -> np.ndarray:
    """``D[i, j] = d(x_i, y_j)`` for x (m, k), y (n, k), both float32 or both float64, rows
    contiguous (any row stride). ``metric``: ``"euclidean"``, ``"sqeuclidean"``, ``"cosine"``.
    Gram-matrix form ``||x||^2 + ||y||^2 - 2 x.y`` clamped at 0; ``same_input=True`` sets the
    diagonal to exactly 0. See :func:`grimoire.linalg.pairwise_distances` for the friendly face."""
    where = backend(x=x, y=y)
    return where.pairwise_distances(x, y, metric, bool(same_input))
