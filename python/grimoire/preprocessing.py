"""``grimoire.preprocessing``: data preparation and feature engineering (primer 3.4, 6.1).

Transformers follow scikit-learn's contract (``fit`` learns attributes ending in ``_`` and
returns ``self``; ``transform``; ``fit_transform``; ``get_params``/``set_params``) and its names:
``SimpleImputer``, ``StandardScaler``, ``MinMaxScaler``, ``PowerTransformer``,
``KBinsDiscretizer``, ``OneHotEncoder``, ``LabelEncoder``, ``OrdinalEncoder``, ``FeatureHasher``,
``PolynomialFeatures``. Beside them: cyclical time features, outlier detection and clipping
(IQR, z-score), SMOTE oversampling, deduplication (exact hashing, MinHash + LSH) and a
train/test leakage check.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import numbers
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._typing import RandomState
from .ml.base import (
    BaseEstimator,
    TransformerMixin,
    _input_features,
    _is_sparse,
    check_array,
    check_is_fitted,
)

__all__ = [
    "SimpleImputer", "StandardScaler", "MinMaxScaler", "LogTransformer", "PowerTransformer",
    "KBinsDiscretizer", "OneHotEncoder", "LabelEncoder", "OrdinalEncoder", "FeatureHasher",
    "PolynomialFeatures", "murmurhash3_32", "cyclical_time_features", "iqr_outliers", "zscore_outliers",
    "OutlierClipper", "SMOTE", "exact_duplicates", "MinHash", "MinHashLSH", "near_duplicates",
    "leakage_check",
]


# ---------------------------------------------------------------------------------------------
# missing values and scaling
# ---------------------------------------------------------------------------------------------
class SimpleImputer(TransformerMixin, BaseEstimator):
    """Replace missing values (NaN) column by column with the column's ``"mean"``, ``"median"``,
    ``"most_frequent"`` (smallest on ties) or a ``"constant"`` ``fill_value``."""

    _input_tags = {"allow_nan": True}

    def __init__(self, strategy: str = "mean", fill_value: float | str | None = None):
        self.strategy, self.fill_value = strategy, fill_value

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> SimpleImputer:
        X = self._fit_input(X, allow_nan=True)
        if self.strategy not in ("mean", "median", "most_frequent", "constant"):
            raise ValueError("strategy must be 'mean', 'median', 'most_frequent' or 'constant', "
                             f"got {self.strategy!r}")
        stats = np.empty(X.shape[1])
        for j in range(X.shape[1]):
            col = X[:, j][~np.isnan(X[:, j])]
            if self.strategy == "constant":
                stats[j] = 0.0 if self.fill_value is None else float(self.fill_value)
            elif col.size == 0:
                stats[j] = np.nan  # an all-missing column: no statistic (scikit-learn drops it; we keep NaN)
            elif self.strategy == "mean":
                stats[j] = col.mean()
            elif self.strategy == "median":
                stats[j] = np.median(col)
            else:
                vals, counts = np.unique(col, return_counts=True)
                stats[j] = vals[np.argmax(counts)]
        self.statistics_ = stats
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "statistics_")
        X = self._transform_input(X, allow_nan=True).copy()
        rows, cols = np.nonzero(np.isnan(X))
        X[rows, cols] = self.statistics_[cols]
        return X


class StandardScaler(TransformerMixin, BaseEstimator):
    """``z = (x - mean) / std`` per feature (population std; a constant feature is left with
    scale 1, as in scikit-learn)."""

    def __init__(self, with_mean: bool = True, with_std: bool = True):
        self.with_mean, self.with_std = with_mean, with_std

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> StandardScaler:
        X = self._fit_input(X)
        self.mean_ = X.mean(axis=0) if self.with_mean else None
        self.var_ = X.var(axis=0)
        scale = np.sqrt(self.var_)
        scale[scale < 10 * np.finfo(float).eps * np.maximum(np.abs(X.mean(axis=0)), 1.0)] = 1.0
        self.scale_ = scale if self.with_std else None
        self.n_features_in_, self.n_samples_seen_ = X.shape[1], X.shape[0]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "var_")
        X = self._transform_input(X)
        if self.with_mean:
            X = X - self.mean_
        if self.with_std:
            X = X / self.scale_
        return X

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "var_")
        X = check_array(X)
        if self.with_std:
            X = X * self.scale_
        if self.with_mean:
            X = X + self.mean_
        return X


class MinMaxScaler(TransformerMixin, BaseEstimator):
    """``x' = (x - min) / (max - min) * (hi - lo) + lo`` per feature (``feature_range=(lo, hi)``)."""

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0), clip: bool = False):
        self.feature_range, self.clip = feature_range, clip

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> MinMaxScaler:
        X = self._fit_input(X)
        lo, hi = self.feature_range
        if lo >= hi:
            raise ValueError(f"feature_range must be (min, max) with min < max, got {self.feature_range}")
        self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)
        rng = self.data_max_ - self.data_min_
        rng[rng == 0] = 1.0
        self.scale_ = (hi - lo) / rng
        self.min_ = lo - self.data_min_ * self.scale_
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "scale_")
        X = self._transform_input(X)
        out = X * self.scale_ + self.min_
        return np.clip(out, *self.feature_range) if self.clip else out

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "scale_")
        return (check_array(X) - self.min_) / self.scale_


