"""Linear models, primer 4.1.1 and 3.3: least squares, ridge, lasso, elastic net, logistic regression.

    LinearRegression   min_w ||y - X w - b||^2            (LAPACK least squares, or gradient descent:
                       batch, stochastic or mini-batch, primer 2.3.1)
    Ridge              min_w ||y - X w - b||^2 + alpha ||w||^2            (closed form)
    Lasso / ElasticNet min_w 1/(2n) ||y - X w - b||^2 + alpha rho ||w||_1 + alpha (1-rho)/2 ||w||^2
                       (coordinate descent in the C++ core, duality-gap stopping rule)
    LogisticRegression min_w sum_i loss(y_i, x_i w + b) + ||w||^2 / (2C)     (L-BFGS), or ||w||_1 / C
                       (proximal gradient, FISTA); sigmoid for two classes, softmax for more.

The intercept is never penalised: the data are centred (with the sample weights) and b recovered
as mean(y) - mean(X) w.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._typing import RandomState, Self
from .base import (
    BaseEstimator,
    ClassifierMixin,
    ConvergenceWarning,
    RegressorMixin,
    check_array,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
)


def _center(X, y, w, fit_intercept: bool):
    """Weighted centring: (X - x_mean, y - y_mean, x_mean, y_mean)."""
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), 0.0
    x_mean = np.average(X, axis=0, weights=w)
    y_mean = float(np.average(y, weights=w))
    return X - x_mean, y - y_mean, x_mean, y_mean


class LinearModel(RegressorMixin, BaseEstimator):
    def predict(self, X: ArrayLike) -> np.ndarray:
        """X @ coef_ + intercept_."""
        check_is_fitted(self, "coef_")
        X = self._validate_X(X)
        return X @ self.coef_ + self.intercept_


class LinearRegression(LinearModel):
    """Ordinary least squares.

    ``solver="lstsq"`` (default) solves min ||Xw - y||^2 with LAPACK (numpy.linalg.lstsq, an SVD:
    stable even when X is rank deficient). ``solver="gd"`` runs gradient descent on the mean
    squared error of standardised features (primer 2.3.1): ``batch_size=None`` is batch GD, 1 is
    stochastic GD, k is mini-batch GD; ``learning_rate``, ``max_iter`` epochs, ``tol`` on the
    loss improvement; ``loss_curve_`` records the loss after each epoch.
    """

    def __init__(self, *, fit_intercept: bool = True, solver: Literal["lstsq", "gd"] = "lstsq",
                 learning_rate: float = 0.1, batch_size: int | None = None, max_iter: int = 1000,
                 tol: float = 1e-8, random_state: RandomState = None):
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y)
        w = check_sample_weight(sample_weight, X.shape[0])
        Xc, yc, x_mean, y_mean = _center(X, y, w, self.fit_intercept)
        sw = np.sqrt(w)
        if self.solver == "lstsq":
            coef, _, self.rank_, self.singular_ = np.linalg.lstsq(Xc * sw[:, None], yc * sw, rcond=None)
            self.n_iter_ = 1  # one direct solve
        elif self.solver == "gd":
            coef = self._gd(Xc, yc, w)
        else:
            raise ValueError(f"solver must be 'lstsq' or 'gd', got {self.solver!r}")
        self.coef_ = coef
        self.intercept_ = float(y_mean - x_mean @ coef) if self.fit_intercept else 0.0
        return self

    def _gd(self, Xc, yc, w):
        n, d = Xc.shape
        scale = np.sqrt(np.average(Xc**2, axis=0, weights=w))
        scale[scale == 0] = 1.0
        Z = Xc / scale
        rng = check_random_state(self.random_state)
        bs = n if self.batch_size is None else int(self.batch_size)
        if bs < 1:
            raise ValueError(f"batch_size must be None or >= 1, got {self.batch_size!r}")
        lr = float(self.learning_rate)
        theta = np.zeros(d)
        wn = w / w.mean()
        losses = []
        prev = np.inf
        for _ in range(int(self.max_iter)):
            order = np.arange(n) if bs >= n else rng.permutation(n)
            for start in range(0, n, bs):
                b = order[start:start + bs]
                r = Z[b] @ theta - yc[b]
                grad = Z[b].T @ (wn[b] * r) / b.size  # gradient of 1/2 mean(w r^2)
                theta -= lr * grad
            loss = 0.5 * float(np.mean(wn * (Z @ theta - yc) ** 2))
            if not np.isfinite(loss):
                raise ValueError(f"gradient descent diverged (learning_rate={lr} is too large)")
            losses.append(loss)
            if prev - loss <= self.tol * max(1.0, loss):
                break
            prev = loss
        self.loss_curve_ = np.asarray(losses)
        self.n_iter_ = len(losses)
        return theta / scale


class Ridge(LinearModel):
    """Least squares with an L2 penalty: w = (X^T X + alpha I)^(-1) X^T y (centred data)."""

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y)
        if not isinstance(self.alpha, numbers.Real) or self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha!r}")
        w = check_sample_weight(sample_weight, X.shape[0])
        Xc, yc, x_mean, y_mean = _center(X, y, w, self.fit_intercept)
        sw = np.sqrt(w)
        A, b = Xc * sw[:, None], yc * sw
        n, d = A.shape
        if n >= d:
            coef = np.linalg.lstsq(A.T @ A + self.alpha * np.eye(d), A.T @ b, rcond=None)[0]
        else:  # the dual: w = X^T (X X^T + alpha I)^(-1) y
            coef = A.T @ np.linalg.lstsq(A @ A.T + self.alpha * np.eye(n), b, rcond=None)[0]
        self.coef_ = coef
        self.intercept_ = float(y_mean - x_mean @ coef) if self.fit_intercept else 0.0
        return self


def _enet_fit(X, y, alpha, l1_ratio, max_iter, tol, positive, coef0=None):
    """Coordinate descent for sklearn's elastic-net objective on (already centred) X, y."""
    n = X.shape[0]
    Xf = np.asfortranarray(X)
    coef = np.zeros(X.shape[1]) if coef0 is None else np.array(coef0, dtype=np.float64)
    n_iter, gap = _core.enet_coordinate_descent(Xf, np.ascontiguousarray(y), coef, alpha * l1_ratio * n,
                                                alpha * (1.0 - l1_ratio) * n, int(max_iter), float(tol),
                                                bool(positive))
    return coef, n_iter, gap


