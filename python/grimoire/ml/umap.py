"""UMAP, primer 4.2.2: uniform manifold approximation and projection (McInnes et al. 2018).

1. kNN graph (exact, Euclidean), each point's own row included as its first neighbour.
2. Fuzzy simplicial set: w_ij = exp(-(d_ij - rho_i) / sigma_i), rho_i the distance to the nearest
   neighbour, sigma_i by binary search so that sum_j w_ij = log2(k); symmetrised by the fuzzy union
   W + W^T - W o W^T.
3. Layout: minimise the fuzzy-set cross entropy between W and v_ij = (1 + a ||y_i - y_j||^2b)^-1
   (a, b fitted to min_dist and spread) by SGD with negative sampling, in the C++ core.
``transform`` places new points at the weighted mean of their training neighbours, then runs the
same SGD against the fixed training embedding.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._typing import RandomState, Self
from .base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    check_random_state,
    progress,
)
from .manifold import _knn_sq_distances


def find_ab_params(spread: float = 1.0, min_dist: float = 0.1) -> tuple[float, float]:
    """(a, b) of 1 / (1 + a x^2b) fitted (Gauss-Newton least squares) to the curve 1 for x < min_dist,
    exp(-(x - min_dist) / spread) beyond, on (0, 3 spread]."""
    x = np.linspace(0, spread * 3, 300)[1:]
    target = np.where(x < min_dist, 1.0, np.exp(-(x - min_dist) / spread))
    a, b = 1.5, 0.9
    lx = np.log(x)
    for _ in range(200):
        xb = x ** (2 * b)
        f = 1.0 / (1.0 + a * xb)
        r = f - target
        da = -xb * f * f
        db = -a * xb * 2 * lx * f * f
        J = np.stack([da, db], axis=1)
        step = np.linalg.lstsq(J, -r, rcond=None)[0]
        a, b = max(a + step[0], 1e-6), max(b + step[1], 1e-6)
        if np.abs(step).max() < 1e-12:
            break
    return float(a), float(b)


def _smooth_knn(dist: np.ndarray, k: float, n_iter: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """sigma (n,) and rho (n,) with sum_j exp(-max(d_ij - rho_i, 0) / sigma_i) = log2(k), vectorised
    bisection (rows of dist exclude the point itself)."""
    target = np.log2(k)
    pos = np.where(dist > 0, dist, np.inf)
    rho = pos.min(axis=1)
    rho[~np.isfinite(rho)] = 0.0
    lo = np.zeros(dist.shape[0])
    hi = np.full(dist.shape[0], np.inf)
    mid = np.ones(dist.shape[0])
    for _ in range(n_iter):
        s = np.exp(-np.maximum(dist - rho[:, None], 0.0) / mid[:, None]).sum(axis=1)
        big = s > target
        hi = np.where(big, mid, hi)
        lo = np.where(big, lo, mid)
        mid = np.where(np.isfinite(hi), (lo + hi) / 2, mid * 2)
    mean_d = dist.mean()
    floor = 1e-3 * np.where(rho > 0, dist.mean(axis=1), mean_d)
    return np.maximum(mid, floor), rho


class UMAP(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """UMAP embedding, umap-learn's interface (``n_neighbors``, ``min_dist``, ``spread``, ``n_epochs``,
    ``init`` 'spectral' | 'pca' | 'random', ``negative_sample_rate``, ``random_state``);
    ``verbose`` > 0 shows a progress bar over the stages of ``fit`` (tqdm, on stderr).

    ``transform`` embeds new points by a separate optimisation against the fixed training
    embedding (umap-learn's method), so it does not reproduce ``fit_transform``'s embedding of the
    training points, and a point's embedding depends on the batch it comes in (one random stream
    of negative samples per call).

    Attributes
    ----------
    embedding_ : (n, n_components) array.
    graph_ : the fuzzy graph as (rows, cols, weights).
    a_, b_ : the curve 1 / (1 + a d^(2b)) fitted to ``min_dist`` and ``spread``.
    """

    # transform(X) re-embeds X against the training embedding by SGD, as umap-learn does: close to,
    # not equal to, fit_transform(X), and dependent on the batch (one stream of negative samples).
    _expected_failed_checks = {
        "check_transformer_general": "transform(X) is a fresh SGD placement, not embedding_.",
        "check_transformer_data_not_an_array": "transform(X) is a fresh SGD placement, not embedding_.",
        "check_methods_subset_invariance": "a point's placement depends on the batch (negative samples).",
        "check_methods_sample_order_invariance": "a point's placement depends on the batch order.",
    }

    _n_features_out_from = ("embedding_", 1)

    def __init__(self, n_neighbors: int = 15, n_components: int = 2, *, min_dist: float = 0.1,
                 spread: float = 1.0, n_epochs: int | None = None, learning_rate: float = 1.0,
                 init: Literal["spectral", "pca", "random"] = "spectral", negative_sample_rate: int = 5,
                 repulsion_strength: float = 1.0, random_state: RandomState = None, verbose: int | bool = 0):
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.min_dist = min_dist
        self.spread = spread
        self.n_epochs = n_epochs
        self.learning_rate = learning_rate
        self.init = init
        self.negative_sample_rate = negative_sample_rate
        self.repulsion_strength = repulsion_strength
        self.random_state = random_state
        self.verbose = verbose

    def _knn(self, X, Y, k):
        """Neighbours of the rows of X among the rows of Y (Euclidean distances); Y None: X's own
        rows, the row itself left out."""
        if Y is None:
            idx, d2 = _knn_sq_distances(X, k)
        else:
            d2 = (X * X).sum(1)[:, None] + (Y * Y).sum(1)[None] - 2 * X @ Y.T
            np.maximum(d2, 0, out=d2)
            idx = np.argsort(d2, axis=1, kind="stable")[:, :k]
            d2 = np.take_along_axis(d2, idx, axis=1)
        return idx, np.sqrt(d2)

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        X = self._validate_fit_X(X)
        n = X.shape[0]
        if not isinstance(self.n_neighbors, numbers.Integral) or self.n_neighbors < 2:
            raise ValueError(f"n_neighbors must be an int >= 2, got {self.n_neighbors!r}")
        if not isinstance(self.n_components, numbers.Integral) or self.n_components < 1:
            raise ValueError(f"n_components must be an int >= 1, got {self.n_components!r}")
        if not (isinstance(self.min_dist, numbers.Real) and 0 <= self.min_dist <= self.spread):
            raise ValueError(f"min_dist must be in [0, spread], got {self.min_dist!r}")
        if self.init not in ("spectral", "pca", "random"):
            raise ValueError(f"init must be 'spectral', 'pca' or 'random', got {self.init!r}")
        if n < 3:
            raise ValueError(f"UMAP needs at least 3 samples, got n_samples={n}")
        rng = check_random_state(self.random_state)
        # verbose: a bar over the four stages (stderr); the epochs run in one call of the core.
        bar = progress(total=4, verbose=self.verbose, desc="UMAP", unit="stage")
        bar.set_postfix_str("nearest neighbours")
        k = min(int(self.n_neighbors), n) - 1  # neighbours other than the point itself
        idx, dist = self._knn(X, None, k)
        bar.update()
        bar.set_postfix_str("fuzzy simplicial set")
        sigma, rho = _smooth_knn(dist, k + 1)
        w = np.exp(-np.maximum(dist - rho[:, None], 0.0) / sigma[:, None])
        rows, cols, vals = np.repeat(np.arange(n), k), idx.ravel(), w.ravel()
        key = rows * n + cols
        order = np.argsort(key)
        key, vals = key[order], vals[order]
        tkey = (key % n) * n + key // n
        pos = np.searchsorted(key, tkey)
        has_t = (pos < key.size) & (key[np.minimum(pos, key.size - 1)] == tkey)
        wt = np.where(has_t, vals[np.minimum(pos, key.size - 1)], 0.0)
        # Fuzzy union on the stored edges; an edge present only as (j, i) is added from its side below.
        union = vals + wt - vals * wt
        only_t = ~has_t
        all_key = np.concatenate([key, tkey[only_t]])
        all_val = np.concatenate([union, vals[only_t]])
        head, tail = all_key // n, all_key % n
        n_epochs = (500 if n <= 10000 else 200) if self.n_epochs is None else int(self.n_epochs)
        keep = all_val >= all_val.max() / n_epochs
        head, tail, all_val = head[keep], tail[keep], all_val[keep]
        self.graph_ = (head, tail, all_val)
        self.a_, self.b_ = find_ab_params(float(self.spread), float(self.min_dist))
        bar.update()
        bar.set_postfix_str(f"initialisation ({self.init})")
        Y = self._initial(X, head, tail, all_val, rng)
        bar.update()
        bar.set_postfix_str(f"optimisation: {n_epochs} epochs")
        self._n_epochs = n_epochs
        eps = all_val.max() / all_val
        _core.umap_optimize(head.astype(np.int64), tail.astype(np.int64), eps, Y, None, n_epochs, self.a_,
                            self.b_, float(self.repulsion_strength), float(self.learning_rate),
                            float(self.negative_sample_rate), int(rng.randint(2**31 - 1)))
        bar.update()
        bar.close()
        self.embedding_ = Y
        self._X = X.copy()
        return self

    def _initial(self, X, head, tail, vals, rng):
        n, dim = X.shape[0], int(self.n_components)
        if self.init == "spectral" and n <= 3000:
            A = np.zeros((n, n))
            A[head, tail] = vals
            deg = A.sum(axis=1)
            dinv = 1.0 / np.sqrt(np.maximum(deg, 1e-12))
            L = np.eye(n) - dinv[:, None] * A * dinv[None, :]
            _, vecs = np.linalg.eigh(L)
            init = vecs[:, 1:dim + 1]
        elif self.init in ("spectral", "pca"):
            Xc = X - X.mean(axis=0)
            _, _, vt = np.linalg.svd(Xc, full_matrices=False)
            init = Xc @ vt[:dim].T
        else:
            init = rng.uniform(-10, 10, size=(n, dim))
        if init.shape[1] < dim:
            init = np.hstack([init, np.zeros((n, dim - init.shape[1]))])
        scale = np.abs(init).max()
        init = init * (10.0 / scale if scale > 0 else 1.0) + rng.normal(scale=1e-4, size=(n, dim))
        lo, hi = init.min(axis=0), init.max(axis=0)
        return np.ascontiguousarray(10.0 * (init - lo) / np.where(hi > lo, hi - lo, 1.0))

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Embed new points against the fixed training embedding: (m, n_components)."""
        X = self._validate_X(X)
        n_train = self._X.shape[0]
        k = min(int(self.n_neighbors), n_train)
        idx, dist = self._knn(X, self._X, k)
        sigma, rho = _smooth_knn(dist, k)
        w = np.exp(-np.maximum(dist - rho[:, None], 0.0) / sigma[:, None])
        w_norm = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
        Y = np.ascontiguousarray(np.einsum("ij,ijk->ik", w_norm, self.embedding_[idx]))
        m = X.shape[0]
        head, tail, vals = np.repeat(np.arange(m), k), idx.ravel(), w.ravel()
        epochs = max(self._n_epochs // 3, 30)
        keep = vals >= vals.max() / epochs
        eps = vals.max() / vals[keep]
        rng = check_random_state(self.random_state)
        _core.umap_optimize(head[keep].astype(np.int64), tail[keep].astype(np.int64), eps, Y,
                            np.ascontiguousarray(self.embedding_.copy()), epochs, self.a_, self.b_,
                            float(self.repulsion_strength), float(self.learning_rate) / 4.0,
                            float(self.negative_sample_rate), int(rng.randint(2**31 - 1)))
        return Y

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None) -> np.ndarray:
        return self.fit(X).embedding_