class LogTransformer(TransformerMixin, BaseEstimator):
    """``log(1 + x)`` for skewed, non-negative features (inverse ``exp(y) - 1``)."""

    # log1p needs x > -1; scikit-learn's checks have no lower-bound tag but "positive only" (their
    # data shifted to x >= 0, and a fit on centred data must raise "Negative values in data").
    _input_tags = {"positive_only": True}

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> LogTransformer:
        X = self._fit_input(X)
        if np.any(X <= -1):
            raise ValueError("Negative values in data passed to LogTransformer reach -1 or below: "
                             "log1p needs x > -1")
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        X = self._transform_input(X)
        if np.any(X <= -1):
            raise ValueError("Negative values in data passed to LogTransformer reach -1 or below: "
                             "log1p needs x > -1")
        return np.log1p(X)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        return np.expm1(check_array(X))


def _yeo_johnson(x: np.ndarray, lmb: float) -> np.ndarray:
    out = np.empty_like(x)
    pos = x >= 0
    if abs(lmb) < 1e-19:
        out[pos] = np.log1p(x[pos])
    else:
        out[pos] = (np.power(x[pos] + 1, lmb) - 1) / lmb
    if abs(lmb - 2) > 1e-19:
        out[~pos] = -(np.power(-x[~pos] + 1, 2 - lmb) - 1) / (2 - lmb)
    else:
        out[~pos] = -np.log1p(-x[~pos])
    return out


def _box_cox(x: np.ndarray, lmb: float) -> np.ndarray:
    return np.log(x) if lmb == 0 else (np.power(x, lmb) - 1) / lmb