class ElasticNet(LinearModel):
    """Elastic net by coordinate descent (in the C++ core):

        min_w 1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio)/2 ||w||^2

    Each coordinate update is a soft threshold: w_j = S(x_j . r_j, n alpha l1_ratio) /
    (||x_j||^2 + n alpha (1 - l1_ratio)); sweeps stop on sklearn's duality-gap rule.
    """

    def __init__(self, alpha: float = 1.0, *, l1_ratio: float = 0.5, fit_intercept: bool = True,
                 max_iter: int = 1000, tol: float = 1e-4, warm_start: bool = False, positive: bool = False,
                 random_state: RandomState = None):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y)
        if not isinstance(self.alpha, numbers.Real) or self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha!r}")
        if not 0 <= self.l1_ratio <= 1:
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        w = check_sample_weight(sample_weight, X.shape[0])
        w = w * (w.size / w.sum())
        Xc, yc, x_mean, y_mean = _center(X, y, w, self.fit_intercept)
        sw = np.sqrt(w)
        warm = self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (X.shape[1],)
        coef0 = self.coef_ if warm else None
        coef, n_iter, gap = _enet_fit(Xc * sw[:, None], yc * sw, float(self.alpha), float(self.l1_ratio),
                                      self.max_iter, self.tol, self.positive, coef0)
        if n_iter >= self.max_iter and gap > self.tol * float(np.sum((yc * sw) ** 2)):
            warnings.warn(f"Objective did not converge: duality gap {gap:.3g} after {n_iter} sweeps. "
                          "Increase max_iter.", ConvergenceWarning, stacklevel=2)
        self.coef_ = coef
        self.n_iter_ = int(n_iter)
        self.dual_gap_ = float(gap) / X.shape[0]
        self.intercept_ = float(y_mean - x_mean @ coef) if self.fit_intercept else 0.0
        return self


class Lasso(ElasticNet):
    """The lasso, ElasticNet with l1_ratio = 1: min 1/(2n) ||y - Xw - b||^2 + alpha ||w||_1."""

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, max_iter: int = 1000,
                 tol: float = 1e-4, warm_start: bool = False, positive: bool = False,
                 random_state: RandomState = None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state

    @property
    def l1_ratio(self) -> float:
        return 1.0


