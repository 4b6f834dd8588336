"""``grimoire.model_selection``: holding data out and estimating generalisation (primer 3.1,
3.2), with scikit-learn's names: ``train_test_split``, ``KFold``, ``StratifiedKFold``,
``LeaveOneOut``, ``cross_val_score``, ``cross_validate``, ``GridSearchCV``; and an empirical
bias-variance decomposition.

Works with any estimator that has ``fit``/``predict``/``score`` (grimoire's or scikit-learn's).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from . import metrics as _metrics
from ._typing import Seed, Self
from .ml.base import BaseEstimator, clone

__all__ = ["train_test_split", "KFold", "StratifiedKFold", "LeaveOneOut", "cross_val_score",
           "cross_validate", "GridSearchCV", "bias_variance_decomposition", "get_scorer"]


def _n_samples(X) -> int:
    n = len(X)
    if n == 0:
        raise ValueError("cannot split 0 samples")
    return n


def _index(a, idx):
    return a[idx] if isinstance(a, np.ndarray) else [a[i] for i in idx]


def train_test_split(*arrays: Sequence[Any] | np.ndarray, test_size: float | int | None = None,
                     train_size: float | int | None = None, random_state: Seed = None,
                     shuffle: bool = True, stratify: ArrayLike | None = None) -> list:
    """Split arrays into a random train and test part (holdout, primer 3.2). Sizes as in
    scikit-learn: a float is a fraction, an int a count; test_size defaults to 0.25.
    ``stratify=y`` keeps the class proportions in both parts."""
    if not arrays:
        raise ValueError("at least one array is required")
    n = _n_samples(arrays[0])
    for a in arrays[1:]:
        if len(a) != n:
            raise ValueError(f"all arrays must have the same length, got {[len(a) for a in arrays]}")
    if test_size is None and train_size is None:
        test_size = 0.25

    def count(size, name):
        if size is None:
            return None
        if isinstance(size, float):
            if not 0 < size < 1:
                raise ValueError(f"{name} as a fraction must be in (0, 1), got {size}")
            return size
        if not 0 < int(size) < n:
            raise ValueError(f"{name} as a count must be in [1, {n - 1}], got {size}")
        return int(size)

    te, tr = count(test_size, "test_size"), count(train_size, "train_size")
    n_test = (math.ceil(te * n) if isinstance(te, float) else te) if te is not None else None
    n_train = (math.floor(tr * n) if isinstance(tr, float) else tr) if tr is not None else None
    if n_test is None:
        n_test = n - n_train
    if n_train is None:
        n_train = n - n_test
    if n_train + n_test > n or n_train < 1 or n_test < 1:
        raise ValueError(f"train ({n_train}) and test ({n_test}) sizes do not fit {n} samples")
    rng = np.random.default_rng(random_state)
    if stratify is not None:
        if not shuffle:
            raise ValueError("stratified splits need shuffle=True")
        y = np.asarray(stratify)
        classes, y_enc = np.unique(y, return_inverse=True)
        test_idx = []
        for c in range(classes.size):
            members = rng.permutation(np.flatnonzero(y_enc == c))
            k = int(round(n_test * members.size / n))
            test_idx.extend(members[:k].tolist())
        test_idx = np.array(sorted(test_idx), dtype=np.int64)
        rest = np.setdiff1d(np.arange(n), test_idx)
        train_idx = np.sort(rng.permutation(rest)[:n_train])
    elif shuffle:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:n_test + n_train]
    else:
        train_idx, test_idx = np.arange(n_train), np.arange(n_train, n_train + n_test)
    out = []
    for a in arrays:
        out.extend([_index(a, train_idx), _index(a, test_idx)])
    return out


class KFold(BaseEstimator):
    """k consecutive folds (shuffled first if ``shuffle``); each fold is the test set once.
    The first ``n % k`` folds have one sample more (scikit-learn's layout)."""

    def __init__(self, n_splits: int = 5, shuffle: bool = False, random_state: Seed = None):
        if int(n_splits) < 2:
            raise ValueError(f"n_splits must be at least 2, got {n_splits}")
        self.n_splits, self.shuffle, self.random_state = int(n_splits), shuffle, random_state

    def get_n_splits(self, X: ArrayLike | None = None, y: ArrayLike | None = None,
                     groups: ArrayLike | None = None) -> int:
        return self.n_splits

    def _test_folds(self, n: int, y=None) -> Iterator[np.ndarray]:
        idx = np.random.default_rng(self.random_state).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        start = 0
        for s in sizes:
            yield idx[start:start + s]
            start += s

    def split(self, X: ArrayLike, y: ArrayLike | None = None,
              groups: ArrayLike | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = _n_samples(X)
        if self.n_splits > n:
            raise ValueError(f"cannot have n_splits={self.n_splits} greater than the number of samples {n}")
        for test in self._test_folds(n, y):
            mask = np.ones(n, bool)
            mask[test] = False
            yield np.flatnonzero(mask), np.sort(test)


class StratifiedKFold(KFold):
    """k folds that keep each class's proportion (scikit-learn's allocation: the sorted labels
    dealt round-robin over the folds)."""

    def _test_folds(self, n: int, y=None) -> Iterator[np.ndarray]:
        if y is None:
            raise ValueError("StratifiedKFold.split needs y")
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ValueError(f"y has {y.shape[0]} samples, X has {n}")
        _, y_idx, y_inv = np.unique(y, return_index=True, return_inverse=True)
        _, class_perm = np.unique(y_idx, return_inverse=True)  # classes in order of appearance
        y_enc = class_perm[y_inv.ravel()]
        n_classes = class_perm.size
        counts = np.bincount(y_enc)
        if np.all(self.n_splits > counts):
            raise ValueError(f"n_splits={self.n_splits} is greater than the members of every class")
        y_order = np.sort(y_enc)
        allocation = np.asarray([np.bincount(y_order[i::self.n_splits], minlength=n_classes)
                                 for i in range(self.n_splits)])
        rng = np.random.default_rng(self.random_state)
        test_folds = np.empty(n, dtype=np.int64)
        for k in range(n_classes):
            folds = np.arange(self.n_splits).repeat(allocation[:, k])
            if self.shuffle:
                rng.shuffle(folds)
            test_folds[y_enc == k] = folds
        for i in range(self.n_splits):
            yield np.flatnonzero(test_folds == i)


class LeaveOneOut(BaseEstimator):
    """n folds of one test sample each (KFold with k = n)."""

    def get_n_splits(self, X: ArrayLike | None = None, y: ArrayLike | None = None,
                     groups: ArrayLike | None = None) -> int:
        return _n_samples(X)

    def split(self, X: ArrayLike, y: ArrayLike | None = None,
              groups: ArrayLike | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = _n_samples(X)
        if n < 2:
            raise ValueError("LeaveOneOut needs at least 2 samples")
        for i in range(n):
            yield np.r_[0:i, i + 1:n], np.array([i])


# ---------------------------------------------------------------------------------------------
# scoring and cross-validation
# ---------------------------------------------------------------------------------------------
#: ``scorer(estimator, X, y) -> float``, greater is better.
Scorer = Callable[[Any, Any, Any], float]


class _Splitter(Protocol):  # KFold, LeaveOneOut, or any scikit-learn splitter
    def split(self, X: Any, y: Any = ..., groups: Any = ...) -> Iterable[tuple[np.ndarray, np.ndarray]]: ...


#: ``cv``: a fold count (stratified for a classifier given y), a splitter, or (train, test) index pairs.
CV = int | _Splitter | Iterable[tuple[ArrayLike, ArrayLike]]

_SCORERS: dict[str, tuple[Callable, bool]] = {
    "accuracy": (_metrics.accuracy_score, True),
    "f1": (_metrics.f1_score, True),
    "f1_macro": (lambda y, p: _metrics.f1_score(y, p, average="macro"), True),
    "precision": (_metrics.precision_score, True),
    "recall": (_metrics.recall_score, True),
    "r2": (_metrics.r2_score, True),
    "neg_mean_squared_error": (_metrics.mean_squared_error, False),
    "neg_mean_absolute_error": (_metrics.mean_absolute_error, False),
    "neg_root_mean_squared_error": (_metrics.root_mean_squared_error, False),
}


def get_scorer(scoring: str | Scorer | None) -> Scorer:
    """``scorer(estimator, X, y)`` from a name (scikit-learn's, greater is better: errors are
    negated), a callable, or None (the estimator's own ``score``)."""
    if scoring is None:
        return lambda est, X, y: float(est.score(X, y))
    if callable(scoring):
        return scoring
    if scoring not in _SCORERS:
        raise ValueError(f"unknown scoring {scoring!r}; known: {sorted(_SCORERS)}")
    fn, greater = _SCORERS[scoring]
    return lambda est, X, y: float(fn(y, est.predict(X))) * (1 if greater else -1)


def _is_classifier(est) -> bool:
    if getattr(est, "_estimator_type", None) == "classifier":
        return True
    tags = getattr(est, "__sklearn_tags__", None)
    if tags is not None:
        try:
            return tags().estimator_type == "classifier"
        except Exception:
            return False
    return False


def _check_cv(cv, estimator, y):
    if isinstance(cv, int):
        if y is not None and _is_classifier(estimator):
            return StratifiedKFold(cv)
        return KFold(cv)
    if hasattr(cv, "split"):
        return cv
    return list(cv)  # an iterable of (train, test) pairs


def cross_validate(estimator: Any, X: ArrayLike, y: ArrayLike | None = None, cv: CV = 5,
                   scoring: str | Scorer | None = None, return_train_score: bool = False) -> dict:
    """k-fold cross-validation (primer 3.2): fit a clone on each training part, score on the
    held-out fold. Returns scikit-learn's keys (``test_score``, ``fit_time``, ``score_time``,
    ``train_score``) plus ``mean_test_score`` and ``var_test_score``, the mean and the variance
    of the fold scores."""
    X = np.asarray(X)
    y = None if y is None else np.asarray(y)
    splitter = _check_cv(cv, estimator, y)
    scorer = get_scorer(scoring)
    splits = splitter.split(X, y) if hasattr(splitter, "split") else splitter
    out: dict[str, list] = {"test_score": [], "fit_time": [], "score_time": []}
    if return_train_score:
        out["train_score"] = []
    for train, test in splits:
        est = clone(estimator)
        t0 = time.perf_counter()
        est.fit(X[train], None if y is None else y[train])
        t1 = time.perf_counter()
        out["test_score"].append(scorer(est, X[test], None if y is None else y[test]))
        out["fit_time"].append(t1 - t0)
        out["score_time"].append(time.perf_counter() - t1)
        if return_train_score:
            out["train_score"].append(scorer(est, X[train], None if y is None else y[train]))
    res = {k: np.asarray(v) for k, v in out.items()}
    res["mean_test_score"] = float(res["test_score"].mean())
    res["var_test_score"] = float(res["test_score"].var())
    return res


def cross_val_score(estimator: Any, X: ArrayLike, y: ArrayLike | None = None, cv: CV = 5,
                    scoring: str | Scorer | None = None) -> np.ndarray:
    """The fold scores of :func:`cross_validate` (their ``.mean()`` estimates generalisation;
    their ``.var()`` says how much it depends on the split)."""
    return cross_validate(estimator, X, y, cv=cv, scoring=scoring)["test_score"]


class GridSearchCV(BaseEstimator):
    """Exhaustive search over ``param_grid`` (a dict of lists, or a list of such dicts) by
    cross-validated score; refits the best parameters on all the data."""

    def __init__(self, estimator: Any,
                 param_grid: Mapping[str, Sequence[Any]] | list[Mapping[str, Sequence[Any]]],
                 cv: CV = 5, scoring: str | Scorer | None = None, refit: bool = True):
        self.estimator, self.param_grid, self.cv = estimator, param_grid, cv
        self.scoring, self.refit = scoring, refit

    def _candidates(self) -> list[dict]:
        grids = self.param_grid if isinstance(self.param_grid, list) else [self.param_grid]
        out = []
        for g in grids:
            if not g:
                out.append({})
                continue
            keys = sorted(g)
            for values in itertools.product(*(g[k] for k in keys)):
                out.append(dict(zip(keys, values, strict=True)))
        if not out:
            raise ValueError("param_grid is empty")
        return out

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        params, means, stds, all_scores = [], [], [], []
        for cand in self._candidates():
            est = clone(self.estimator).set_params(**cand)
            scores = cross_val_score(est, X, y, cv=self.cv, scoring=self.scoring)
            params.append(cand)
            means.append(scores.mean())
            stds.append(scores.std())
            all_scores.append(scores)
        means_arr = np.array(means)
        best = int(np.argmax(means_arr))
        order = (-means_arr).argsort(kind="stable")
        ranks = np.empty(len(means), dtype=np.int64)
        ranks[order] = np.arange(1, len(means) + 1)
        self.cv_results_ = {"params": params, "mean_test_score": means_arr, "std_test_score": np.array(stds),
                            "rank_test_score": ranks}
        self.best_index_, self.best_params_, self.best_score_ = best, params[best], float(means_arr[best])
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
            self.best_estimator_.fit(np.asarray(X), None if y is None else np.asarray(y))
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        return self.best_estimator_.predict(X)

    def score(self, X: ArrayLike, y: ArrayLike | None = None) -> float:
        return get_scorer(self.scoring)(self.best_estimator_, X, y)


def bias_variance_decomposition(estimator: Any, f: Callable[[np.ndarray], np.ndarray], sample_x: Callable,
                                noise_std: float, n_train: int = 30, n_rounds: int = 200,
                                x_test: ArrayLike | None = None,
                                random_state: Seed = None) -> dict[str, float]:
    """Empirical bias-variance decomposition of the squared error (primer 3.1) by resampling.

    ``n_rounds`` training sets of ``n_train`` points, ``x = sample_x(rng, n)``,
    ``y = f(x) + N(0, noise_std^2)``, each fitted by a clone of ``estimator``; on fixed test
    points x0 with predictions ``h_i(x0)``:

    - ``bias2 = mean_x0 (mean_i h_i(x0) - f(x0))^2``
    - ``variance = mean_x0 var_i h_i(x0)``
    - ``noise`` = the mean squared deviation of fresh noisy targets from f (about noise_std^2)
    - ``expected_error`` = the mean of ``(y0 - h_i(x0))^2`` over rounds with fresh targets,
      which the three add up to (up to sampling error).
    """
    if n_rounds < 2:
        raise ValueError("n_rounds must be at least 2")
    rng = np.random.default_rng(random_state)
    x_test = sample_x(rng, 200) if x_test is None else np.asarray(x_test)
    f_test = np.asarray(f(x_test), dtype=float).ravel()
    preds = np.empty((n_rounds, f_test.size))
    errors = np.empty(n_rounds)
    noise = np.empty(n_rounds)
    for i in range(n_rounds):
        x = sample_x(rng, n_train)
        y = np.asarray(f(x), dtype=float).ravel() + rng.normal(0, noise_std, n_train)
        est = clone(estimator).fit(x, y)
        preds[i] = np.asarray(est.predict(x_test), dtype=float).ravel()
        y0 = f_test + rng.normal(0, noise_std, f_test.size)
        errors[i] = np.mean((y0 - preds[i]) ** 2)
        noise[i] = np.mean((y0 - f_test) ** 2)
    mean_pred = preds.mean(axis=0)
    return {"bias2": float(np.mean((mean_pred - f_test) ** 2)), "variance": float(np.mean(preds.var(axis=0))),
            "noise": float(noise.mean()), "expected_error": float(errors.mean())}
