"""Manifold learning, primer 4.2.2: t-SNE (Barnes-Hut).

    p_j|i = exp(-||x_i - x_j||^2 beta_i) / sum_k exp(-||x_i - x_k||^2 beta_i)   (k among the 3 perp + 1
            nearest neighbours; beta_i by binary search so that 2^H(P_i) = perplexity)
    p_ij = (p_j|i + p_i|j) / (2n),     q_ij = (1 + ||y_i - y_j||^2)^-1 / sum_{k != l} (1 + ||y_k - y_l||^2)^-1
    C = KL(P || Q) = sum_ij p_ij log(p_ij / q_ij)
    dC/dy_i = 4 sum_j (p_ij - q_ij)(1 + ||y_i - y_j||^2)^-1 (y_i - y_j)

Gradient descent with momentum (0.5, then 0.8) and per-coordinate gains, P multiplied by
``early_exaggeration`` for the first 250 iterations; the repulsive sum over all pairs is
approximated with a quadtree (Barnes-Hut, ``angle`` = theta). The calibration and the whole
descent loop run in the C++ core.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._typing import RandomState, Self
from .base import BaseEstimator, check_array, check_random_state, progress


def _knn_sq_distances(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices (n, k), squared distances (n, k)) of each row's k nearest other rows, ascending."""
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k))
    for r0 in range(0, n, 1024):
        r1 = min(n, r0 + 1024)
        d = sq[r0:r1, None] + sq[None, :] - 2.0 * (X[r0:r1] @ X.T)
        np.maximum(d, 0.0, out=d)
        d[np.arange(r1 - r0), np.arange(r0, r1)] = np.inf  # not its own neighbour
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < n - 1 else np.argsort(d, axis=1)[:, :k]
        pd = np.take_along_axis(d, part, axis=1)
        order = np.argsort(pd, axis=1, kind="stable")
        idx[r0:r1] = np.take_along_axis(part, order, axis=1)
        dist[r0:r1] = np.take_along_axis(pd, order, axis=1)
    return idx, dist


