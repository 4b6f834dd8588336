"""Clustering, primer 4.2.1: k-means (Lloyd's algorithm with k-means++ seeding).

Lloyd alternates two steps until the centres stop moving:

    assign:  c(i) = argmin_j ||x_i - mu_j||^2        (in the C++ core: the GEMM trick
             ||x||^2 - 2 x.mu + ||mu||^2, one small matrix product per block of rows, threads over blocks)
    update:  mu_j = mean of the points assigned to j
    inertia = sum_i ||x_i - mu_c(i)||^2   (the objective; it never increases)

k-means++ picks the first centre at random and each next one with probability proportional to the
squared distance to the nearest centre already chosen (greedy: the best of 2 + log k draws).
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._typing import RandomState, Self
from .base import (
    RANDOM_ROW_DRAWS,
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    check_array,
    check_random_state,
    check_sample_weight,
    progress,
)


def _sq_dist_to(X: np.ndarray, x_sq: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances (n, m) from the rows of X to the rows of c."""
    d = x_sq[:, None] - 2.0 * (X @ c.T) + np.einsum("ij,ij->i", c, c)[None, :]
    return np.maximum(d, 0.0, out=d)


def _sq_dist_core(X: np.ndarray, x_sq: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances (n, m) from the rows of X (C-contiguous float64) to the rows of c, in the core."""
    return _core.pairwise_sq_distances(X, x_sq, np.ascontiguousarray(c, dtype=np.float64))


def kmeans_plusplus(X: np.ndarray, n_clusters: int, *, sample_weight: ArrayLike | None = None,
                    x_sqnorm: np.ndarray | None = None, random_state: RandomState = None,
                    n_local_trials: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeding: returns (centers (k, d), indices of the chosen rows)."""
    rng = check_random_state(random_state)
    n, d = X.shape
    w = np.ones(n) if sample_weight is None else sample_weight
    x_sq = np.einsum("ij,ij->i", X, X) if x_sqnorm is None else x_sqnorm
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, d))
    indices = np.empty(n_clusters, dtype=np.int64)
    first = rng.choice(n, p=w / w.sum())
    centers[0], indices[0] = X[first], first
    X = np.ascontiguousarray(X, dtype=np.float64)
    closest = _sq_dist_core(X, x_sq, centers[:1])[:, 0]
    potential = float(closest @ w)
    for c in range(1, n_clusters):
        if potential <= 0:  # fewer distinct points than clusters: any point will do
            cand = rng.choice(n, n_local_trials)
        else:
            cum = np.cumsum(w * closest)
            cand = np.searchsorted(cum, rng.uniform(size=n_local_trials) * cum[-1])
            cand = np.minimum(cand, n - 1)
        dist = np.minimum(closest[:, None], _sq_dist_core(X, x_sq, X[cand]))
        pots = w @ dist
        best = int(np.argmin(pots))
        potential, closest = float(pots[best]), dist[:, best].copy()
        centers[c], indices[c] = X[cand[best]], cand[best]
    return centers, indices


