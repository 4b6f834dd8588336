"""Ensembles of trees: random forests (primer 4.1.4) and gradient boosting (4.1.5).

Random forest: each tree sees a bootstrap sample and, at each node, a random subset of
``max_features`` features; the forest averages their votes (class fractions) or predictions.
The trees grow in parallel in the C++ core, one per thread (``_core.forest_build``).

Gradient boosting: an additive model F_m(x) = F_{m-1}(x) + eta * f_m(x), each tree f_m fitted to
the loss's gradient g and hessian h at F_{m-1} (a Newton step): on histograms of g and h the
split gain is G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) - G^2/(H+lambda) and a leaf predicts
-G/(H+lambda). Losses: squared error (g = F - y, h = 1), binary log-loss (g = p - y,
h = p(1-p)) and multiclass softmax (one tree per class and round).
The trees grow as LightGBM grows them (``_core.tree_build`` with criterion 'newton'): features
binned once per fit into uint8 codes stored by feature, the rows of each leaf kept contiguous in an
index array and their gradients gathered in that order, only the smaller child's histograms built
(the larger's are the parent's minus them, in parallel over features), the best leaf split first
under ``max_leaf_nodes``; the core returns each row's leaf, so a round updates F without a traversal.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._typing import MaxFeatures, RandomState, Self
from .base import (
    RANDOM_ROW_DRAWS,
    BaseEstimator,
    ProbabilisticClassifierMixin,
    RegressorMixin,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    n_threads,
    progress,
)
from .tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    Tree,
    _sample_counts,
    _tree_params,
    bin_features,
)


class _Threads:
    """Runs a block with grimoire's thread count set from ``n_jobs``, then restores it."""

    def __init__(self, n_jobs):
        self.n = n_threads(n_jobs)

    def __enter__(self):
        self.prev = _core.get_num_threads()
        _core.set_num_threads(self.n)

    def __exit__(self, *exc):
        _core.set_num_threads(self.prev)


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------
# Random forests
# ---------------------------------------------------------------------------------------------

class BaseForest(BaseEstimator):
    _tree_class: type = DecisionTreeClassifier

    def _fit_forest(self, X, y_core, n_classes: int, criterion: str, sample_weight):
        n_estimators = _check_positive_int(self.n_estimators, "n_estimators")
        params = _tree_params(self, X.shape[1])
        params.update(_sample_counts(self, X.shape[0]))
        n = X.shape[0]
        w = None if sample_weight is None else check_sample_weight(sample_weight, n)
        if self.oob_score and not self.bootstrap:
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        if self.max_samples is None:
            max_samples = n
        elif isinstance(self.max_samples, numbers.Integral):
            max_samples = int(self.max_samples)
        else:
            max_samples = max(1, round(n * float(self.max_samples)))
        if max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {self.max_samples!r}")
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, np.iinfo(np.int64).max, size=n_estimators, dtype=np.int64).astype(np.uint64)
        codes, n_bins, thresholds = bin_features(X, self.max_bins, sample_weight=w)
        with _Threads(self.n_jobs):
            # One call grows every tree, one per thread. With verbose, a bar over the trees: they grow
            # in batches of a few per thread (each tree depends only on its seed, so the forest is the
            # same).
            step = n_estimators
            if self.verbose:
                step = min(n_estimators, 4 * _core.get_num_threads())
            arrays, inbags = [], []
            with progress(total=n_estimators, verbose=self.verbose, desc=type(self).__name__,
                          unit="tree") as bar:
                for lo in range(0, n_estimators, step):
                    a, b = _core.forest_build(
                        codes, n_bins, criterion, y_core, w, n_classes, seeds[lo:lo + step],
                        bool(self.bootstrap), max_samples, return_inbag=bool(self.oob_score), **params)
                    arrays += a
                    inbags.append(b)
                    bar.update(len(a))
            inbag = inbags[0] if len(inbags) == 1 else \
                (None if inbags[0] is None else np.concatenate(inbags, axis=0))
        self.estimators_ = []
        tree_params = {k: getattr(self, k) for k in ("criterion", "max_depth", "min_samples_split",
                                                     "min_samples_leaf", "max_features", "max_leaf_nodes",
                                                     "min_impurity_decrease", "max_bins")}
        for a, seed in zip(arrays, seeds, strict=True):
            est = self._tree_class(random_state=int(seed % np.uint64(2**31)), **tree_params)
            est.tree_ = Tree(a, thresholds)
            est.n_features_in_ = self.n_features_in_
            est.max_features_ = params["max_features"]
            if n_classes:
                est.classes_ = self.classes_
                est.n_classes_ = n_classes
            self.estimators_.append(est)
        return inbag

    def _tree_outputs(self, X: np.ndarray) -> np.ndarray:
        """Sum over trees of each tree's leaf value, (n_samples, n_values)."""
        out = np.zeros((X.shape[0], self.estimators_[0].tree_.value.shape[1]))
        for est in self.estimators_:
            out += est.tree_.value[est.tree_.apply(X)]
        return out

    def _oob(self, X: np.ndarray, inbag: np.ndarray):
        n, n_values = X.shape[0], self.estimators_[0].tree_.value.shape[1]
        total = np.zeros((n, n_values))
        counts = np.zeros(n)
        for est, bag in zip(self.estimators_, inbag, strict=True):
            rows = np.flatnonzero(bag == 0)
            if rows.size:
                total[rows] += est.tree_.value[est.tree_.apply(X[rows])]
                counts[rows] += 1
        if (counts == 0).any():
            warnings.warn("Some inputs do not have OOB scores. This probably means too few trees were used "
                          "to compute any reliable OOB estimates.", UserWarning, stacklevel=3)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / counts[:, None], counts > 0

    @property
    def feature_importances_(self) -> np.ndarray:
        """Mean over trees of each tree's normalised impurity decrease per feature."""
        check_is_fitted(self, "estimators_")
        imps = [e.tree_.feature_importances(self.n_features_in_) for e in self.estimators_]
        imp = np.mean(imps, axis=0)
        total = imp.sum()
        return imp / total if total > 0 else imp

    def apply(self, X: ArrayLike) -> np.ndarray:
        """Leaf index of each sample in each tree, (n_samples, n_estimators)."""
        X = self._validate_X(X)
        return np.stack([e.tree_.apply(X) for e in self.estimators_], axis=1)