def enet_path(X: ArrayLike, y: ArrayLike, *, l1_ratio: float = 0.5, eps: float = 1e-3, n_alphas: int = 100,
              alphas: ArrayLike | None = None, max_iter: int = 1000, tol: float = 1e-4,
              positive: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The regularisation path: coefficients for a decreasing grid of alphas, each fit warm-started
    from the previous one. From alpha_max = max_j |x_j . y| / (n l1_ratio) (all-zero solution) down to
    eps * alpha_max, log-spaced. Returns (alphas (n_alphas,), coefs (n_features, n_alphas), dual_gaps).
    X and y are used as given (centre them first for a model with an intercept), as in sklearn.
    """
    X = check_array(X)
    y = check_array(y, name="y", ensure_2d=False)
    n = X.shape[0]
    if alphas is None:
        alpha_max = float(np.max(np.abs(X.T @ y))) / (n * max(l1_ratio, 1e-3))
        if alpha_max <= np.finfo(float).resolution:
            alphas = np.full(n_alphas, np.finfo(float).resolution)
        else:
            alphas = np.logspace(np.log10(alpha_max * eps), np.log10(alpha_max), num=n_alphas)[::-1]
    else:
        alphas = np.sort(np.asarray(alphas, dtype=np.float64))[::-1]
    coefs = np.empty((X.shape[1], alphas.size))
    gaps = np.empty(alphas.size)
    coef = np.zeros(X.shape[1])
    for i, a in enumerate(alphas):
        coef, _, gap = _enet_fit(X, y, float(a), float(l1_ratio), max_iter, tol, positive, coef)
        coefs[:, i] = coef
        gaps[i] = gap
    return alphas, coefs, gaps


def lasso_path(X: ArrayLike, y: ArrayLike, *, eps: float = 1e-3, n_alphas: int = 100,
               alphas: ArrayLike | None = None, max_iter: int = 1000, tol: float = 1e-4,
               positive: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`enet_path` with l1_ratio = 1 (the lasso's path, sklearn.linear_model.lasso_path)."""
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, max_iter=max_iter,
                     tol=tol, positive=positive)


# ---------------------------------------------------------------------------------------------
# Logistic regression
# ---------------------------------------------------------------------------------------------

