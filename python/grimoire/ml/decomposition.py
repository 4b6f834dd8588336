"""Principal component analysis, primer 4.2.2.

Centre the data (X_c = X - mean), then find the directions of largest variance: the
eigenvectors of the covariance C = X_c^T X_c / (n - 1), equivalently the right singular vectors
of X_c = U S V^T (eigenvalues lambda_i = S_i^2 / (n - 1)). Projections are X_c V_k.

Worked example (primer): X = [[2,1],[4,3],[6,5]] has mean [4,3], covariance [[4,4],[4,4]],
eigenvalues 8 and 0, v1 = [1,1]/sqrt 2 and projections [-2 sqrt 2, 0, 2 sqrt 2].

The decomposition itself is LAPACK's (numpy.linalg.eigh of the covariance when n >= 10 d, as
scikit-learn's 'covariance_eigh' solver does, else numpy.linalg.svd of X_c): a production SVD is
decades of numerical care, and grimoire.linalg teaches its own from scratch. Signs follow
scikit-learn's svd_flip: the largest-magnitude entry of each component is positive.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .._typing import RandomState, Self
from .base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    check_array,
    check_is_fitted,
)


def svd_flip_v(v: np.ndarray, u: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Make the largest-|.| entry of each row of v positive (flipping u's columns to match)."""
    idx = np.argmax(np.abs(v), axis=1)
    signs = np.sign(v[np.arange(v.shape[0]), idx])
    signs[signs == 0] = 1.0
    v = v * signs[:, None]
    if u is not None:
        u = u * signs[None, : u.shape[1]]
    return v, u


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis (scikit-learn's PCA interface).

    Parameters
    ----------
    n_components : int, float in (0, 1) or None. An int keeps that many components; a fraction
        keeps the fewest whose explained variance ratio sums past it; None keeps min(n, d).
    whiten : scale the projections to unit variance (divide by sqrt(explained_variance_)).
    svd_solver : 'auto' (covariance eigh when n >= 10 d and d <= 1000, else SVD), 'full',
        'covariance_eigh'.

    Attributes
    ----------
    components_ : (k, d) array, the principal axes (rows).
    explained_variance_ : (k,) array, the variance along each axis.
    explained_variance_ratio_ : (k,) array, that variance over the total.
    singular_values_ : (k,) array.
    mean_ : (d,) array, the training mean.
    n_components_ : k.
    noise_variance_ : the mean of the discarded variances (probabilistic PCA).
    """

    _n_features_out_from = ("components_", 0)

    def __init__(self, n_components: int | float | None = None, *, whiten: bool = False,
                 svd_solver: Literal["auto", "full", "covariance_eigh"] = "auto",
                 random_state: RandomState = None):
        self.n_components = n_components
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        self._fit(X)
        return self

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None) -> np.ndarray:
        X = check_array(X) if not hasattr(X, "iloc") else X
        Xc = self._fit(X)
        return self._project(Xc if Xc is not None else check_array(X) - self.mean_)

    def _fit(self, X):
        X = self._validate_fit_X(X)
        n, d = X.shape
        if self.svd_solver not in ("auto", "full", "covariance_eigh"):
            raise ValueError("svd_solver must be 'auto', 'full' or 'covariance_eigh', "
                             f"got {self.svd_solver!r}")
        k_max = min(n, d)
        nc = self.n_components
        if nc is not None:
            if isinstance(nc, bool) or not isinstance(nc, numbers.Real):
                raise ValueError(f"n_components must be an int, a float in (0, 1) or None, got {nc!r}")
            if isinstance(nc, numbers.Integral):
                if not 0 <= nc <= k_max:
                    raise ValueError(f"n_components={nc} must be between 0 and min(n_samples, n_features)="
                                     f"{k_max} with svd_solver={self.svd_solver!r}")
            elif not 0 < nc < 1:
                raise ValueError(f"n_components={nc} must be an int or a float in (0, 1)")
        if n < 2:
            raise ValueError(f"PCA needs at least 2 samples to estimate a variance, got n_samples = {n}")
        self.mean_ = X.mean(axis=0)
        use_eigh = self.svd_solver == "covariance_eigh" or (self.svd_solver == "auto" and n >= 10 * d
                                                            and d <= 1000)
        Xc = None
        if use_eigh:
            # X^T X - n m m^T: no centred copy of X (sklearn's covariance_eigh does the same)
            cov = (X.T @ X - n * np.outer(self.mean_, self.mean_)) / (n - 1)
            evals, evecs = np.linalg.eigh(cov)
            order = np.argsort(evals)[::-1]
            evals = np.maximum(evals[order], 0.0)
            Vt = evecs[:, order].T
            S = np.sqrt(evals * (n - 1))
            Vt, _ = svd_flip_v(Vt)
            ev = evals
        else:
            Xc = X - self.mean_
            _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
            Vt, _ = svd_flip_v(Vt)
            ev = S**2 / (n - 1)
        total = ev.sum()
        ratio = ev / total if total > 0 else np.zeros_like(ev)
        if nc is None:
            k = k_max
        elif isinstance(nc, numbers.Integral):
            k = int(nc)
        else:
            k = int(np.searchsorted(np.cumsum(ratio), nc, side="right")) + 1
            k = min(k, k_max)
        self.n_components_ = k
        self.n_samples_ = n
        self.components_ = Vt[:k]
        self.explained_variance_ = ev[:k]
        self.explained_variance_ratio_ = ratio[:k]
        self.singular_values_ = S[:k]
        self.noise_variance_ = float(ev[k:k_max].mean()) if k < k_max else 0.0
        return Xc

    def _project(self, Xc: np.ndarray) -> np.ndarray:
        out = Xc @ self.components_.T
        if self.whiten:
            scale = np.sqrt(self.explained_variance_)
            scale[scale < np.finfo(np.float64).tiny] = 1.0
            out /= scale
        return out

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Projections (X - mean_) @ components_.T, (n_samples, n_components_)."""
        X = self._validate_X(X)
        return self._project(X - self.mean_)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Back to the original space: X @ components_ (+ the whitening scale) + mean_."""
        check_is_fitted(self, "components_")
        X = np.asarray(X, dtype=np.float64)
        if self.whiten:
            return X @ (np.sqrt(self.explained_variance_)[:, None] * self.components_) + self.mean_
        return X @ self.components_ + self.mean_

    def get_covariance(self) -> np.ndarray:
        check_is_fitted(self, "components_")
        excess = np.maximum(self.explained_variance_ - self.noise_variance_, 0)
        comps = self.components_ * np.sqrt(excess)[:, None]
        return comps.T @ comps + self.noise_variance_ * np.eye(self.components_.shape[1])
