"""Support vector machines, primer 4.1.2: the soft-margin kernel SVM (SVC) and the linear SVM.

The C-SVC primal and its dual (what SMO solves, in the C++ core):

    primal:  min_{w,b,xi} 1/2 ||w||^2 + C sum_i xi_i   s.t.  y_i (w.phi(x_i) + b) >= 1 - xi_i, xi_i >= 0
    dual:    min_a 1/2 a^T Q a - e^T a,   0 <= a_i <= C,  y^T a = 0,   Q_ij = y_i y_j K(x_i, x_j)
    f(x) = sum_{i in SV} y_i a_i K(x_i, x) + b

Kernels: linear x.x', poly (gamma x.x' + coef0)^degree, rbf exp(-gamma ||x - x'||^2),
sigmoid tanh(gamma x.x' + coef0). Multiclass is one-vs-one as in LIBSVM (k(k-1)/2 binary machines,
majority vote); ``decision_function_shape='ovr'`` aggregates the votes and confidences like sklearn.

``LinearSVC`` minimises 1/2 ||w||^2 + C sum_i max(0, 1 - y_i w.x_i)^p (p = 1 hinge, 2 squared
hinge) by dual coordinate descent (Hsieh et al. 2008), one-vs-rest for multiclass.
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
    ClassifierMixin,
    ConvergenceWarning,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    progress,
)
from .linear_model import lbfgs

_KERNELS = ("linear", "poly", "rbf", "sigmoid")

# scikit-learn records the same for its own SVC and LinearSVC.
_STOPS_WITHIN_TOL = {"check_sample_weight_equivalence_on_dense_data":
                     "the solver stops within tol: a weighted row and its repeated copies converge to "
                     "solutions that differ by up to tol, not to the same one."}


def _ovr_decision_function(predictions: np.ndarray, confidences: np.ndarray, n_classes: int) -> np.ndarray:
    """One-vs-one votes plus confidences squashed into (-1/3, 1/3), sklearn's ovr aggregation."""
    n = predictions.shape[0]
    votes = np.zeros((n, n_classes))
    conf = np.zeros((n, n_classes))
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            conf[:, i] -= confidences[:, k]
            conf[:, j] += confidences[:, k]
            votes[predictions[:, k] == 0, i] += 1
            votes[predictions[:, k] == 1, j] += 1
            k += 1
    return votes + conf / (3 * (np.abs(conf) + 1))


