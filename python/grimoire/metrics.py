"""``grimoire.metrics``: error functions and evaluation metrics of primer 6.3 and 6.4, with
scikit-learn's names, arguments and conventions (it is the test oracle).

Regression: MSE, MAE, RMSE, MAPE, R^2, adjusted R^2. Classification: accuracy, precision,
recall, F1 (``average="binary" | "micro" | "macro" | "weighted" | None``), the confusion matrix,
the ROC curve and its AUC (also as the Mann-Whitney rank statistic), log loss (binary
cross-entropy) and hinge loss.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

Average = Literal["binary", "micro", "macro", "weighted"] | None

__all__ = [
    "mean_squared_error", "mean_absolute_error", "root_mean_squared_error",
    "mean_absolute_percentage_error", "r2_score", "adjusted_r2_score", "accuracy_score",
    "confusion_matrix", "precision_score", "recall_score", "f1_score", "precision_recall_fscore_support",
    "roc_curve", "roc_auc_score", "auc", "roc_auc_rank", "log_loss", "binary_cross_entropy", "hinge_loss",
]


def _pair(y_true, y_pred, numeric: bool = True) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(y_true), np.asarray(y_pred)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {a.shape[0]} and {b.shape[0]}")
    if a.size == 0:
        raise ValueError("y_true and y_pred must not be empty")
    if numeric:
        a, b = a.astype(float), b.astype(float)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ValueError("y_true and y_pred must not contain NaN or Inf")
    return a, b


def _weights(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"sample_weight must be ({n},) non-negative and finite")
    return w


# ---------------------------------------------------------------------------------------------
# regression (6.3.1, 6.4.1)
# ---------------------------------------------------------------------------------------------
def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
    """``MSE = 1/n sum (y_true - y_pred)^2``."""
    a, b = _pair(y_true, y_pred)
    return float(np.average((a - b) ** 2, weights=_weights(sample_weight, a.size)))


def root_mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike,
                            sample_weight: ArrayLike | None = None) -> float:
    """``RMSE = sqrt(MSE)``: the error in the units of y."""
    return math.sqrt(mean_squared_error(y_true, y_pred, sample_weight))


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike,
                        sample_weight: ArrayLike | None = None) -> float:
    """``MAE = 1/n sum |y_true - y_pred|``."""
    a, b = _pair(y_true, y_pred)
    return float(np.average(np.abs(a - b), weights=_weights(sample_weight, a.size)))


def mean_absolute_percentage_error(y_true: ArrayLike, y_pred: ArrayLike,
                                   sample_weight: ArrayLike | None = None,
                                   zero_division: str = "raise") -> float:
    """``MAPE = 1/n sum |(y_true - y_pred) / y_true|``, as a fraction (scikit-learn's unit;
    multiply by 100 for the primer's percent).

    MAPE is undefined where ``y_true == 0``. ``zero_division="raise"`` (default) raises a
    ValueError naming the zero targets; ``"epsilon"`` divides by ``max(|y_true|, eps)`` as
    scikit-learn does (a huge, finite value); ``"ignore"`` drops those samples.
    """
    a, b = _pair(y_true, y_pred)
    w = _weights(sample_weight, a.size)
    zero = a == 0
    if np.any(zero):
        if zero_division == "raise":
            raise ValueError(f"MAPE is undefined for zero targets (y_true == 0 at indices "
                             f"{np.flatnonzero(zero)[:10].tolist()}); "
                             "pass zero_division='epsilon' or 'ignore'")
        if zero_division == "ignore":
            if np.all(zero):
                raise ValueError("MAPE: every target is zero")
            a, b, w = a[~zero], b[~zero], w[~zero]
        elif zero_division != "epsilon":
            raise ValueError(f"zero_division must be 'raise', 'epsilon' or 'ignore', got {zero_division!r}")
    denom = np.maximum(np.abs(a), np.finfo(np.float64).eps)
    return float(np.average(np.abs(a - b) / denom, weights=w))


def r2_score(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
    """``R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2``. A constant y_true gives 1.0 for a
    perfect prediction and 0.0 otherwise (scikit-learn's ``force_finite``)."""
    a, b = _pair(y_true, y_pred)
    w = _weights(sample_weight, a.size)
    num = float(np.sum(w * (a - b) ** 2))
    den = float(np.sum(w * (a - np.average(a, weights=w)) ** 2))
    if den == 0:
        return 1.0 if num == 0 else 0.0
    return 1.0 - num / den


def adjusted_r2_score(y_true: ArrayLike, y_pred: ArrayLike, n_features: int) -> float:
    """``adjusted R^2 = 1 - (1 - R^2)(n - 1) / (n - p - 1)`` with p predictors; needs n > p + 1."""
    a, _ = _pair(y_true, y_pred)
    n, p = a.size, int(n_features)
    if p < 0 or n - p - 1 <= 0:
        raise ValueError(f"adjusted R^2 needs n > n_features + 1, got n={n}, n_features={p}")
    return 1.0 - (1.0 - r2_score(y_true, y_pred)) * (n - 1) / (n - p - 1)


# ---------------------------------------------------------------------------------------------
# classification (6.3.2, 6.4.2)
# ---------------------------------------------------------------------------------------------
def _labels(a: np.ndarray, b: np.ndarray, labels=None) -> np.ndarray:
    if labels is not None:
        return np.asarray(labels)
    return np.unique(np.concatenate([a, b]))


def accuracy_score(y_true: ArrayLike, y_pred: ArrayLike, normalize: bool = True,
                   sample_weight: ArrayLike | None = None) -> float:
    """``(TP + TN) / n``: the fraction (or, ``normalize=False``, the count) of correct labels."""
    a, b = _pair(y_true, y_pred, numeric=False)
    w = _weights(sample_weight, a.size)
    correct = float(np.sum(w * (a == b)))
    return correct / float(np.sum(w)) if normalize else correct


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None,
                     normalize: Literal["true", "pred", "all"] | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class i predicted as class j (scikit-learn's
    layout: rows are truth). ``normalize`` = ``"true"`` (rows), ``"pred"`` (columns), ``"all"``."""
    a, b = _pair(y_true, y_pred, numeric=False)
    labs = _labels(a, b, labels)
    index = {v: i for i, v in enumerate(labs.tolist())}
    k = len(labs)
    cm = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(a.tolist(), b.tolist(), strict=True):
        if t in index and p in index:
            cm[index[t], index[p]] += 1
    if normalize is None:
        return cm
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            out = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            out = cm / cm.sum(axis=0, keepdims=True)
        elif normalize == "all":
            out = cm / cm.sum()
        else:
            raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    return np.nan_to_num(out)


def precision_recall_fscore_support(
    y_true: ArrayLike, y_pred: ArrayLike, beta: float = 1.0, labels: ArrayLike | None = None,
    pos_label: Hashable = 1, average: Average = None, zero_division: float = 0.0,
) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray, np.ndarray | None]:
    """Precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)``, F-beta
    ``(1 + b^2) P R / (b^2 P + R)`` and support, per class or averaged:

    - ``"binary"``: the class ``pos_label`` only;
    - ``"micro"``: from the summed TP, FP, FN of all classes (equals accuracy for single-label);
    - ``"macro"``: the unweighted mean over classes;
    - ``"weighted"``: the mean weighted by support;
    - ``None``: arrays, one entry per class.

    A 0/0 ratio is ``zero_division`` (scikit-learn's value with ``zero_division=0``).
    """
    a, b = _pair(y_true, y_pred, numeric=False)
    labs = _labels(a, b, labels)
    if average == "binary":
        present = np.unique(np.concatenate([a, b]))
        if present.size > 2:
            raise ValueError(f"average='binary' needs two classes, got {present.size}; choose 'micro', "
                             f"'macro' or 'weighted'")
        if pos_label not in present.tolist() and present.size == 2:
            raise ValueError(f"pos_label={pos_label!r} is not a label: {present.tolist()}")
        labs = np.array([pos_label])
    elif average not in (None, "micro", "macro", "weighted"):
        raise ValueError(f"average must be 'binary', 'micro', 'macro', 'weighted' or None, got {average!r}")
    tp = np.array([np.sum((a == c) & (b == c)) for c in labs], dtype=float)
    fp = np.array([np.sum((a != c) & (b == c)) for c in labs], dtype=float)
    fn = np.array([np.sum((a == c) & (b != c)) for c in labs], dtype=float)
    support = tp + fn

    def ratio(num, den):
        num, den = np.asarray(num, float), np.asarray(den, float)
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), zero_division)

    if average == "micro":
        tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    b2 = beta * beta
    # F from counts: (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP), 0/0 -> zero_division
    fscore = ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)
    if average is None:
        return precision, recall, fscore, support.astype(np.int64)
    if average == "weighted":
        w = support
        if w.sum() == 0:
            return float(zero_division), float(zero_division), float(zero_division), None
        return (float(np.average(precision, weights=w)), float(np.average(recall, weights=w)),
                float(np.average(fscore, weights=w)), None)
    return float(np.mean(precision)), float(np.mean(recall)), float(np.mean(fscore)), None


def precision_score(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None,
                    pos_label: Hashable = 1,
                    average: Average = "binary", zero_division: float = 0.0) -> float | np.ndarray:
    """``Precision = TP / (TP + FP)``: when the model says yes, how often it is right."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[0]


def recall_score(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None,
                 pos_label: Hashable = 1,
                 average: Average = "binary", zero_division: float = 0.0) -> float | np.ndarray:
    """``Recall = TP / (TP + FN)`` (sensitivity): of the real positives, how many are found."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[1]


def f1_score(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None, pos_label: Hashable = 1,
             average: Average = "binary", zero_division: float = 0.0) -> float | np.ndarray:
    """``F1 = 2 P R / (P + R)``, the harmonic mean of precision and recall."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[2]


def _binary_scores(y_true, y_score, pos_label=None) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if a.ndim != 1 or s.shape != a.shape:
        raise ValueError(f"y_true and y_score must be 1-D of one length, got {a.shape} and {s.shape}")
    if a.size == 0:
        raise ValueError("y_true must not be empty")
    if not np.all(np.isfinite(s)):
        raise ValueError("y_score must not contain NaN or Inf")
    classes = np.unique(a)
    if classes.size > 2:
        raise ValueError(f"y_true must be binary, got {classes.size} classes")
    if pos_label is None:  # scikit-learn's rule: {0, 1} or {-1, 1} labels, else say which
        if not (set(classes.tolist()) <= {0, 1} or set(classes.tolist()) <= {-1, 1}):
            raise ValueError(f"y_true has labels {classes.tolist()}: pass pos_label")
        pos_label = 1
    return (a == pos_label).astype(float), s


def roc_curve(y_true: ArrayLike, y_score: ArrayLike, pos_label: Hashable | None = None,
              drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve: ``(fpr, tpr, thresholds)``, with thresholds the distinct scores in decreasing
    order (the first one ``inf``, where nothing is predicted positive), ``TPR = TP / P``,
    ``FPR = FP / N``. ``drop_intermediate`` removes points on straight segments, as
    scikit-learn does."""
    y, s = _binary_scores(y_true, y_score, pos_label)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    distinct = np.flatnonzero(np.diff(s))
    idx = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y)[idx]
    fps = 1 + idx - tps
    thresholds = s[idx]
    if drop_intermediate and tps.size > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thresholds = np.r_[np.inf, thresholds]
    if fps[-1] <= 0 or tps[-1] <= 0:
        raise ValueError("the ROC curve needs both positive and negative samples in y_true")
    return fps / fps[-1], tps / tps[-1], thresholds


def auc(x: ArrayLike, y: ArrayLike) -> float:
    """Area under a curve by the trapezoidal rule (x monotonic)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError("auc needs 1-D x and y of one length >= 2")
    dx = np.diff(x)
    direction = 1.0
    if np.any(dx < 0):
        if np.all(dx <= 0):
            direction = -1.0
        else:
            raise ValueError("x must be monotonic")
    return float(direction * np.sum(dx * (y[1:] + y[:-1]) / 2))


def roc_auc_score(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve (binary). Equals :func:`roc_auc_rank`: the probability that a
    random positive scores higher than a random negative (ties count one half)."""
    fpr, tpr, _ = roc_curve(y_true, y_score, drop_intermediate=False)
    return auc(fpr, tpr)


def roc_auc_rank(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """AUC as the Mann-Whitney U statistic: ``(R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg)``
    with ``R_pos`` the sum of the positives' ranks (average ranks for ties)."""
    y, s = _binary_scores(y_true, y_score)
    n_pos = y.sum()
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both positive and negative samples in y_true")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    sorted_s = s[order]
    i = 0
    while i < s.size:  # average ranks over ties
        j = i
        while j + 1 < s.size and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_loss(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None,
             eps: float | None = None) -> float:
    """Cross-entropy ``-1/n sum_i sum_k y_ik log p_ik``; for two classes the binary
    cross-entropy ``-1/n sum y log p + (1 - y) log(1 - p)`` (6.3.2), with ``y_pred`` the
    probability of the larger label (1-D) or one column per class (2-D, rows summing to 1).
    Probabilities are clipped to ``[eps, 1 - eps]`` (eps = float64 machine epsilon)."""
    a = np.asarray(y_true)
    p = np.asarray(y_pred, dtype=float)
    if a.ndim != 1 or a.size == 0 or p.shape[0] != a.shape[0]:
        raise ValueError(f"y_true must be 1-D and non-empty with y_pred's length, got {a.shape} "
                         f"and {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("y_pred must hold probabilities in [0, 1]")
    labs = np.unique(a) if labels is None else np.asarray(labels)
    if p.ndim == 1:
        p = np.c_[1 - p, p]
        if labs.size == 1:
            raise ValueError("y_true has one label; pass labels= to say which classes the columns are")
    if p.shape[1] != labs.size:
        raise ValueError(f"y_pred has {p.shape[1]} columns but there are {labs.size} labels")
    if not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-6):
        raise ValueError("the rows of y_pred must sum to 1")
    eps = np.finfo(np.float64).eps if eps is None else eps
    p = np.clip(p, eps, 1 - eps)
    idx = np.searchsorted(labs, a)
    if np.any(idx >= labs.size) or np.any(labs[np.minimum(idx, labs.size - 1)] != a):
        raise ValueError("y_true contains a label not in labels")
    return float(-np.mean(np.log(p[np.arange(a.size), idx])))


def binary_cross_entropy(y_true: ArrayLike, p: ArrayLike) -> float:
    """The primer's BCE (6.3.2), averaged: ``-1/n sum y log p + (1 - y) log(1 - p)``, y in {0, 1}."""
    y = np.asarray(y_true, dtype=float)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must be 0 or 1")
    return log_loss(y, p, labels=[0.0, 1.0])


def hinge_loss(y_true: ArrayLike, pred_decision: ArrayLike, labels: ArrayLike | None = None) -> float:
    """Hinge loss ``mean(max(0, 1 - y f(x)))`` with y in {-1, +1} (the larger label is +1).
    With a 2-D ``pred_decision`` (one column per class): the multiclass (Crammer-Singer) form
    ``max(0, 1 + max_{k != y} f_k - f_y)``, as scikit-learn computes it."""
    a = np.asarray(y_true)
    d = np.asarray(pred_decision, dtype=float)
    if a.ndim != 1 or a.size == 0 or d.shape[0] != a.size:
        raise ValueError("y_true must be 1-D, non-empty, with pred_decision's length")
    labs = np.unique(a) if labels is None else np.asarray(labels)
    if d.ndim == 1:
        if labs.size > 2:
            raise ValueError("1-D pred_decision needs binary y_true")
        y = np.where(a == labs.max(), 1.0, -1.0)
        return float(np.mean(np.maximum(0.0, 1.0 - y * d)))
    if d.shape[1] != labs.size:
        raise ValueError(f"pred_decision has {d.shape[1]} columns but there are {labs.size} labels")
    idx = np.searchsorted(labs, a)
    true_score = d[np.arange(a.size), idx]
    other = d.copy()
    other[np.arange(a.size), idx] = -np.inf
    return float(np.mean(np.maximum(0.0, 1.0 - true_score + other.max(axis=1))))