class RandomForestClassifier(ProbabilisticClassifierMixin, BaseForest):
    """Random forest of CART classification trees (bootstrap + per-node feature sampling).

    ``n_jobs`` sets the threads the core grows trees with (None: grimoire's setting).
    ``max_bins`` (default 255) quantile-bins each feature once per fit; ``oob_score=True``
    scores each sample with the trees that did not see it (``oob_score_``,
    ``oob_decision_function_``).
    ``verbose`` > 0 shows a progress bar over the trees (tqdm, on stderr).
    """

    _tree_class = DecisionTreeClassifier

    _expected_failed_checks = RANDOM_ROW_DRAWS

    def __init__(self, n_estimators: int = 100, criterion: Literal["gini", "entropy", "log_loss"] = "gini",
                 max_depth: int | None = None, min_samples_split: int | float = 2,
                 min_samples_leaf: int | float = 1, max_features: MaxFeatures = "sqrt",
                 max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0,
                 bootstrap: bool = True, oob_score: bool = False, n_jobs: int | None = None,
                 random_state: RandomState = None,
                 max_samples: int | float | None = None, max_bins: int = 255, verbose: int | bool = 0):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_samples = max_samples
        self.max_bins = max_bins
        self.verbose = verbose

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y, classifier=True)
        yk = self._encode_classes(y)
        self.n_classes_ = len(self.classes_)
        if self.criterion not in ("gini", "entropy", "log_loss"):
            raise ValueError(f"criterion must be 'gini', 'entropy' or 'log_loss', got {self.criterion!r}")
        criterion = "entropy" if self.criterion == "log_loss" else self.criterion
        inbag = self._fit_forest(X, yk, self.n_classes_, criterion, sample_weight)
        if self.oob_score:
            proba, seen = self._oob(X, inbag)
            self.oob_decision_function_ = proba
            self.oob_score_ = float(np.mean(np.argmax(proba[seen], axis=1) == yk[seen]))
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Mean over trees of the leaf class fractions, (n_samples, n_classes)."""
        check_is_fitted(self, "estimators_")
        X = self._validate_X(X)
        return self._tree_outputs(X) / len(self.estimators_)


class RandomForestRegressor(RegressorMixin, BaseForest):
    """Random forest of CART regression trees; predicts the mean of the trees' predictions.

    Parameters as :class:`RandomForestClassifier`'s (``criterion`` 'squared_error', ``max_features``
    1.0); ``verbose`` > 0 shows a progress bar over the trees (tqdm, on stderr).
    """

    _tree_class = DecisionTreeRegressor

    _expected_failed_checks = RANDOM_ROW_DRAWS

    def __init__(self, n_estimators: int = 100, criterion: Literal["squared_error"] = "squared_error",
                 max_depth: int | None = None, min_samples_split: int | float = 2,
                 min_samples_leaf: int | float = 1, max_features: MaxFeatures = 1.0,
                 max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0,
                 bootstrap: bool = True, oob_score: bool = False, n_jobs: int | None = None,
                 random_state: RandomState = None,
                 max_samples: int | float | None = None, max_bins: int = 255, verbose: int | bool = 0):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_samples = max_samples
        self.max_bins = max_bins
        self.verbose = verbose

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y)
        if self.criterion != "squared_error":
            raise ValueError(f"criterion must be 'squared_error', got {self.criterion!r}")
        y = np.ascontiguousarray(y, dtype=np.float64)
        inbag = self._fit_forest(X, y, 0, "squared_error", sample_weight)
        if self.oob_score:
            pred, seen = self._oob(X, inbag)
            self.oob_prediction_ = pred[:, 0]
            yt, yp = y[seen], pred[seen, 0]
            ss_tot = np.sum((yt - yt.mean()) ** 2)
            self.oob_score_ = float(1 - np.sum((yt - yp) ** 2) / ss_tot) if ss_tot > 0 else 0.0
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = self._validate_X(X)
        return self._tree_outputs(X)[:, 0] / len(self.estimators_)


# ---------------------------------------------------------------------------------------------
# Gradient boosting
# ---------------------------------------------------------------------------------------------

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # e = exp(-|z|) never overflows: 1 / (1 + e) for z >= 0, e / (1 + e) below. One exp and no
    # boolean indexing (which cost more than the exp, once per boosting round).
    e = np.exp(-np.abs(z))
    out = 1.0 / (1.0 + e)
    np.multiply(out, e, out=out, where=z < 0)
    return out


def _log1p_exp(z: np.ndarray) -> np.ndarray:
    """log(1 + exp(z)) without overflow: max(z, 0) + log1p(exp(-|z|)) (np.logaddexp(0, z), 4x faster)."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


