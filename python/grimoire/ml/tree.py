"""Decision trees, primer 4.1.3: CART grown in the C++ core (``grimoire._core.tree_build``).

A tree asks one yes/no question per node, ``x[feature] <= threshold``, chosen greedily to make the
children as pure as possible:

    gini(S)    = 1 - sum_k p_k^2          entropy(S) = -sum_k p_k log2 p_k
    squared_error(S) = mean((y - mean(y))^2)
    gain = W(S) imp(S) - W(L) imp(L) - W(R) imp(R)        (weighted impurity decrease)

Features are first quantised into bins (:func:`bin_features`): with one bin per distinct value
(the default for a single tree, up to 65536 values) the search is exact CART; forests and boosting
use at most 255 quantile bins, which makes every node's search a histogram pass (LightGBM's idea).
The fitted tree is plain NumPy arrays (``tree_.children_left``, ``tree_.feature``,
``tree_.threshold``, ``tree_.value``, ...), so estimators clone and pickle like scikit-learn's.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._typing import MaxFeatures, RandomState, Self
from .base import (
    BaseEstimator,
    ProbabilisticClassifierMixin,
    RegressorMixin,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
)

_EXACT_BINS = 65536


def bin_features(X: np.ndarray, max_bins: int | None = None, subsample: int | None = None,
                 random_state: RandomState = None, sample_weight: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Quantise each column of X (n, d) into bins for the tree builder.

    Returns ``codes`` (d, n) uint16 (column-major: one feature's bins are contiguous), ``n_bins``
    (d,) int32 and ``thresholds``, a list of d increasing arrays (with, as attribute ``values``
    set on the list, each feature's distinct values when it is binned exactly, else None):
    a value x of feature j falls in
    bin ``searchsorted(thresholds[j], x, side="left")``, so ``bin <= b`` exactly when
    ``x <= thresholds[j][b]``. With no more distinct values than ``max_bins`` the thresholds are
    the midpoints between consecutive distinct values (exact CART); otherwise they are midpoints
    at evenly spaced quantiles (computed on ``subsample`` rows when given). Rows with a zero
    ``sample_weight`` do not place thresholds (so weight 0 is the same as leaving a row out).
    """
    n, d = X.shape
    max_bins = _EXACT_BINS if max_bins is None else int(max_bins)
    if not 2 <= max_bins <= _EXACT_BINS:
        raise ValueError(f"max_bins must be in [2, {_EXACT_BINS}], got {max_bins}")
    sample = X if sample_weight is None else X[sample_weight > 0]
    if subsample is not None and sample.shape[0] > subsample:
        rng = check_random_state(random_state)
        sample = sample[rng.choice(sample.shape[0], subsample, replace=False)]
    codes = np.empty((d, n), dtype=np.uint16)
    n_bins = np.empty(d, dtype=np.int32)
    thresholds = _Thresholds()
    for j in range(d):
        # Codes through the sorted column: searchsorted of sorted keys walks the thresholds once
        # (4x faster than of unsorted ones), and the sorted column gives the distinct values.
        order = np.argsort(X[:, j])
        xs = X[order, j]
        if sample is X:
            u = xs[np.concatenate(([True], xs[1:] != xs[:-1]))] if n else xs
        else:
            u = np.unique(sample[:, j])
        if u.size <= max_bins:
            thr = (u[:-1] + u[1:]) / 2.0
            thresholds.values.append(u)
        else:
            thresholds.values.append(None)
            q = np.linspace(0, u.size - 1, max_bins + 1)[1:-1]
            lo = np.floor(q).astype(np.int64)
            thr = np.unique((u[lo] + u[lo + 1]) / 2.0)
        thresholds.append(thr)
        n_bins[j] = thr.size + 1
        codes[j, order] = np.searchsorted(thr, xs, side="left")
    return codes, n_bins, thresholds