class KMeans(ClusterMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """k-means clustering (Lloyd), scikit-learn's KMeans interface.

    Parameters
    ----------
    n_clusters : int, default 8
    init : 'k-means++', 'random' or an array (n_clusters, n_features)
    n_init : 'auto' or int. Runs from different seeds; the lowest inertia wins ('auto': 1 for
        k-means++ or an array, 10 for 'random').
    max_iter, tol : Lloyd stops when sum_j ||mu_j - mu_j_old||^2 <= tol * mean feature variance,
        or when no label changes.
    random_state : seed for the initialisation.
    verbose : > 0 shows a progress bar over the initialisations with the best inertia (stderr).

    Attributes
    ----------
    cluster_centers_ : (k, d) array, the centres.
    labels_ : (n,) int array, the cluster of each training row.
    inertia_ : sum of squared distances to the nearest centre.
    n_iter_ : Lloyd iterations of the best initialisation.
    """

    _n_features_out_from = ("cluster_centers_", 0)
    _expected_failed_checks = RANDOM_ROW_DRAWS

    def __init__(self, n_clusters: int = 8, *, init: Literal["k-means++", "random"] | ArrayLike = "k-means++",
                 n_init: int | Literal["auto"] = "auto", max_iter: int = 300, tol: float = 1e-4,
                 random_state: RandomState = None, algorithm: Literal["lloyd", "elkan"] = "lloyd",
                 verbose: int | bool = 0):
        self.verbose = verbose
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.algorithm = algorithm

    def _check_params(self, X):
        if isinstance(self.n_clusters, bool) or not isinstance(self.n_clusters, numbers.Integral) \
                or self.n_clusters < 1:
            raise ValueError(f"n_clusters must be an int >= 1, got {self.n_clusters!r}")
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {self.max_iter!r}")
        if self.algorithm not in ("lloyd", "elkan"):
            raise ValueError(f"algorithm must be 'lloyd' (or 'elkan', run as lloyd), got {self.algorithm!r}")
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(f"init must be 'k-means++', 'random' or an array, got {self.init!r}")
            n_init = (1 if self.init == "k-means++" else 10) if self.n_init == "auto" else self.n_init
        else:
            n_init = 1
        if not isinstance(n_init, numbers.Integral) or n_init < 1:
            raise ValueError(f"n_init must be 'auto' or an int >= 1, got {self.n_init!r}")
        return int(n_init)

    def fit(self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None) -> Self:
        X = self._validate_fit_X(X)
        n_init = self._check_params(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        unit_w = sample_weight is None
        rng = check_random_state(self.random_state)
        mean = X.mean(axis=0) if unit_w else np.average(X, axis=0, weights=w)
        Xc = X - mean  # centred: the GEMM trick loses less precision
        x_sq = np.einsum("ij,ij->i", Xc, Xc)
        # sklearn's tolerance: tol * mean feature variance (= mean ||x - mean||^2 / d, centred data)
        tol = float(x_sq.mean() / X.shape[1]) * float(self.tol) if unit_w else \
            float(np.mean(np.var(X, axis=0))) * float(self.tol)
        if not isinstance(self.init, str):
            init = check_array(self.init, name="init") - mean
            if init.shape != (self.n_clusters, X.shape[1]):
                raise ValueError(f"init should be of shape {(self.n_clusters, X.shape[1])}, got {init.shape}")
        best = None
        # verbose: a bar over the initialisations with the best inertia (stderr); silent by default.
        runs = progress(range(n_init), verbose=self.verbose, desc="KMeans", unit="init")
        for _ in runs:
            if isinstance(self.init, str) and self.init == "k-means++":
                centers, _ = kmeans_plusplus(Xc, self.n_clusters, sample_weight=w, x_sqnorm=x_sq,
                                             random_state=rng)
            elif isinstance(self.init, str):
                centers = Xc[rng.choice(X.shape[0], self.n_clusters, replace=False, p=w / w.sum())].copy()
            else:
                centers = init.copy()
            result = self._lloyd(Xc, x_sq, np.ascontiguousarray(centers), None if unit_w else w, tol)
            if best is None or result[2] < best[2]:
                best = result
            runs.set_postfix(inertia=f"{best[2]:.6g}", n_iter=result[3])
        centers, labels, inertia, n_iter = best
        self.cluster_centers_ = centers + mean
        self.labels_ = labels.astype(np.int32)
        self.inertia_ = float(inertia)
        self.n_iter_ = n_iter
        return self

    def _lloyd(self, X, x_sq, centers, w, tol):
        labels_old = None
        n_iter = 0
        for n_iter in range(1, int(self.max_iter) + 1):  # noqa: B007
            labels, dist, _, sums, counts = _core.kmeans_assign(X, x_sq, centers, w)
            new = np.empty_like(centers)
            full = counts > 0
            new[full] = sums[full] / counts[full, None]
            if not full.all():  # an empty cluster takes the points farthest from their centres
                far = np.argsort(dist)[::-1]
                for j, i in zip(np.flatnonzero(~full), far, strict=False):
                    new[j] = X[i]
            shift = float(np.sum((new - centers) ** 2))
            centers = new
            if labels_old is not None and np.array_equal(labels, labels_old):
                break
            labels_old = labels
            if shift <= tol:
                break
        labels, _, inertia, _, _ = _core.kmeans_assign(X, x_sq, centers, w, accumulate=False)
        return centers, labels, inertia, n_iter

    def _assign(self, X):
        X = self._validate_X(X)
        c = np.ascontiguousarray(self.cluster_centers_)
        return X, _core.kmeans_assign(X, np.einsum("ij,ij->i", X, X), c, None, accumulate=False)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Index of the nearest centre for each sample."""
        return self._assign(X)[1][0].astype(np.int32)

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Euclidean distance from each sample to each centre, (n_samples, n_clusters)."""
        X = self._validate_X(X)
        c = self.cluster_centers_
        return np.sqrt(_sq_dist_to(X, np.einsum("ij,ij->i", X, X), c))

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None,
                      sample_weight: ArrayLike | None = None) -> np.ndarray:
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: ArrayLike, y: ArrayLike | None = None,
              sample_weight: ArrayLike | None = None) -> float:
        """Opposite of the inertia of X on the fitted centres."""
        X, (labels, dist, _, _, _) = self._assign(X)
        w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        return -float(dist @ w)