def lbfgs(fun_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, max_iter: int,
          gtol: float, m: int = 10, ftol: float = 64 * np.finfo(float).eps) -> tuple[np.ndarray, int, bool]:
    """Minimise a smooth function with L-BFGS (two-loop recursion, Armijo backtracking).

    ``fun_grad(x) -> (f, g)``. Stops when max|g| <= gtol, when the relative decrease of f falls
    under ftol, or after max_iter iterations. Returns (x, iterations, converged).
    """
    x = x0.copy()
    f, g = fun_grad(x)
    hist: list[tuple[np.ndarray, np.ndarray, float]] = []
    for it in range(max_iter):
        if np.max(np.abs(g)) <= gtol:
            return x, it, True
        q = g.copy()
        alphas = []
        for s, yv, rho in reversed(hist):
            a = rho * (s @ q)
            q -= a * yv
            alphas.append(a)
        if hist:
            s, yv, _ = hist[-1]
            q *= (s @ yv) / (yv @ yv)
        else:
            q *= 1.0 / max(1.0, float(np.linalg.norm(g)))
        for (s, yv, rho), a in zip(hist, reversed(alphas), strict=True):
            b = rho * (yv @ q)
            q += s * (a - b)
        d = -q
        gd = float(g @ d)
        if gd >= 0:
            hist.clear()
            d, gd = -g, -float(g @ g)
        t = 1.0
        while True:
            fn, gn = fun_grad(x + t * d)
            if fn <= f + 1e-4 * t * gd or t < 1e-12:
                break
            t *= 0.5
        s = t * d
        yv = gn - g
        sy = float(s @ yv)
        if sy > 1e-12:
            hist.append((s, yv, 1.0 / sy))
            if len(hist) > m:
                hist.pop(0)
        x = x + s
        f_old, f, g = f, fn, gn
        if (f_old - f) <= ftol * max(abs(f_old), abs(f), 1.0):
            return x, it + 1, True
    return x, max_iter, np.max(np.abs(g)) <= gtol


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression: p(y=1|x) = sigmoid(w.x + b) for two classes, softmax(W x + b) for more
    (multinomial), fitted by minimising the mean log-loss plus the penalty scaled like sklearn's:

        1/W sum_i w_i loss_i + ||w||^2 / (2 C W)        (penalty='l2', L-BFGS, gradient norm <= tol)
        1/W sum_i w_i loss_i + ||w||_1 / (C W)          (penalty='l1', FISTA proximal gradient)

    with W = the sum of sample weights. ``coef_`` is (1, d) for two classes, (K, d) otherwise.
    """

    def __init__(self, penalty: Literal["l2", "l1"] | None = "l2", *, C: float = 1.0,
                 fit_intercept: bool = True, max_iter: int = 100, tol: float = 1e-4, solver: str = "auto",
                 random_state: RandomState = None):
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y, classifier=True)
        if self.penalty not in ("l2", "l1", None):
            raise ValueError(f"penalty must be 'l2', 'l1' or None, got {self.penalty!r}")
        if not isinstance(self.C, numbers.Real) or self.C <= 0:
            raise ValueError(f"C must be > 0, got {self.C!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 0:
            raise ValueError(f"max_iter must be an int >= 0, got {self.max_iter!r}")
        yk = self._encode_classes(y)
        K = len(self.classes_)
        if K < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, but the data "
                             f"contains only one class: {self.classes_[0]!r}")
        w = check_sample_weight(sample_weight, X.shape[0])
        n, d = X.shape
        K_out = 1 if K == 2 else K
        Y = (yk == 1).astype(np.float64)[:, None] if K == 2 else np.eye(K)[yk]
        W_sum = w.sum()
        sw = w / W_sum
        l2 = 0.0 if self.penalty != "l2" else 1.0 / (self.C * W_sum)
        fi = bool(self.fit_intercept)

        def unpack(theta):
            coef = theta[: K_out * d].reshape(K_out, d)
            b = theta[K_out * d:] if fi else np.zeros(K_out)
            return coef, b

        def smooth(theta):
            coef, b = unpack(theta)
            Z = X @ coef.T + b
            if K == 2:
                z = Z[:, 0]
                loss = float(sw @ (np.logaddexp(0, z) - Y[:, 0] * z))
                P = (1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))[:, None]
            else:
                Zs = Z - Z.max(axis=1, keepdims=True)
                lse = np.log(np.exp(Zs).sum(axis=1))
                loss = float(sw @ (lse - np.sum(Zs * Y, axis=1)))
                P = np.exp(Zs - lse[:, None])
            R = (P - Y) * sw[:, None]
            g_coef = R.T @ X + l2 * coef
            loss += 0.5 * l2 * float(np.sum(coef * coef))
            g = g_coef.ravel()
            if fi:
                g = np.concatenate([g, R.sum(axis=0)])
            return loss, g

        theta0 = np.zeros(K_out * d + (K_out if fi else 0))
        if self.penalty == "l1":
            theta, n_iter, ok = self._fista(smooth, theta0, K_out * d, 1.0 / (self.C * W_sum))
        else:
            theta, n_iter, ok = lbfgs(smooth, theta0, int(self.max_iter), float(self.tol))
        if not ok:
            warnings.warn(f"{type(self).__name__} did not converge in max_iter={self.max_iter} iterations; "
                          "increase max_iter or scale the data.", ConvergenceWarning, stacklevel=2)
        coef, b = unpack(theta)
        self.coef_ = coef.copy()
        self.intercept_ = b.copy() if fi else np.zeros(K_out)
        self.n_iter_ = np.array([n_iter])
        return self

    def _fista(self, smooth, theta, n_coef, lam):
        """Accelerated proximal gradient (FISTA) with backtracking on L: soft-thresholds the
        coefficients (not the intercepts) by lam / L each step; stops when the gradient mapping's
        largest entry is <= tol."""
        def prox(v, step):
            out = v.copy()
            c = out[:n_coef]
            out[:n_coef] = np.sign(c) * np.maximum(np.abs(c) - lam * step, 0.0)
            return out

        L = 1.0
        x, z, t = theta.copy(), theta.copy(), 1.0
        for it in range(int(self.max_iter)):
            fz, gz = smooth(z)
            while True:
                x_new = prox(z - gz / L, 1.0 / L)
                diff = x_new - z
                f_new, _ = smooth(x_new)
                if f_new <= fz + gz @ diff + 0.5 * L * (diff @ diff) + 1e-12:
                    break
                L *= 2.0
            t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
            z = x_new + ((t - 1) / t_new) * (x_new - x)
            x, t = x_new, t_new
            # The gradient mapping L (z - x_new) vanishes exactly at the optimum (the proximal
            # analogue of the gradient norm that L-BFGS tests against tol).
            if L * np.max(np.abs(diff)) <= self.tol:
                return x, it + 1, True
        return x, int(self.max_iter), False

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """w.x + b: (n_samples,) for two classes, (n_samples, K) otherwise."""
        check_is_fitted(self, "coef_")
        X = self._validate_X(X)
        Z = X @ self.coef_.T + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        Z = self.decision_function(X)
        if Z.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-np.clip(Z, -500, 500)))
            return np.stack([1 - p, p], axis=1)
        Z = Z - Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        Z = self.decision_function(X)
        idx = (Z > 0).astype(np.int64) if Z.ndim == 1 else np.argmax(Z, axis=1)
        return self.classes_[idx]