def resolve_max_features(max_features: MaxFeatures, n_features: int) -> int:
    """sklearn's max_features: None/1.0 all, 'sqrt', 'log2', an int, or a fraction in (0, 1]."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        if max_features == "sqrt":
            return max(1, int(np.sqrt(n_features)))
        if max_features == "log2":
            return max(1, int(np.log2(n_features)))
        raise ValueError(f"max_features must be 'sqrt', 'log2', an int or a float, got {max_features!r}")
    if isinstance(max_features, numbers.Integral):
        if not 1 <= max_features:
            raise ValueError(f"max_features must be >= 1, got {max_features}")
        return min(int(max_features), n_features)
    if isinstance(max_features, numbers.Real) and 0 < max_features <= 1:
        return max(1, int(max_features * n_features))
    raise ValueError(f"max_features must be in (0, 1] as a float, got {max_features!r}")


class _Thresholds(list):
    """Per-feature bin thresholds, plus the distinct values of exactly binned features."""

    def __init__(self):
        super().__init__()
        self.values: list[np.ndarray | None] = []


class Tree:
    """A fitted tree as flat arrays (scikit-learn's ``tree_`` layout, one output).

    Node 0 is the root; ``children_left[i] == -1`` marks a leaf; an internal node sends x left
    when ``x[feature[i]] <= threshold[i]``. ``value`` is (node_count, n_values): class fractions
    for a classifier, the mean target for a regressor, the leaf step for boosting.
    """

    def __init__(self, arrays: dict, thresholds: list[np.ndarray], midpoints: bool = True):
        self.children_left = arrays["children_left"]
        self.children_right = arrays["children_right"]
        self.feature = arrays["feature"]
        self.threshold_bin = arrays["threshold_bin"]
        self.value = arrays["value"]
        self.impurity = arrays["impurity"]
        self.gain = arrays["gain"]
        self.n_node_samples = arrays["n_node_samples"]
        self.weighted_n_node_samples = arrays["weighted_n_node_samples"]
        self.max_depth = int(arrays["max_depth"])
        self.node_count = int(self.children_left.size)
        self.n_leaves = int(np.sum(self.children_left < 0))
        self.threshold = np.full(self.node_count, -2.0)
        hi = arrays["threshold_bin_hi"]
        values = getattr(thresholds, "values", None) if midpoints else None
        for i in np.flatnonzero(self.children_left >= 0):
            f, b = self.feature[i], self.threshold_bin[i]
            u = values[f] if values is not None else None
            # Exact bins: halfway between the node's two values either side of the cut (CART's
            # threshold); it equals the bin threshold when no value lies between them.
            self.threshold[i] = (u[b] + u[hi[i]]) / 2.0 if u is not None else thresholds[f][b]

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Index of the leaf each row of X (float64, validated) reaches."""
        return _core.tree_apply(X, self.children_left, self.children_right, self.feature, self.threshold)

    def apply_binned(self, codes: np.ndarray) -> np.ndarray:
        """The leaf of each column of binned ``codes`` (the training data's bins)."""
        return _core.tree_apply_binned(codes, self.children_left, self.children_right, self.feature,
                                       self.threshold_bin)

    def feature_importances(self, n_features: int, normalize: bool = True) -> np.ndarray:
        imp = np.zeros(n_features)
        internal = self.children_left >= 0
        np.add.at(imp, self.feature[internal], self.gain[internal])
        total = imp.sum()
        return imp / total if normalize and total > 0 else imp


def _tree_params(est, n_features: int) -> dict:
    if est.max_depth is not None and (not isinstance(est.max_depth, numbers.Integral) or est.max_depth < 1):
        raise ValueError(f"max_depth must be an int >= 1 or None, got {est.max_depth!r}")
    mss = est.min_samples_split
    msl = est.min_samples_leaf
    if isinstance(mss, numbers.Integral) and not isinstance(mss, bool):
        if mss < 2:
            raise ValueError(f"min_samples_split must be an int >= 2 or a float in (0, 1], got {mss}")
    elif not (isinstance(mss, numbers.Real) and 0 < mss <= 1):
        raise ValueError(f"min_samples_split must be an int >= 2 or a float in (0, 1], got {mss!r}")
    if isinstance(msl, numbers.Integral) and not isinstance(msl, bool):
        if msl < 1:
            raise ValueError(f"min_samples_leaf must be an int >= 1 or a float in (0, 1), got {msl}")
    elif not (isinstance(msl, numbers.Real) and 0 < msl < 1):
        raise ValueError(f"min_samples_leaf must be an int >= 1 or a float in (0, 1), got {msl!r}")
    mln = est.max_leaf_nodes
    if mln is not None and (not isinstance(mln, numbers.Integral) or mln < 2):
        raise ValueError(f"max_leaf_nodes must be an int >= 2 or None, got {mln!r}")
    if est.min_impurity_decrease < 0:
        raise ValueError(f"min_impurity_decrease must be >= 0, got {est.min_impurity_decrease}")
    return dict(
        max_depth=-1 if est.max_depth is None else int(est.max_depth),
        max_features=resolve_max_features(est.max_features, n_features),
        max_leaf_nodes=-1 if mln is None else int(mln),
        min_impurity_decrease=float(est.min_impurity_decrease),
    )


def _sample_counts(est, n: int) -> dict:
    """min_samples_split/leaf as counts (fractions are of n, as in sklearn)."""
    mss, msl = est.min_samples_split, est.min_samples_leaf
    mss = int(mss) if isinstance(mss, numbers.Integral) else max(2, int(np.ceil(mss * n)))
    msl = int(msl) if isinstance(msl, numbers.Integral) else max(1, int(np.ceil(msl * n)))
    return dict(min_samples_split=mss, min_samples_leaf=msl)


class BaseDecisionTree(BaseEstimator):
    _criteria: tuple[str, ...] = ()

    def _fit(self, X, y_core, n_classes: int, sample_weight):
        if self.criterion not in self._criteria:
            raise ValueError(f"criterion must be one of {self._criteria}, got {self.criterion!r}")
        criterion = "entropy" if self.criterion == "log_loss" else self.criterion
        params = _tree_params(self, X.shape[1])
        params.update(_sample_counts(self, X.shape[0]))
        w = None if sample_weight is None else check_sample_weight(sample_weight, X.shape[0])
        codes, n_bins, thresholds = bin_features(X, self.max_bins, sample_weight=w)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        arrays = _core.tree_build(codes, n_bins, criterion, y_core, sample_weight=w, n_classes=n_classes,
                                  seed=seed, num_threads=_core.get_num_threads(), **params)
        self.tree_ = Tree(arrays, thresholds)
        self.max_features_ = params["max_features"]
        return self

    @property
    def feature_importances_(self) -> np.ndarray:
        """Normalised total impurity decrease brought by each feature (sums to 1)."""
        check_is_fitted(self, "tree_")
        return self.tree_.feature_importances(self.n_features_in_)

    def apply(self, X: ArrayLike) -> np.ndarray:
        """Index of the leaf that each sample reaches."""
        X = self._validate_X(X)
        return self.tree_.apply(X)

    def get_depth(self) -> int:
        check_is_fitted(self, "tree_")
        return self.tree_.max_depth

    def get_n_leaves(self) -> int:
        check_is_fitted(self, "tree_")
        return self.tree_.n_leaves


class DecisionTreeClassifier(ProbabilisticClassifierMixin, BaseDecisionTree):
    """CART classification tree (gini or entropy), split search and traversal in the C++ core.

    Parameters follow scikit-learn's; ``max_bins=None`` bins each feature on its distinct values
    (exact CART, up to 65536 of them). ``tree_.value`` holds the class fractions of each node.

    Examples
    --------
    >>> from grimoire.ml import DecisionTreeClassifier
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> DecisionTreeClassifier().fit(X, y).predict([[0.2], [2.7]])
    array([0, 1])
    """

    _criteria = ("gini", "entropy", "log_loss")

    def __init__(self, criterion: Literal["gini", "entropy", "log_loss"] = "gini",
                 max_depth: int | None = None, min_samples_split: int | float = 2,
                 min_samples_leaf: int | float = 1, max_features: MaxFeatures = None,
                 random_state: RandomState = None, max_leaf_nodes: int | None = None,
                 min_impurity_decrease: float = 0.0, max_bins: int | None = None):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.max_bins = max_bins

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y, classifier=True)
        yk = self._encode_classes(y)
        self.n_classes_ = len(self.classes_)
        return self._fit(X, yk, self.n_classes_, sample_weight)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class fractions of the leaf each sample reaches, (n_samples, n_classes)."""
        X = self._validate_X(X)
        return self.tree_.value[self.tree_.apply(X)]


class DecisionTreeRegressor(RegressorMixin, BaseDecisionTree):
    """CART regression tree (squared error): each leaf predicts the mean of its samples."""

    _criteria = ("squared_error",)

    def __init__(self, criterion: Literal["squared_error"] = "squared_error",
                 max_depth: int | None = None, min_samples_split: int | float = 2,
                 min_samples_leaf: int | float = 1, max_features: MaxFeatures = None,
                 random_state: RandomState = None, max_leaf_nodes: int | None = None,
                 min_impurity_decrease: float = 0.0, max_bins: int | None = None):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.max_bins = max_bins

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        X, y = self._validate_fit_X_y(X, y)
        return self._fit(X, np.ascontiguousarray(y, dtype=np.float64), 0, sample_weight)

    def predict(self, X: ArrayLike) -> np.ndarray:
        X = self._validate_X(X)
        return self.tree_.value[self.tree_.apply(X), 0]


def export_text(decision_tree: Any, *, feature_names: Sequence[str] | None = None,
                class_names: Sequence[Any] | None = None, max_depth: int = 10,
                decimals: int = 2, show_weights: bool = False) -> str:
    """The learned rules as indented text, like ``sklearn.tree.export_text``::

        |--- petal width (cm) <= 0.80
        |   |--- class: 0
        |--- petal width (cm) >  0.80
        ...
    """
    check_is_fitted(decision_tree, "tree_")
    t = decision_tree.tree_
    n_features = decision_tree.n_features_in_
    if feature_names is None:
        feature_names = [f"feature_{i}" for i in range(n_features)]
    elif len(feature_names) != n_features:
        raise ValueError(f"feature_names must contain {n_features} elements, got {len(feature_names)}")
    classes = getattr(decision_tree, "classes_", None)
    if class_names is None and classes is not None:
        class_names = classes
    lines: list[str] = []

    def leaf_text(node: int) -> str:
        v = t.value[node]
        if classes is not None:
            label = class_names[int(np.argmax(v))]
            if show_weights:
                w = np.round(v * t.weighted_n_node_samples[node], decimals)
                return f"weights: {list(w)} class: {label}"
            return f"class: {label}"
        return f"value: [{v[0]:.{decimals}f}]"

    def walk(node: int, depth: int) -> None:
        indent = "|   " * depth + "|--- "
        if t.children_left[node] < 0:
            lines.append(indent + leaf_text(node))
            return
        if depth >= max_depth:
            lines.append(indent + f"truncated branch of depth {_subtree_depth(t, node)}")
            return
        name = feature_names[t.feature[node]]
        thr = f"{t.threshold[node]:.{decimals}f}"
        lines.append(indent + f"{name} <= {thr}")
        walk(int(t.children_left[node]), depth + 1)
        lines.append(indent + f"{name} >  {thr}")
        walk(int(t.children_right[node]), depth + 1)

    walk(0, 0)
    return "\n".join(lines) + "\n"


def _subtree_depth(t: Tree, node: int) -> int:
    left, right = t.children_left[node], t.children_right[node]
    if left < 0:
        return 1
    return 1 + max(_subtree_depth(t, int(left)), _subtree_depth(t, int(right)))