class BaseGradientBoosting(BaseEstimator):
    def _check_params(self):
        _check_positive_int(self.n_estimators, "n_estimators")
        if not (isinstance(self.learning_rate, numbers.Real) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not (isinstance(self.subsample, numbers.Real) and 0 < self.subsample <= 1):
            raise ValueError(f"subsample must be in (0, 1], got {self.subsample!r}")
        if not (0 < self.validation_fraction < 1):
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if self.n_iter_no_change is not None:
            _check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        if self.l2_regularization < 0:
            raise ValueError(f"l2_regularization must be >= 0, got {self.l2_regularization}")

    # loss-specific pieces, (n, K) raw scores
    def _init_raw(self, y, w) -> np.ndarray: ...
    def _grad_hess(self, y, raw) -> tuple[np.ndarray, np.ndarray]: ...
    def _loss(self, y, raw, w) -> float: ...

    def _boost(self, X, y, sample_weight):
        self._check_params()
        n = X.shape[0]
        w = check_sample_weight(sample_weight, n)
        rng = check_random_state(self.random_state)
        early = self.n_iter_no_change is not None
        if early:
            idx = rng.permutation(n)
            n_val = max(1, int(round(self.validation_fraction * n)))
            if n - n_val < 2:
                raise ValueError(f"validation_fraction={self.validation_fraction} leaves too few samples "
                                 "to train")
            val, train = np.sort(idx[:n_val]), np.sort(idx[n_val:])
            X_val, y_val, w_val = X[val], y[val], w[val]
            X, y, w = X[train], y[train], w[train]
            n = X.shape[0]
        params = _tree_params(self, X.shape[1])
        params.update(_sample_counts(self, n))
        codes, n_bins, thresholds = bin_features(X, self.max_bins, subsample=200_000, random_state=rng,
                                                 sample_weight=w)
        if n_bins.max() <= 256:  # one byte per code: half the memory traffic of the histogram passes
            codes = codes.astype(np.uint8)
        self.init_raw_ = self._init_raw(y, w)
        raw = np.tile(self.init_raw_, (n, 1))
        K = raw.shape[1]
        if early:
            raw_val = np.tile(self.init_raw_, (X_val.shape[0], 1))
            self.validation_score_ = [-self._loss(y_val, raw_val, w_val)]
        lr = float(self.learning_rate)
        self.estimators_ = []
        self.train_score_ = []
        n_sub = max(1, int(self.subsample * n))
        w_core = None if sample_weight is None else w  # unweighted: the core skips the multiply
        threads = _core.get_num_threads()
        # verbose: a bar over the stages with the training loss (stderr); silent by default.
        stages = progress(range(int(self.n_estimators)), verbose=self.verbose, desc=type(self).__name__,
                          unit="round")
        for _ in stages:
            g, h = self._grad_hess(y, raw)
            sub = None if n_sub >= n else np.sort(rng.choice(n, n_sub, replace=False)).astype(np.int64)
            stage = []
            for k in range(K):
                seed = int(rng.randint(np.iinfo(np.int32).max))
                arrays = _core.tree_build(codes, n_bins, "newton", np.ascontiguousarray(g[:, k]),
                                          h=np.ascontiguousarray(h[:, k]), sample_weight=w_core,
                                          sample_indices=sub,
                                          l2=float(self.l2_regularization), seed=seed, num_threads=threads,
                                          **params)
                arrays["value"] *= lr
                tree = Tree(arrays, thresholds, midpoints=False)  # consistent with the binned leaves
                raw[:, k] += tree.value[arrays["leaf"], 0]
                if early:
                    raw_val[:, k] += tree.value[tree.apply(X_val), 0]
                stage.append(tree)
            self.estimators_.append(stage)
            self.train_score_.append(self._loss(y, raw, w))
            stages.set_postfix(train_loss=f"{self.train_score_[-1]:.4g}")
            if early:
                self.validation_score_.append(-self._loss(y_val, raw_val, w_val))
                if self._should_stop(self.validation_score_):
                    break
        self.n_estimators_ = len(self.estimators_)
        self.train_score_ = np.asarray(self.train_score_)
        if early:
            self.validation_score_ = np.asarray(self.validation_score_)
        return self

    def _should_stop(self, scores: list[float]) -> bool:
        """HistGradientBoosting's rule: stop when none of the last n_iter_no_change scores beats the
        score n_iter_no_change + 1 iterations back by more than tol."""
        k = int(self.n_iter_no_change)
        if len(scores) <= k:
            return False
        reference = scores[-k - 1]
        tol = 0.0 if self.tol is None else float(self.tol)
        return not any(s > reference + tol for s in scores[-k:])

    def _raw_predict(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = self._validate_X(X)
        raw = np.tile(self.init_raw_, (X.shape[0], 1))
        for stage in self.estimators_:
            for k, tree in enumerate(stage):
                raw[:, k] += tree.value[tree.apply(X), 0]
        return raw

    @property
    def feature_importances_(self) -> np.ndarray:
        """Total Newton gain per feature over all trees, normalised to sum to 1."""
        check_is_fitted(self, "estimators_")
        imp = sum(t.feature_importances(self.n_features_in_, normalize=False)
                  for stage in self.estimators_ for t in stage)
        total = np.sum(imp)
        return imp / total if total > 0 else np.zeros(self.n_features_in_)


_GB_DOC_PARAMS = """
    Parameters follow scikit-learn's GradientBoosting*/HistGradientBoosting*: ``learning_rate`` (eta),
    ``n_estimators`` (rounds), ``max_depth`` (default 3) or ``max_leaf_nodes`` (best-first growth),
    ``subsample`` (stochastic boosting), ``min_samples_leaf``, ``max_features``, ``l2_regularization``
    (lambda), ``max_bins`` (255: histogram split finding); early stopping holds out
    ``validation_fraction`` of the data when ``n_iter_no_change`` is set and stops when the held-out
    loss has not improved by ``tol`` for that many rounds (``n_estimators_`` rounds kept).
    ``verbose`` > 0 shows a progress bar over the rounds with the training loss (tqdm, on stderr).
"""


class GradientBoostingClassifier(ProbabilisticClassifierMixin, BaseGradientBoosting):
    __doc__ = ("Gradient-boosted trees for classification: binary log-loss or multiclass softmax, "
               "second-order (Newton) histogram trees.\n" + _GB_DOC_PARAMS)

    def __init__(self, loss: Literal["log_loss"] = "log_loss", learning_rate: float = 0.1,
                 n_estimators: int = 100, subsample: float = 1.0, min_samples_split: int | float = 2,
                 min_samples_leaf: int | float = 1, max_depth: int | None = 3,
                 max_leaf_nodes: int | None = None, max_features: MaxFeatures = None,
                 min_impurity_decrease: float = 0.0, random_state: RandomState = None,
                 validation_fraction: float = 0.1, n_iter_no_change: int | None = None, tol: float = 1e-4,
                 l2_regularization: float = 0.0, max_bins: int = 255, verbose: int | bool = 0):
        self.verbose = verbose
        self.loss = loss
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.subsample = subsample
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.max_features = max_features
        self.min_impurity_decrease = min_impurity_decrease
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        if self.loss != "log_loss":
            raise ValueError(f"loss must be 'log_loss', got {self.loss!r}")
        X, y = self._validate_fit_X_y(X, y, classifier=True)
        yk = self._encode_classes(y)
        self.n_classes_ = len(self.classes_)
        if self.n_classes_ < 2:
            raise ValueError(f"y contains 1 class ({self.classes_[0]!r}); a classifier needs at least two "
                             "classes in the data.")
        return self._boost(X, yk, sample_weight)

    def _init_raw(self, y, w):
        K = self.n_classes_
        prior = np.bincount(y, weights=w, minlength=K) / w.sum()
        prior = np.clip(prior, 1e-15, 1 - 1e-15)
        if K == 2:
            return np.array([np.log(prior[1] / prior[0])])
        return np.log(prior)

    def _grad_hess(self, y, raw):
        if self.n_classes_ == 2:
            p = _sigmoid(raw[:, 0])
            return (p - y)[:, None], (p * (1 - p))[:, None]
        p = _softmax(raw)
        onehot = np.zeros_like(p)
        onehot[np.arange(y.size), y] = 1.0
        return p - onehot, p * (1 - p)

    def _loss(self, y, raw, w):
        if self.n_classes_ == 2:
            z = raw[:, 0]
            loss = _log1p_exp(z) - y * z
        else:
            z = raw - raw.max(axis=1, keepdims=True)
            loss = np.log(np.exp(z).sum(axis=1)) - z[np.arange(y.size), y]
        return float(np.average(loss, weights=w))

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        raw = self._raw_predict(X)
        return raw[:, 0] if self.n_classes_ == 2 else raw

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        raw = self._raw_predict(X)
        if self.n_classes_ == 2:
            p = _sigmoid(raw[:, 0])
            return np.stack([1 - p, p], axis=1)
        return _softmax(raw)


class GradientBoostingRegressor(RegressorMixin, BaseGradientBoosting):
    __doc__ = "Gradient-boosted trees for regression (squared error: g = F - y, h = 1).\n" + _GB_DOC_PARAMS

    def __init__(self, loss: Literal["squared_error"] = "squared_error", learning_rate: float = 0.1,
                 n_estimators: int = 100, subsample: float = 1.0, min_samples_split: int | float = 2,
                 min_samples_leaf: int | float = 1, max_depth: int | None = 3,
                 max_leaf_nodes: int | None = None, max_features: MaxFeatures = None,
                 min_impurity_decrease: float = 0.0, random_state: RandomState = None,
                 validation_fraction: float = 0.1, n_iter_no_change: int | None = None, tol: float = 1e-4,
                 l2_regularization: float = 0.0, max_bins: int = 255, verbose: int | bool = 0):
        self.verbose = verbose
        self.loss = loss
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.subsample = subsample
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.max_features = max_features
        self.min_impurity_decrease = min_impurity_decrease
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        if self.loss != "squared_error":
            raise ValueError(f"loss must be 'squared_error', got {self.loss!r}")
        X, y = self._validate_fit_X_y(X, y)
        return self._boost(X, np.asarray(y, dtype=np.float64), sample_weight)

    def _init_raw(self, y, w):
        return np.array([np.average(y, weights=w)])

    def _grad_hess(self, y, raw):
        return (raw[:, 0] - y)[:, None], np.ones((y.size, 1))

    def _loss(self, y, raw, w):
        return float(0.5 * np.average((raw[:, 0] - y) ** 2, weights=w))

    def predict(self, X: ArrayLike) -> np.ndarray:
        return self._raw_predict(X)[:, 0]