def _brent_min(fn, a: float = -2.0, b: float = 2.0, tol: float = 1.48e-8) -> float:
    """Minimise a 1-D function: bracket from (a, b) downhill, then golden section."""
    g = (1 + math.sqrt(5)) / 2
    fa, fb = fn(a), fn(b)
    if fb > fa:
        a, b, fa, fb = b, a, fb, fa
    c = b + g * (b - a)
    fc = fn(c)
    for _ in range(100):
        if fb <= fc:
            break
        a, b, fb = b, c, fc
        c = b + g * (b - a)
        fc = fn(c)
    lo, hi = min(a, c), max(a, c)
    r = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - r * (hi - lo), lo + r * (hi - lo)
    f1, f2 = fn(x1), fn(x2)
    while hi - lo > tol * (abs(x1) + abs(x2) + 1e-10):
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - r * (hi - lo)
            f1 = fn(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + r * (hi - lo)
            f2 = fn(x2)
    return (lo + hi) / 2


class PowerTransformer(TransformerMixin, BaseEstimator):
    """Yeo-Johnson (any x) or Box-Cox (x > 0) power transform, lambda per feature by maximum
    likelihood of a normal fit to the transformed data; then standardised (``standardize``)."""

    def __init__(self, method: str = "yeo-johnson", standardize: bool = True):
        self.method, self.standardize = method, standardize

    def _tf(self, x, lmb):
        return _yeo_johnson(x, lmb) if self.method == "yeo-johnson" else _box_cox(x, lmb)

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> PowerTransformer:
        X = self._fit_input(X)
        if self.method not in ("yeo-johnson", "box-cox"):
            raise ValueError(f"method must be 'yeo-johnson' or 'box-cox', got {self.method!r}")
        if self.method == "box-cox" and np.any(X <= 0):
            raise ValueError("box-cox needs strictly positive data")
        lambdas = []
        for j in range(X.shape[1]):
            x = X[:, j]

            def nll(lmb, x=x):
                t = self._tf(x, lmb)
                var = t.var()
                if var <= 0:
                    return np.inf
                jac = (lmb - 1) * np.sum(np.sign(x) * np.log1p(np.abs(x))) if self.method == "yeo-johnson" \
                    else (lmb - 1) * np.sum(np.log(x))
                return 0.5 * x.size * math.log(var) - jac

            lambdas.append(_brent_min(nll))
        self.lambdas_ = np.array(lambdas)
        self.n_features_in_ = X.shape[1]
        if self.standardize:
            self.scaler_ = StandardScaler().fit(self._raw(X))
        return self

    def _raw(self, X):
        return np.column_stack([self._tf(X[:, j], lmb) for j, lmb in enumerate(self.lambdas_)])

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "lambdas_")
        X = self._transform_input(X)
        out = self._raw(X)
        return self.scaler_.transform(out) if self.standardize else out


class KBinsDiscretizer(TransformerMixin, BaseEstimator):
    """Bin each feature into ``n_bins`` intervals, ``"uniform"`` (equal width) or
    ``"quantile"`` (equal counts); output the bin index (``encode="ordinal"``) or its one-hot."""

    def __init__(self, n_bins: int = 5, encode: str = "ordinal", strategy: str = "quantile"):
        self.n_bins, self.encode, self.strategy = n_bins, encode, strategy

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> KBinsDiscretizer:
        X = self._fit_input(X)
        if int(self.n_bins) < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        if self.strategy not in ("uniform", "quantile"):
            raise ValueError(f"strategy must be 'uniform' or 'quantile', got {self.strategy!r}")
        if self.encode not in ("ordinal", "onehot"):
            raise ValueError(f"encode must be 'ordinal' or 'onehot', got {self.encode!r}")
        edges = []
        for j in range(X.shape[1]):
            col = X[:, j]
            if self.strategy == "uniform":
                e = np.linspace(col.min(), col.max(), self.n_bins + 1)
            else:
                e = np.unique(np.quantile(col, np.linspace(0, 1, self.n_bins + 1)))
            edges.append(e)
        self.bin_edges_ = np.array(edges, dtype=object)
        self.n_bins_ = np.array([len(e) - 1 for e in edges])
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "bin_edges_")
        X = self._transform_input(X)
        codes = np.column_stack([
            np.clip(np.searchsorted(e[1:-1], X[:, j], side="right"), 0, max(len(e) - 2, 0))
            for j, e in enumerate(self.bin_edges_)]).astype(float)
        if self.encode == "ordinal":
            return codes
        return np.column_stack([(codes[:, j][:, None] == np.arange(k)).astype(float)
                                for j, k in enumerate(self.n_bins_)])

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """The input's names (ordinal codes), or ``<feature>_<bin>`` per one-hot column."""
        names = _input_features(self, input_features)
        if self.encode == "ordinal":
            return names
        pairs = zip(names, self.n_bins_, strict=True)
        return np.array([f"{name}_{b}" for name, k in pairs for b in range(k)], dtype=object)