class SVC(ClassifierMixin, BaseEstimator):
    """C-support vector classifier (kernel SVM solved by SMO), scikit-learn's SVC interface.

    Parameters
    ----------
    C : float > 0, the penalty on margin violations (sample_weight multiplies it per row).
    kernel : 'rbf', 'linear', 'poly' or 'sigmoid'.
    degree, gamma, coef0 : kernel parameters; gamma 'scale' = 1 / (n_features * X.var()),
        'auto' = 1 / n_features.
    tol : stopping tolerance on the maximal KKT violation.
    cache_size : MB of kernel columns kept (LRU).
    max_iter : SMO iterations per binary problem, -1 for no limit.
    decision_function_shape : 'ovr' or 'ovo' (multiclass only).
    verbose : > 0 shows a progress bar over the one-vs-one machines (tqdm, on stderr).

    Attributes
    ----------
    support_ : (n_SV,) int array, indices of the support vectors.
    support_vectors_ : (n_SV, d) array.
    n_support_ : (n_classes,) int array, support vectors per class.
    dual_coef_ : (n_classes - 1, n_SV) array holding y_i a_i.
    intercept_ : (n_classes (n_classes - 1) / 2,) array.
    classes_ : the class labels.
    n_iter_ : SMO iterations per binary problem.
    """

    _expected_failed_checks = _STOPS_WITHIN_TOL

    def __init__(self, C: float = 1.0, *, kernel: Literal["linear", "poly", "rbf", "sigmoid"] = "rbf",
                 degree: int = 3, gamma: float | Literal["scale", "auto"] = "scale", coef0: float = 0.0,
                 shrinking: bool = True, tol: float = 1e-3, cache_size: float = 200, max_iter: int = -1,
                 decision_function_shape: Literal["ovr", "ovo"] = "ovr", break_ties: bool = False,
                 random_state: RandomState = None, verbose: int | bool = 0):
        self.C = C
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.shrinking = shrinking
        self.tol = tol
        self.cache_size = cache_size
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape
        self.break_ties = break_ties
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not self.C > 0:
            raise ValueError(f"C must be a float > 0, got {self.C!r}")
        if self.kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {_KERNELS}, got {self.kernel!r}")
        if isinstance(self.degree, bool) or not isinstance(self.degree, numbers.Integral) or self.degree < 0:
            raise ValueError(f"degree must be an int >= 0, got {self.degree!r}")
        if isinstance(self.gamma, str):
            if self.gamma not in ("scale", "auto"):
                raise ValueError(f"gamma must be 'scale', 'auto' or a float >= 0, got {self.gamma!r}")
        elif not isinstance(self.gamma, numbers.Real) or not self.gamma >= 0:
            raise ValueError(f"gamma must be 'scale', 'auto' or a float >= 0, got {self.gamma!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise ValueError(f"tol must be a float > 0, got {self.tol!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter == 0 or self.max_iter < -1:
            raise ValueError(f"max_iter must be -1 or an int >= 1, got {self.max_iter!r}")
        if not isinstance(self.cache_size, numbers.Real) or not self.cache_size > 0:
            raise ValueError(f"cache_size must be > 0 (MB), got {self.cache_size!r}")
        if self.decision_function_shape not in ("ovr", "ovo"):
            raise ValueError(f"decision_function_shape must be 'ovr' or 'ovo', got "
                             f"{self.decision_function_shape!r}")

    def _kernel_args(self):
        return self.kernel, float(self._gamma), float(self.coef0), int(self.degree)

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        self._check_params()
        X, y = self._validate_fit_X_y(X, y, classifier=True)
        w = check_sample_weight(sample_weight, X.shape[0])
        yi = self._encode_classes(y)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {k} class")
        if isinstance(self.gamma, str):
            var = X.var()
            self._gamma = (1.0 / (X.shape[1] * var) if var != 0 else 1.0) if self.gamma == "scale" \
                else 1.0 / X.shape[1]
        else:
            self._gamma = float(self.gamma)
        keep = w > 0  # a row of weight 0 has C_i = 0: its alpha is pinned at 0, so it is dropped
        if np.unique(yi[keep]).size < 2:
            raise ValueError("Invalid input - all samples with positive weights belong to the same class.")
        machines = []  # (indices of this pair's support vectors, their y_i a_i, rho)
        iters = []
        # verbose: a bar over the one-vs-one machines (stderr); silent by default.
        pairs = progress([(a, b) for a in range(k) for b in range(a + 1, k)], verbose=self.verbose,
                         desc="SVC", unit="machine")
        for a, b in pairs:
            rows = np.flatnonzero(keep & ((yi == a) | (yi == b)))
            ys = np.where(yi[rows] == a, 1.0, -1.0)
            if (ys > 0).all() or (ys < 0).all():  # a class with no weighted rows: sign only
                machines.append((rows[:0], np.zeros(0), -1.0 if (ys > 0).all() else 1.0))
                iters.append(0)
                continue
            Xs = np.ascontiguousarray(X[rows])
            alpha, rho, it = _core.svm_smo(Xs, ys, np.ascontiguousarray(float(self.C) * w[rows]),
                                           *self._kernel_args(), float(self.tol), int(self.max_iter),
                                           float(self.cache_size))
            if self.max_iter != -1 and it >= self.max_iter:
                import warnings

                warnings.warn(f"Solver terminated early (max_iter={self.max_iter}). Consider "
                              "pre-processing your data with StandardScaler or MinMaxScaler.",
                              ConvergenceWarning, stacklevel=2)
            sv = alpha > 0
            machines.append((rows[sv], ys[sv] * alpha[sv], rho))
            iters.append(it)
            pairs.set_postfix(n_iter=it, n_SV=int(sv.sum()))
        # Global support vectors: the union over machines, ordered by class then row (LIBSVM's order).
        is_sv = np.zeros(X.shape[0], dtype=bool)
        for rows, _, _ in machines:
            is_sv[rows] = True
        support = np.concatenate([np.flatnonzero(is_sv & (yi == c)) for c in range(k)]).astype(np.int32)
        position = np.full(X.shape[0], -1, dtype=np.int64)
        position[support] = np.arange(support.size)
        dual = np.zeros((k - 1, support.size))
        intercept = np.empty(len(machines))
        m = 0
        for a in range(k):
            for b in range(a + 1, k):
                rows, coef, rho = machines[m]
                in_a = yi[rows] == a
                dual[b - 1, position[rows[in_a]]] = coef[in_a]
                dual[a, position[rows[~in_a]]] = coef[~in_a]
                intercept[m] = -rho
                m += 1
        self.support_ = support
        self.support_vectors_ = X[support].copy()
        self.n_support_ = np.array([(yi[support] == c).sum() for c in range(k)], dtype=np.int32)
        self.dual_coef_ = dual
        self.intercept_ = intercept
        self.n_iter_ = np.array(iters, dtype=np.int32)
        if k == 2:  # sklearn's binary convention: positive decision means classes_[1]
            self.dual_coef_ = -self.dual_coef_
            self.intercept_ = -self.intercept_
        self.shape_fit_ = X.shape
        return self

    @property
    def coef_(self) -> np.ndarray:
        """w = sum_i y_i a_i x_i per binary machine (linear kernel only)."""
        check_is_fitted(self, "dual_coef_")
        if self.kernel != "linear":
            raise AttributeError("coef_ is only available when using a linear kernel")
        k = len(self.classes_)
        if k == 2:
            return self.dual_coef_ @ self.support_vectors_
        out = []
        starts = np.concatenate([[0], np.cumsum(self.n_support_)])
        for a in range(k):
            for b in range(a + 1, k):
                sa, sb = slice(starts[a], starts[a + 1]), slice(starts[b], starts[b + 1])
                out.append(self.dual_coef_[b - 1, sa] @ self.support_vectors_[sa]
                           + self.dual_coef_[a, sb] @ self.support_vectors_[sb])
        return np.array(out)

    def _decision_ovo(self, X) -> np.ndarray:
        """One-vs-one decision values (n, n_pairs); positive votes for the pair's first class."""
        X = self._validate_X(X)
        K = _core.svm_kernel(np.ascontiguousarray(X), np.ascontiguousarray(self.support_vectors_),
                             *self._kernel_args())
        k = len(self.classes_)
        if k == 2:
            return -(K @ self.dual_coef_[0] + self.intercept_[0])[:, None]
        starts = np.concatenate([[0], np.cumsum(self.n_support_)])
        out = np.empty((X.shape[0], len(self.intercept_)))
        m = 0
        for a in range(k):
            for b in range(a + 1, k):
                sa, sb = slice(starts[a], starts[a + 1]), slice(starts[b], starts[b + 1])
                out[:, m] = K[:, sa] @ self.dual_coef_[b - 1, sa] + K[:, sb] @ self.dual_coef_[a, sb] \
                    + self.intercept_[m]
                m += 1
        return out

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """f(x) = sum_i y_i a_i K(x_i, x) + b: (n,) for two classes, else (n, k) ('ovr') or
        (n, k(k-1)/2) ('ovo')."""
        check_is_fitted(self, "dual_coef_")
        dec = self._decision_ovo(X)
        if len(self.classes_) == 2:
            return -dec[:, 0]
        if self.decision_function_shape == "ovr":
            return _ovr_decision_function(dec < 0, -dec, len(self.classes_))
        return dec

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The class with the most one-vs-one votes (the first on a tie, as LIBSVM)."""
        check_is_fitted(self, "dual_coef_")
        dec = self._decision_ovo(X)
        k = len(self.classes_)
        if self.break_ties and k > 2 and self.decision_function_shape == "ovr":
            return self.classes_[np.argmax(_ovr_decision_function(dec < 0, -dec, k), axis=1)]
        votes = np.zeros((dec.shape[0], k), dtype=np.int64)
        m = 0
        for a in range(k):
            for b in range(a + 1, k):
                pos = dec[:, m] > 0
                votes[pos, a] += 1
                votes[~pos, b] += 1
                m += 1
        return self.classes_[np.argmax(votes, axis=1)]


class LinearSVC(ClassifierMixin, BaseEstimator):
    """Linear SVM (hinge or squared hinge loss) by dual coordinate descent, one-vs-rest.

    min_w 1/2 ||w||^2 + C sum_i l(y_i w.x_i),  l(z) = max(0, 1 - z) ('hinge') or max(0, 1 - z)^2
    ('squared_hinge'); the intercept is learned as the weight of a constant feature
    ``intercept_scaling`` (regularised, as in LIBLINEAR).

    Parameters
    ----------
    loss : 'squared_hinge' (default) or 'hinge'.
    dual : 'auto' (default), True or False. True: dual coordinate descent (Hsieh et al. 2008),
        ``a_i <- clip(a_i - G_i / Qbar_ii, 0, U)``, stopped when the projected gradient's spread is
        <= ``tol``. False (squared hinge only): the primal by L-BFGS, stopped when
        max|grad| <= ``tol`` max|grad(0)|. 'auto' picks the primal when n_samples >= n_features
        and the loss allows it, as scikit-learn does: dual descent needs many epochs on
        uncentred or badly scaled data, the primal a few iterations.
    tol, C, fit_intercept, intercept_scaling, max_iter (epochs or L-BFGS iterations), random_state
        (the order of the dual's coordinates) : as scikit-learn's.

    Attributes
    ----------
    coef_ : (n_classes or 1, d) array.
    intercept_ : (n_classes or 1,) array.
    classes_ : the class labels.
    n_iter_ : the most epochs (dual) or iterations (primal) of the one-vs-rest problems.
    """

    _expected_failed_checks = _STOPS_WITHIN_TOL

    def __init__(self, *, loss: Literal["hinge", "squared_hinge"] = "squared_hinge",
                 dual: bool | Literal["auto"] = "auto", tol: float = 1e-4, C: float = 1.0,
                 fit_intercept: bool = True,
                 intercept_scaling: float = 1.0, max_iter: int = 1000, random_state: RandomState = None):
        self.loss = loss
        self.dual = dual
        self.tol = tol
        self.C = C
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        if self.loss not in ("hinge", "squared_hinge"):
            raise ValueError(f"loss must be 'hinge' or 'squared_hinge', got {self.loss!r}")
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not self.C > 0:
            raise ValueError(f"C must be a float > 0, got {self.C!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {self.max_iter!r}")
        if not (isinstance(self.dual, str) and self.dual == "auto" or isinstance(self.dual, bool)):
            raise ValueError(f"dual must be 'auto', True or False, got {self.dual!r}")
        if self.dual is False and self.loss == "hinge":
            raise ValueError("dual=False is not supported with loss='hinge' (its primal is not smooth): "
                             "use dual=True or loss='squared_hinge'")
        X, y = self._validate_fit_X_y(X, y, classifier=True)
        w = check_sample_weight(sample_weight, X.shape[0])
        yi = self._encode_classes(y)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {k} class")
        dual = self.dual if isinstance(self.dual, bool) else \
            (self.loss == "hinge" or X.shape[0] < X.shape[1])
        Xa = X
        if self.fit_intercept:
            Xa = np.hstack([X, np.full((X.shape[0], 1), float(self.intercept_scaling))])
        rng = check_random_state(self.random_state)
        targets = [1] if k == 2 else range(k)
        coefs, iters = [], []
        for c in targets:
            ys = np.where(yi == c, 1.0, -1.0)
            wv, it = self._dcd(Xa, ys, float(self.C) * w, rng) if dual else \
                self._primal(Xa, ys, float(self.C) * w)
            coefs.append(wv)
            iters.append(it)
        W = np.array(coefs)
        if self.fit_intercept:
            self.coef_, self.intercept_ = W[:, :-1].copy(), W[:, -1] * float(self.intercept_scaling)
        else:
            self.coef_, self.intercept_ = W, np.zeros(W.shape[0])
        self.n_iter_ = int(max(iters))
        return self

    def _dcd(self, X, y, cw, rng):
        """Dual coordinate descent in the core: a_i <- clip(a_i - G / Qbar_ii, 0, U), w = sum a_i y_i x_i."""
        wv, it = _core.linear_svm_dcd(np.ascontiguousarray(X), y, np.ascontiguousarray(cw),
                                      self.loss == "hinge", int(self.max_iter), float(self.tol),
                                      int(rng.randint(2**31 - 1)))
        if it >= self.max_iter:
            import warnings

            warnings.warn("Liblinear failed to converge, increase the number of iterations.",
                          ConvergenceWarning, stacklevel=3)
        return wv, it

    def _primal(self, X, y, cw):
        """Squared hinge in the primal by L-BFGS: f(w) = 1/2 ||w||^2 + sum_i c_i m_i^2 with
        m_i = max(0, 1 - y_i w.x_i), grad f = w - 2 sum_i c_i m_i y_i x_i."""

        def fun_grad(wv):
            m = np.maximum(0.0, 1.0 - y * (X @ wv))
            return 0.5 * float(wv @ wv) + float(cw @ (m * m)), wv - 2.0 * (X.T @ (cw * m * y))

        w0 = np.zeros(X.shape[1])
        gtol = float(self.tol) * max(float(np.abs(fun_grad(w0)[1]).max()), np.finfo(float).tiny)
        wv, it, ok = lbfgs(fun_grad, w0, int(self.max_iter), gtol)
        if not ok:
            import warnings

            warnings.warn("The primal L-BFGS solver failed to converge, increase the number of iterations.",
                          ConvergenceWarning, stacklevel=3)
        return wv, it

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = self._validate_X(X)
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X: ArrayLike) -> np.ndarray:
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]