def joint_probabilities(X: np.ndarray, perplexity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric P as CSR (indptr, indices, values), sum 1, from the 3 perplexity + 1 nearest neighbours."""
    n = X.shape[0]
    k = min(n - 1, int(3.0 * perplexity + 1))
    nbr, dist2 = _knn_sq_distances(X, k)
    cond = _core.tsne_binary_search(np.ascontiguousarray(dist2), float(perplexity))
    rows = np.repeat(np.arange(n), k)
    r = np.concatenate([rows, nbr.ravel()])
    c = np.concatenate([nbr.ravel(), rows])
    v = np.concatenate([cond.ravel(), cond.ravel()])
    key = r * n + c
    uniq, inverse = np.unique(key, return_inverse=True)
    vals = np.bincount(inverse.ravel(), weights=v, minlength=uniq.size)
    vals /= max(vals.sum(), np.finfo(np.float64).eps)
    ur = uniq // n
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ur, minlength=n), out=indptr[1:])
    return indptr, (uniq % n).astype(np.int64), vals


class TSNE(BaseEstimator):
    """t-distributed Stochastic Neighbour Embedding (Barnes-Hut), scikit-learn's TSNE interface.

    Parameters
    ----------
    n_components : 2 (the quadtree is 2-D), or 1 (run in the plane with a zero second coordinate).
    perplexity : effective number of neighbours (< n_samples).
    early_exaggeration, learning_rate ('auto' = max(n / early_exaggeration / 4, 50)), max_iter.
    init : 'pca' (scaled to std 1e-4) or 'random', or an (n, 2) array.
    angle : Barnes-Hut theta (0 gives the exact repulsion).
    verbose : > 0 shows a progress bar over the stages, affinities then descent (tqdm, on stderr).

    Attributes
    ----------
    embedding_ : (n, n_components) array.
    kl_divergence_ : KL(P || Q) after the last iteration.
    n_iter_ : iterations run.
    learning_rate_ : the learning rate used ('auto' resolved).
    """

    def __init__(self, n_components: int = 2, *, perplexity: float = 30.0, early_exaggeration: float = 12.0,
                 learning_rate: float | Literal["auto"] = "auto", max_iter: int = 1000,
                 metric: Literal["euclidean"] = "euclidean",
                 init: Literal["pca", "random"] | ArrayLike = "pca",
                 random_state: RandomState = None, method: Literal["barnes_hut", "exact"] = "barnes_hut",
                 angle: float = 0.5, n_jobs: int | None = None, verbose: int | bool = 0):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.metric = metric
        self.init = init
        self.random_state = random_state
        self.method = method
        self.angle = angle
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_params(self, n: int):
        if self.n_components not in (1, 2):
            raise ValueError(f"n_components must be 1 or 2 (Barnes-Hut quadtree), got {self.n_components!r}")
        if not isinstance(self.perplexity, numbers.Real) or not self.perplexity > 0:
            raise ValueError(f"perplexity must be > 0, got {self.perplexity!r}")
        if self.perplexity >= n:
            raise ValueError(f"perplexity ({self.perplexity}) must be less than n_samples ({n})")
        if self.metric != "euclidean":
            raise ValueError(f"metric must be 'euclidean', got {self.metric!r}")
        if self.method not in ("barnes_hut", "exact"):
            raise ValueError(f"method must be 'barnes_hut' or 'exact', got {self.method!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 250:
            raise ValueError(f"max_iter should be at least 250, got {self.max_iter!r}")
        if not isinstance(self.early_exaggeration, numbers.Real) or not self.early_exaggeration >= 1:
            raise ValueError(f"early_exaggeration must be at least 1, got {self.early_exaggeration!r}")
        if not (isinstance(self.angle, numbers.Real) and 0 <= self.angle <= 1):
            raise ValueError(f"angle must be in [0, 1], got {self.angle!r}")
        if isinstance(self.learning_rate, str):
            if self.learning_rate != "auto":
                raise ValueError(f"learning_rate must be 'auto' or a float > 0, got {self.learning_rate!r}")
            return max(n / self.early_exaggeration / 4.0, 50.0)
        if not isinstance(self.learning_rate, numbers.Real) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be 'auto' or a float > 0, got {self.learning_rate!r}")
        return float(self.learning_rate)

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        X = check_array(X, ensure_min_samples=2)
        self.n_features_in_ = X.shape[1]
        n = X.shape[0]
        lr = self._check_params(n)
        rng = check_random_state(self.random_state)
        if isinstance(self.init, str) and self.init == "pca":
            Xc = X - X.mean(axis=0)
            _, _, vt = np.linalg.svd(Xc, full_matrices=False)
            Y = Xc @ vt[:2].T
            if Y.shape[1] < 2:
                Y = np.hstack([Y, np.zeros((n, 2 - Y.shape[1]))])
            if self.n_components == 1:
                Y[:, 1] = 0.0
            std = np.std(Y[:, 0])
            if std > 0:
                Y = Y / std * 1e-4
            else:
                Y = np.hstack([1e-4 * rng.standard_normal((n, 1)), np.zeros((n, 1))])
        elif isinstance(self.init, str) and self.init == "random":
            Y = 1e-4 * rng.standard_normal((n, 2))
            if self.n_components == 1:
                Y[:, 1] = 0.0
        elif isinstance(self.init, str):
            raise ValueError(f"init must be 'pca', 'random' or an array, got {self.init!r}")
        else:
            Y = check_array(self.init, name="init").copy()
            if Y.shape != (n, self.n_components):
                raise ValueError(f"init must have shape {(n, self.n_components)}, got {Y.shape}")
            if self.n_components == 1:
                Y = np.hstack([Y, np.zeros((n, 1))])
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        theta = 0.0 if self.method == "exact" else float(self.angle)
        # verbose: a bar over the two stages (stderr); the descent runs in one call of the core.
        with progress(total=2, verbose=self.verbose, desc="TSNE", unit="stage") as bar:
            bar.set_postfix_str("affinities: perplexity calibration")
            indptr, indices, values = joint_probabilities(X, float(self.perplexity))
            bar.update()
            bar.set_postfix_str(f"gradient descent: {int(self.max_iter)} iterations")
            kl = _core.tsne_optimize(indptr, indices, values, Y, int(self.max_iter), 250,
                                     float(self.early_exaggeration), lr, theta)
            self.kl_divergence_ = float(kl)
            bar.update()
            bar.set_postfix(kl_divergence=f"{self.kl_divergence_:.4g}")
        # n_components = 1 runs in the plane with the second coordinate 0: its gradient stays 0.
        self.embedding_ = Y[:, : self.n_components].copy()
        self.learning_rate_ = lr
        self.n_iter_ = int(self.max_iter)
        return self

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None) -> np.ndarray:
        """The embedding (n, 2) of X."""
        return self.fit(X).embedding_