# ---------------------------------------------------------------------------------------------
# categorical encodings
# ---------------------------------------------------------------------------------------------
def _categorical(X) -> np.ndarray:
    """X (n_samples, n_features) of categories (strings or numbers) as an object array; sparse,
    complex, 1-D and empty input get scikit-learn's messages (check_array)."""
    if _is_sparse(X):
        return check_array(X)  # raises scikit-learn's "dense data is required"
    arr = np.asarray(X)
    return check_array(arr if arr.dtype.kind == "c" else arr.astype(object, copy=False), dtype=object)


def _sorted_unique(col) -> np.ndarray:
    vals = list(set(_category(v) for v in col.tolist()))
    return np.array(sorted(vals), dtype=object)


def _category(v):
    """A category must be a string or a finite number (a NaN or infinity is a missing value)."""
    if isinstance(v, bool) or not isinstance(v, str | numbers.Number):
        raise TypeError(f"argument must be a string or a number, got {type(v).__name__} ({v!r})")
    if isinstance(v, numbers.Real) and not math.isfinite(v):
        raise ValueError(f"Input X contains NaN or infinity ({v}): impute categorical features first")
    return v


class OneHotEncoder(TransformerMixin, BaseEstimator):
    """One column per category of each feature, 1 where the sample has it (dense output).
    Unknown categories at transform raise (``handle_unknown="error"``) or give all zeros
    (``"ignore"``). ``drop="first"`` drops each feature's first category."""

    def __init__(self, handle_unknown: str = "error", drop: str | None = None):
        self.handle_unknown, self.drop = handle_unknown, drop

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> OneHotEncoder:
        X = self._fit_input(X, _categorical)
        self.categories_ = [_sorted_unique(X[:, j]) for j in range(X.shape[1])]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "categories_")
        X = self._transform_input(X, _categorical)
        blocks = []
        for j, cats in enumerate(self.categories_):
            index = {c: i for i, c in enumerate(cats.tolist())}
            block = np.zeros((X.shape[0], len(cats)))
            for i, v in enumerate(X[:, j].tolist()):
                k = index.get(_category(v))
                if k is None:
                    if self.handle_unknown == "error":
                        raise ValueError(f"unknown category {v!r} in feature {j}")
                    continue
                block[i, k] = 1.0
            blocks.append(block[:, 1:] if self.drop == "first" else block)
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """``<feature>_<category>`` for each output column (scikit-learn's names)."""
        check_is_fitted(self, "categories_")
        names = _input_features(self, input_features)
        out = []
        for name, cats in zip(names, self.categories_, strict=True):
            cs = cats[1:] if self.drop == "first" else cats
            out.extend(f"{name}_{c}" for c in cs)
        return np.array(out, dtype=object)


class LabelEncoder(BaseEstimator):
    """Labels to integers 0..k-1 in sorted order (``classes_``), and back."""

    def fit(self, y: ArrayLike) -> LabelEncoder:
        y = np.asarray(y)
        if y.ndim != 1 or y.size == 0:
            raise ValueError("y must be a non-empty 1-D array")
        self.classes_ = np.unique(y)
        return self

    def transform(self, y: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "classes_")
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        idx_c = np.minimum(idx, self.classes_.size - 1)
        if np.any(self.classes_[idx_c] != y):
            unknown = sorted(set(y[self.classes_[idx_c] != y].tolist()))
            raise ValueError(f"y contains previously unseen labels: {unknown}")
        return idx

    def fit_transform(self, y: ArrayLike) -> np.ndarray:
        return self.fit(y).transform(y)

    def inverse_transform(self, y: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "classes_")
        y = np.asarray(y)
        if np.any((y < 0) | (y >= self.classes_.size)):
            raise ValueError("y contains codes outside [0, n_classes)")
        return self.classes_[y]


class OrdinalEncoder(TransformerMixin, BaseEstimator):
    """Each feature's categories to 0..k-1 (sorted, or the order given in ``categories``)."""

    _input_tags = {"categorical": True, "string": True}

    def __init__(self, categories: Literal["auto"] | list[ArrayLike] = "auto"):
        self.categories = categories

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> OrdinalEncoder:
        X = self._fit_input(X, _categorical)
        if self.categories == "auto":
            self.categories_ = [_sorted_unique(X[:, j]) for j in range(X.shape[1])]
        else:
            self.categories_ = [np.array(c, dtype=object) for c in self.categories]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "categories_")
        X = self._transform_input(X, _categorical)
        out = np.empty(X.shape)
        for j, cats in enumerate(self.categories_):
            index = {c: i for i, c in enumerate(cats.tolist())}
            for i, v in enumerate(X[:, j].tolist()):
                if _category(v) not in index:
                    raise ValueError(f"unknown category {v!r} in feature {j}")
                out[i, j] = index[v]
        return out

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        X = np.asarray(X, dtype=np.int64)
        return np.column_stack([cats[X[:, j]] for j, cats in enumerate(self.categories_)])


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def murmurhash3_32(key: str | bytes, seed: int = 0, positive: bool = False) -> int:
    """MurmurHash3 (x86, 32-bit) of a UTF-8 string: the hash scikit-learn's FeatureHasher uses."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    n = len(data) // 4
    for i in range(n):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[4 * n:]
    k = 0
    for i in range(len(tail) - 1, -1, -1):
        k = (k << 8) | tail[i]
    if tail:
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h = _fmix(h ^ len(data))
    if positive:
        return h
    return h - (1 << 32) if h >= (1 << 31) else h


class FeatureHasher(TransformerMixin, BaseEstimator):
    """The hashing trick: feature name -> column ``|h(name)| mod n_features`` with sign
    ``sign(h)`` (``alternate_sign``), h = MurmurHash3 (scikit-learn's layout, dense output).

    ``input_type="dict"``: samples are ``{name: value}``, string values becoming ``"name=value"``
    with value 1; ``"string"``: samples are iterables of names, each counting 1.
    """

    def __init__(self, n_features: int = 2**20, input_type: str = "dict", alternate_sign: bool = True):
        self.n_features, self.input_type, self.alternate_sign = n_features, input_type, alternate_sign

    def fit(self, X: object = None, y: ArrayLike | None = None) -> FeatureHasher:
        if int(self.n_features) < 1:
            raise ValueError(f"n_features must be >= 1, got {self.n_features}")
        if self.input_type not in ("dict", "string"):
            raise ValueError(f"input_type must be 'dict' or 'string', got {self.input_type!r}")
        return self

    def transform(self, raw_X: Iterable[Mapping[str, float] | Iterable[str]]) -> np.ndarray:
        self.fit()
        rows = list(raw_X)
        out = np.zeros((len(rows), int(self.n_features)))
        for i, sample in enumerate(rows):
            items = sample.items() if self.input_type == "dict" else ((s, 1.0) for s in sample)
            for name, value in items:
                if isinstance(value, str):
                    name, value = f"{name}={value}", 1.0
                h = murmurhash3_32(str(name))
                col = abs(h) % int(self.n_features)
                sign = -1.0 if (self.alternate_sign and h < 0) else 1.0
                out[i, col] += sign * float(value)
        return out

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """``featurehasher0 .. featurehasher{n_features - 1}``: hashed columns have no input names."""
        return np.array([f"featurehasher{i}" for i in range(int(self.n_features))], dtype=object)


class PolynomialFeatures(TransformerMixin, BaseEstimator):
    """All products of the features up to ``degree`` (``[1, a, b, a^2, ab, b^2]`` for degree 2),
    or only products of distinct features (``interaction_only``: ``[1, a, b, ab]``)."""

    def __init__(self, degree: int = 2, interaction_only: bool = False, include_bias: bool = True):
        self.degree, self.interaction_only, self.include_bias = degree, interaction_only, include_bias

    def _combos(self, n: int):
        comb = itertools.combinations if self.interaction_only else itertools.combinations_with_replacement
        start = 0 if self.include_bias else 1
        return [c for d in range(start, int(self.degree) + 1) for c in comb(range(n), d)]

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> PolynomialFeatures:
        X = self._fit_input(X)
        if int(self.degree) < 0:
            raise ValueError(f"degree must be >= 0, got {self.degree}")
        self.n_features_in_ = X.shape[1]
        self.powers_ = np.array([np.bincount(c, minlength=X.shape[1]) for c in self._combos(X.shape[1])])
        self.n_output_features_ = len(self.powers_)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "powers_")
        X = self._transform_input(X)
        return np.column_stack([np.prod(X[:, list(c)], axis=1) if c else np.ones(X.shape[0])
                                for c in self._combos(X.shape[1])])

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """scikit-learn's names: ``1``, ``a``, ``a^2``, ``a b``, ... for each output column."""
        check_is_fitted(self, "powers_")
        names = _input_features(self, input_features)
        out = []
        for row in self.powers_:
            terms = [f"{names[j]}^{p}" if p > 1 else str(names[j]) for j, p in enumerate(row) if p > 0]
            out.append(" ".join(terms) if terms else "1")
        return np.array(out, dtype=object)


# ---------------------------------------------------------------------------------------------
# time features and outliers
# ---------------------------------------------------------------------------------------------
def cyclical_time_features(timestamps: ArrayLike) -> dict[str, np.ndarray]:
    """Hour (0-23), weekday (Monday = 0) and month (1-12) as points on circles, so that 23:00
    is next to 00:00 and December next to January: ``sin(2 pi v / period)``,
    ``cos(2 pi v / period)``; plus ``is_weekend`` (Saturday, Sunday)."""
    t = np.asarray(timestamps, dtype="datetime64[s]")
    if t.ndim != 1:
        raise ValueError("timestamps must be 1-D")
    if np.any(np.isnat(t)):
        raise ValueError("timestamps contain NaT")
    days = t.astype("datetime64[D]")
    hour = ((t - days).astype("timedelta64[h]").astype(np.int64)).astype(float)
    weekday = ((days.astype(np.int64) + 3) % 7).astype(float)  # 1970-01-01 was a Thursday
    month = (t.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(float)
    out = {}
    for name, v, period in (("hour", hour, 24.0), ("weekday", weekday, 7.0), ("month", month - 1, 12.0)):
        out[f"{name}_sin"] = np.sin(2 * np.pi * v / period)
        out[f"{name}_cos"] = np.cos(2 * np.pi * v / period)
    out["hour"], out["weekday"], out["month"] = hour, weekday, month
    out["is_weekend"] = (weekday >= 5).astype(float)
    return out


def iqr_outliers(x: ArrayLike, k: float = 1.5) -> np.ndarray:
    """Tukey's fences: outside ``[Q1 - k IQR, Q3 + k IQR]`` (per column for 2-D input)."""
    x = np.asarray(x, dtype=float)
    if x.size == 0 or np.any(np.isnan(x)):
        raise ValueError("x must be non-empty without NaN")
    q1, q3 = np.percentile(x, [25, 75], axis=0)
    iqr = q3 - q1
    return (x < q1 - k * iqr) | (x > q3 + k * iqr)


def zscore_outliers(x: ArrayLike, threshold: float = 3.0) -> np.ndarray:
    """``|x - mean| / std > threshold`` (per column for 2-D input; a constant column has none)."""
    x = np.asarray(x, dtype=float)
    if x.size == 0 or np.any(np.isnan(x)):
        raise ValueError("x must be non-empty without NaN")
    sd = x.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(x - x.mean(axis=0)) / np.where(sd > 0, sd, np.inf)
    return z > threshold


class OutlierClipper(TransformerMixin, BaseEstimator):
    """Clip each feature to the fences learned on the training data: ``"iqr"``
    (``[Q1 - k IQR, Q3 + k IQR]``) or ``"zscore"`` (``mean +- k std``)."""

    def __init__(self, method: str = "iqr", k: float = 1.5):
        self.method, self.k = method, k

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> OutlierClipper:
        X = self._fit_input(X)
        if self.method == "iqr":
            q1, q3 = np.percentile(X, [25, 75], axis=0)
            self.lower_, self.upper_ = q1 - self.k * (q3 - q1), q3 + self.k * (q3 - q1)
        elif self.method == "zscore":
            m, s = X.mean(axis=0), X.std(axis=0)
            self.lower_, self.upper_ = m - self.k * s, m + self.k * s
        else:
            raise ValueError(f"method must be 'iqr' or 'zscore', got {self.method!r}")
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "lower_")
        X = self._transform_input(X)
        return np.clip(X, self.lower_, self.upper_)


# ---------------------------------------------------------------------------------------------
# SMOTE
# ---------------------------------------------------------------------------------------------
class SMOTE(BaseEstimator):
    """Synthetic Minority Over-sampling (Chawla et al. 2002): for a minority sample x, pick one of
    its ``k_neighbors`` nearest same-class neighbours x_nn and add ``x + u (x_nn - x)``,
    u ~ U(0, 1), until every class has as many samples as the largest. Neighbours come from
    :func:`grimoire.linalg.pairwise_distances` (the core kernel)."""

    def __init__(self, k_neighbors: int = 5, random_state: RandomState = None):
        self.k_neighbors, self.random_state = k_neighbors, random_state

    def fit_resample(self, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        from .linalg import pairwise_distances

        X = check_array(X)
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must be ({X.shape[0]},), got {y.shape}")
        rng = np.random.default_rng(self.random_state)
        classes, counts = np.unique(y, return_counts=True)
        target = counts.max()
        new_X, new_y = [X], [y]
        for c, n_c in zip(classes, counts, strict=True):
            need = target - n_c
            if need == 0:
                continue
            members = X[y == c]
            if n_c < 2:
                raise ValueError(f"class {c!r} has {n_c} sample: SMOTE needs at least 2")
            k = min(int(self.k_neighbors), n_c - 1)
            d = pairwise_distances(members)
            np.fill_diagonal(d, np.inf)
            nn = np.argsort(d, axis=1, kind="stable")[:, :k]
            base = rng.integers(0, n_c, need)
            pick = nn[base, rng.integers(0, k, need)]
            u = rng.random((need, 1))
            new_X.append(members[base] + u * (members[pick] - members[base]))
            new_y.append(np.full(need, c, dtype=y.dtype))
        return np.vstack(new_X), np.concatenate(new_y)


# ---------------------------------------------------------------------------------------------
# deduplication and leakage
# ---------------------------------------------------------------------------------------------
def _row_key(row) -> bytes:
    if isinstance(row, str):
        return row.encode("utf-8")
    if isinstance(row, bytes):
        return row
    arr = np.ascontiguousarray(np.asarray(row))
    return arr.dtype.str.encode() + arr.tobytes()


def exact_duplicates(rows: Iterable[ArrayLike | str | bytes]) -> list[list[int]]:
    """Groups of indices whose rows (array rows, strings, bytes) are identical, found by hashing
    each row (SHA-1 of its bytes) into buckets: O(n) instead of comparing all pairs."""
    buckets: dict[bytes, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        buckets[hashlib.sha1(_row_key(r)).digest()].append(i)
    return [g for g in buckets.values() if len(g) > 1]


def _shingles(text: str, k: int) -> set[str]:
    text = " ".join(text.lower().split())
    if len(text) <= k:
        return {text}
    return {text[i:i + k] for i in range(len(text) - k + 1)}


class MinHash:
    """MinHash signatures: for ``num_perm`` random hash functions ``h_i(x) = (a_i x + b_i) mod p``
    over a set's elements, keep each minimum. ``P[sig_i(A) == sig_i(B)] = Jaccard(A, B)``, so
    the fraction of equal entries estimates the Jaccard similarity."""

    _PRIME = (1 << 31) - 1

    def __init__(self, num_perm: int = 128, seed: int = 1):
        if num_perm < 1:
            raise ValueError("num_perm must be >= 1")
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self.a = rng.integers(1, self._PRIME, num_perm, dtype=np.uint64)
        self.b = rng.integers(0, self._PRIME, num_perm, dtype=np.uint64)

    def signature(self, items: Iterable[object]) -> np.ndarray:
        items = list(items)
        if not items:
            raise ValueError("MinHash of an empty set is undefined")
        base = np.array([int.from_bytes(hashlib.blake2b(str(x).encode(), digest_size=8).digest(), "little")
                         % self._PRIME for x in items], dtype=np.uint64)
        # (a x + b) mod p with p = 2^31 - 1 and a, b, x < p: a x + b < 2^63, exact in uint64, and the
        # product wraps around p many times (a larger p would leave a x unreduced: no permutation)
        h = (self.a[:, None] * base[None, :] + self.b[:, None]) % np.uint64(self._PRIME)
        return h.min(axis=1)

    @staticmethod
    def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
        return float(np.mean(sig_a == sig_b))


class MinHashLSH:
    """Locality-sensitive hashing over MinHash signatures: ``bands`` bands of ``rows`` entries;
    two items become candidates when any band matches exactly, which happens with probability
    ``1 - (1 - s^rows)^bands`` for Jaccard similarity s (an S-curve around
    ``(1/bands)^(1/rows)``)."""

    def __init__(self, bands: int = 16, rows: int = 8):
        self.bands, self.rows = bands, rows
        self.tables: list[dict[bytes, list[int]]] = [defaultdict(list) for _ in range(bands)]

    def insert(self, key: int, signature: np.ndarray) -> None:
        if signature.size < self.bands * self.rows:
            raise ValueError(f"the signature needs >= bands * rows = {self.bands * self.rows} entries")
        for b in range(self.bands):
            self.tables[b][signature[b * self.rows:(b + 1) * self.rows].tobytes()].append(key)

    def candidate_pairs(self) -> set[tuple[int, int]]:
        pairs = set()
        for table in self.tables:
            for bucket in table.values():
                if len(bucket) > 1:
                    pairs.update(itertools.combinations(sorted(bucket), 2))
        return pairs


def near_duplicates(texts: Sequence[str], threshold: float = 0.8, ngram: int = 5, num_perm: int = 128,
                    bands: int = 32, seed: int = 1) -> list[tuple[int, int, float]]:
    """Pairs of near-duplicate texts: character ``ngram`` shingles, MinHash signatures, LSH
    banding for candidates, then the estimated Jaccard similarity >= ``threshold`` confirmed
    on the signatures. Returns ``(i, j, estimated Jaccard)``."""
    if num_perm % bands:
        raise ValueError("num_perm must be a multiple of bands")
    mh = MinHash(num_perm, seed)
    lsh = MinHashLSH(bands, num_perm // bands)
    sigs = []
    for i, t in enumerate(texts):
        sig = mh.signature(_shingles(t, ngram))
        sigs.append(sig)
        lsh.insert(i, sig)
    out = []
    for i, j in sorted(lsh.candidate_pairs()):
        s = MinHash.jaccard(sigs[i], sigs[j])
        if s >= threshold:
            out.append((i, j, s))
    return out


def leakage_check(X_train: ArrayLike, X_test: ArrayLike, y_train: ArrayLike | None = None,
                  y_test: ArrayLike | None = None) -> dict:
    """Train/test leakage report (primer 6.1): test rows that also occur in the training set
    (exact, by hashing), and features that reproduce the training labels exactly (a target
    leaked into the inputs)."""
    train_keys = Counter(hashlib.sha1(_row_key(r)).digest() for r in np.asarray(X_train))
    test = np.asarray(X_test)
    overlap = [i for i, r in enumerate(test) if hashlib.sha1(_row_key(r)).digest() in train_keys]
    report = {"n_test": len(test), "test_rows_in_train": overlap,
              "overlap_fraction": len(overlap) / max(len(test), 1), "target_like_features": []}
    if y_train is not None:
        Xtr, ytr = np.asarray(X_train, dtype=float), np.asarray(y_train, dtype=float)
        for j in range(Xtr.shape[1]):
            col = Xtr[:, j]
            if np.array_equal(col, ytr) or (col.std() > 0 and ytr.std() > 0
                                            and abs(np.corrcoef(col, ytr)[0, 1]) > 0.999):
                report["target_like_features"].append(j)
    report["leak"] = bool(overlap or report["target_like_features"])
    return report
