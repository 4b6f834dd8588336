"""The estimator contract of ``grimoire.ml``, written here so the runtime needs only NumPy.

scikit-learn's conventions, kept exactly: ``__init__`` stores its arguments and nothing else;
``get_params``/``set_params`` read them back through the signature; ``fit`` validates its input,
sets ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame with string column names)
and returns ``self``; learned state lives in NumPy attributes ending in ``_``, so ``clone`` and
``pickle`` work. scikit-learn (a test extra) is imported only inside ``__sklearn_tags__``, which
only scikit-learn itself calls.
"""

from __future__ import annotations

import copy
import functools
import inspect
import numbers
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any, Literal, TypeVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._typing import RandomState, Self

Est = TypeVar("Est")
F = TypeVar("F", bound=Callable[..., Any])

try:  # scikit-learn's own classes when it is installed, so its tools recognise ours
    from sklearn.exceptions import ConvergenceWarning as _SkConvergence
    from sklearn.exceptions import DataConversionWarning as _SkConversion
    from sklearn.exceptions import NotFittedError as _SkNotFitted
except ImportError:  # the runtime needs only NumPy
    _SkConvergence = _SkConversion = UserWarning

    class _SkNotFitted(ValueError, AttributeError):
        pass


class DataConversionWarning(_SkConversion):
    """The input was converted (for example a column-vector ``y`` raveled to 1-D)."""


class NotFittedError(_SkNotFitted):
    """An estimator was used before ``fit``."""


class ConvergenceWarning(_SkConvergence):
    """An iterative solver stopped at its iteration limit before converging."""


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def _feature_names(X) -> np.ndarray | None:
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return None
    names = np.asarray(columns, dtype=object)
    types = sorted({type(v).__qualname__ for v in names})
    if len(types) > 1 and "str" in types:
        raise TypeError("Feature names are only supported if all input features have string names, "
                        f"but your input has {types} as feature name / column name types.")
    if len(types) == 1 and types[0] == "str":
        return names
    return None


def _is_sparse(X) -> bool:
    return hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse")


def check_array(X: ArrayLike, *, name: str = "X", dtype: DTypeLike = np.float64, ensure_2d: bool = True,
                allow_nan: bool = False, ensure_min_samples: int = 1, order: str = "C") -> np.ndarray:
    """``X`` as a finite float64 array (2-D unless ``ensure_2d=False``), or a clear ValueError.

    The messages are scikit-learn's, so callers and its estimator checks recognise them.
    """
    if _is_sparse(X):
        raise TypeError(f"Sparse data was passed for {name}, but dense data is required. "
                        "Use X.toarray() to convert to a dense numpy array.")
    arr = np.asarray(X)
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported\n{arr}\n")
    if arr.dtype.kind not in "biuf" and arr.dtype != object:
        if arr.dtype.kind in "USV":
            raise ValueError(f"{name} holds strings ({arr.dtype}); grimoire.ml needs numbers")
    arr = np.asarray(arr, dtype=dtype, order=order)
    if ensure_2d:
        if arr.ndim == 0:
            raise ValueError(f"Expected 2D array, got scalar array instead:\narray={arr}.\n"
                             "Reshape your data either using array.reshape(-1, 1) if your data has a single "
                             "feature or array.reshape(1, -1) if it contains a single sample.")
        if arr.ndim == 1:
            raise ValueError(f"Expected 2D array, got 1D array instead:\narray={arr}.\n"
                             "Reshape your data either using array.reshape(-1, 1) if your data has a single "
                             "feature or array.reshape(1, -1) if it contains a single sample.")
        if arr.ndim > 2:
            raise ValueError(f"Found array with dim {arr.ndim}, while dim <= 2 is required.")
        if arr.shape[1] < 1:
            raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                             "required.")
    n = arr.shape[0] if arr.ndim else 1
    if n < ensure_min_samples:
        raise ValueError(f"Found array with {n} sample(s) (shape={arr.shape}) while a minimum of "
                         f"{ensure_min_samples} is required.")
    if not allow_nan and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        if np.isnan(arr).any():
            raise ValueError(f"Input {name} contains NaN.")
        raise ValueError(f"Input {name} contains infinity or a value too large for {arr.dtype!r}.")
    return arr


def column_or_1d(y: ArrayLike, *, name: str = "y", warn: bool = True) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        if warn:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the "
                          "shape of y to (n_samples, ), for example using ravel().",
                          DataConversionWarning, stacklevel=3)
        return y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} should be a 1d array, got an array of shape {y.shape} instead.")
    return y


def type_of_target(y: np.ndarray) -> str:
    """'binary', 'multiclass', 'continuous' or 'unknown' for a 1-D target (sklearn's names)."""
    if y.dtype == object:
        if all(isinstance(v, str) for v in y):
            return "binary" if len(set(y)) <= 2 else "multiclass"
        if not all(isinstance(v, numbers.Number) for v in y):
            return "unknown"
        y = y.astype(np.float64)
        if np.any(y != np.round(y)):
            return "continuous"
        return "unknown"
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        if np.any(y != np.round(y)):
            return "continuous"
    if y.dtype.kind not in "biufUS":
        return "unknown"
    return "binary" if np.unique(y).size <= 2 else "multiclass"


def check_X_y(X: ArrayLike, y: ArrayLike, *, classifier: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(X, y)``: X a finite 2-D float64 array, y 1-D of the same length (float64
    for regressors; for classifiers checked to be class labels)."""
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    X = check_array(X)
    y = column_or_1d(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{X.shape[0]}, {y.shape[0]}]")
    if classifier:
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {kind}. Maybe you are trying to fit a classifier, which "
                             "expects discrete classes on a regression target with continuous values.")
    else:
        y = check_array(y, name="y", ensure_2d=False)
    return X, y


def check_sample_weight(sample_weight: ArrayLike | None, n: int) -> np.ndarray:
    """Sample weights as a float64 vector of length n (ones when None), non-negative and not all 0."""
    if sample_weight is None:
        return np.ones(n)
    if isinstance(sample_weight, numbers.Number):
        return np.full(n, float(sample_weight))
    w = check_array(sample_weight, name="sample_weight", ensure_2d=False)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if (w < 0).any():
        raise ValueError("Negative values in data passed to `sample_weight`")
    if not (w > 0).any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def check_random_state(seed: RandomState | ModuleType) -> np.random.RandomState:
    """A ``numpy.random.RandomState`` from None, an int or an existing generator."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def check_is_fitted(estimator: object, attribute: str | None = None) -> None:
    """Raise :class:`NotFittedError` unless ``fit`` has run (some attribute ends in ``_``)."""
    fitted = (hasattr(estimator, attribute) if attribute else
              any(k.endswith("_") and not k.startswith("__") for k in vars(estimator)))
    if not fitted:
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
                             "appropriate arguments before using this estimator.")


def n_threads(n_jobs: int | None) -> int:
    """``n_jobs`` as a thread count: None means grimoire's setting, -1 all cores, -2 all but one."""
    from .. import _core

    if n_jobs is None:
        return _core.get_num_threads()
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        return max(1, _core.available_cores() + 1 + n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning")
    return n_jobs


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------

class BaseEstimator:
    """Parameters from the ``__init__`` signature, scikit-learn style."""

    _estimator_type: str | None = None
    # scikit-learn's InputTags this estimator differs in (allow_nan, categorical, positive_only, ...).
    _input_tags: dict[str, bool] = {}
    # The checks of sklearn.utils.estimator_checks this estimator fails by design, each with the
    # reason. scikit-learn >= 1.6 has no tag for them (the `_xfail_checks` tag is gone), so they are
    # declared here, beside the tags, and given to check_estimator(expected_failed_checks=...).
    _expected_failed_checks: dict[str, str] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        return sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        out = {}
        for key in self._param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> Self:
        valid = self._param_names()
        for key, value in params.items():
            key, _, sub = key.partition("__")
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {self}. Valid parameters are: "
                                 f"{valid!r}.")
            if sub:
                getattr(self, key).set_params(**{sub: value})
            else:
                setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for k in self._param_names():
            v = getattr(self, k, None)
            d = defaults.get(k, inspect.Parameter.empty)
            same = v is d or (type(v) is type(d) and not isinstance(v, np.ndarray) and v == d)
            if not same:
                changed.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags, TransformerTags

        kind = self._estimator_type
        return Tags(
            estimator_type=kind,
            target_tags=TargetTags(required=kind in ("classifier", "regressor")),
            transformer_tags=TransformerTags() if hasattr(self, "transform") else None,
            classifier_tags=ClassifierTags() if kind == "classifier" else None,
            regressor_tags=RegressorTags() if kind == "regressor" else None,
            input_tags=InputTags(**self._input_tags),
        )

    # -- shared fit/predict plumbing ---------------------------------------------------------
    def _validate_fit_X(self, X) -> np.ndarray:
        return self._fit_input(X)

    def _fit_input(self, X, convert: Callable[..., np.ndarray] = check_array, **kwargs) -> np.ndarray:
        """X at fit, through ``convert`` (check_array by default, with ``kwargs``); records
        ``n_features_in_`` and, for a DataFrame with string column names, ``feature_names_in_``."""
        names = _feature_names(X)
        arr = convert(X, **kwargs)
        self.n_features_in_ = arr.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return arr

    def _transform_input(self, X, convert: Callable[..., np.ndarray] = check_array, **kwargs) -> np.ndarray:
        """X at transform/predict, through ``convert``: fitted, the same number (and names) of
        features as at fit."""
        check_is_fitted(self, "n_features_in_")
        self._check_feature_names(X)
        arr = convert(X, **kwargs)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return arr

    def _validate_fit_X_y(self, X, y, classifier: bool = False):
        names = _feature_names(X)
        X, y = check_X_y(X, y, classifier=classifier)
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return X, y

    def _validate_X(self, X) -> np.ndarray:
        """X at predict/transform time: fitted, same features (and names) as at fit."""
        return self._transform_input(X)

    def _check_feature_names(self, X) -> None:
        fitted = getattr(self, "feature_names_in_", None)
        given = _feature_names(X)
        if fitted is None and given is None:
            return
        if given is not None and fitted is None:
            warnings.warn(f"X has feature names, but {type(self).__name__} was fitted without feature names",
                          UserWarning, stacklevel=3)
            return
        if given is None:
            warnings.warn(f"X does not have valid feature names, but {type(self).__name__} was fitted with "
                          "feature names", UserWarning, stacklevel=3)
            return
        if len(fitted) == len(given) and np.all(fitted == given):
            return
        message = "The feature names should match those that were passed during fit.\n"
        unexpected = sorted(set(given) - set(fitted))
        missing = sorted(set(fitted) - set(given))

        def add(names):
            out = ""
            for i, nm in enumerate(names):
                if i >= 5:
                    out += "- ...\n"
                    break
                out += f"- {nm}\n"
            return out

        if unexpected:
            message += "Feature names unseen at fit time:\n" + add(unexpected)
        if missing:
            message += "Feature names seen at fit time, yet now missing:\n" + add(missing)
        if not missing and not unexpected:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(message)


class ClassifierMixin:
    _estimator_type = "classifier"

    def _encode_classes(self, y: np.ndarray) -> np.ndarray:
        """Sets ``classes_`` (sorted unique labels) and returns y as class indices (int32)."""
        self.classes_, encoded = np.unique(y, return_inverse=True)
        return encoded.astype(np.int32).reshape(-1)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y``."""
        y = column_or_1d(y, warn=False)
        correct = (self.predict(X) == y).astype(np.float64)
        return float(np.average(correct, weights=sample_weight))


class ProbabilisticClassifierMixin(ClassifierMixin):
    """A classifier whose ``predict`` is the most probable class of its ``predict_proba``."""

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]


class RegressorMixin:
    _estimator_type = "regressor"

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Coefficient of determination R^2 = 1 - SS_res / SS_tot of ``predict(X)``."""
        y = np.asarray(column_or_1d(y, warn=False), dtype=np.float64)
        pred = self.predict(X)
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        ss_res = np.sum(w * (y - pred) ** 2)
        ss_tot = np.sum(w * (y - np.average(y, weights=w)) ** 2)
        if ss_tot == 0:
            return 1.0 if ss_res == 0 else 0.0
        return float(1.0 - ss_res / ss_tot)


def _output_config(estimator) -> str:
    """"pandas" or "default": the estimator's ``set_output``, else scikit-learn's global
    ``transform_output`` when scikit-learn is in use (its ``config_context`` applies to ours)."""
    how = getattr(estimator, "_output_transform", None)
    if how is None and "sklearn" in sys.modules:
        how = sys.modules["sklearn"].get_config().get("transform_output", "default")
    return how or "default"


def _wrap_output(method: F) -> F:
    """``transform``/``fit_transform`` returning a pandas DataFrame under ``set_output("pandas")``:
    columns ``get_feature_names_out()``, the input's index when the input was a DataFrame."""

    @functools.wraps(method)
    def wrapped(self, X, *args, **kwargs):
        out = method(self, X, *args, **kwargs)
        if _output_config(self) != "pandas" or not isinstance(out, np.ndarray) or out.ndim != 2:
            return out
        import pandas as pd

        index = X.index if hasattr(X, "iloc") and len(X.index) == out.shape[0] else None
        return pd.DataFrame(out, index=index, columns=self.get_feature_names_out(), copy=False)

    wrapped._wraps_output = True
    return wrapped


class TransformerMixin:
    """``fit_transform``, ``get_feature_names_out`` and ``set_output``, scikit-learn's contract.

    A subclass's ``transform`` and ``fit_transform`` are wrapped (as scikit-learn's own
    ``_SetOutputMixin`` does) so that ``set_output(transform="pandas")`` gives DataFrames."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("transform", "fit_transform"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_wraps_output", False):
                setattr(cls, name, _wrap_output(method))

    @_wrap_output
    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None, **fit_params: Any) -> np.ndarray:
        return self.fit(X, y, **fit_params).transform(X)

    def set_output(self, *, transform: Literal["default", "pandas"] | None = None) -> Self:
        """``transform="pandas"``: ``transform``/``fit_transform`` return DataFrames;
        ``"default"``: NumPy arrays; ``None``: unchanged. Returns ``self``."""
        if transform not in (None, "default", "pandas"):
            raise ValueError(f"transform must be 'default', 'pandas' or None, got {transform!r}")
        if transform is not None:
            self._output_transform = transform
        return self

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Output feature names; for a transformer that keeps its columns, the input's names
        (``feature_names_in_``, else ``x0, x1, ...``)."""
        return _input_features(self, input_features)


class ClassNamePrefixFeaturesOutMixin:
    """For a transformer whose outputs are new features (components, distances to centres, an
    embedding): they are named ``<class name in lower case>0``, ``1``, ... as in scikit-learn.
    ``_n_features_out_from`` names the fitted array, and its axis, that counts the outputs."""

    _n_features_out_from: tuple[str, int] = ("", 0)  # (fitted attribute, axis) counting the outputs

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        _input_features(self, input_features)  # validates input_features as scikit-learn does
        attribute, axis = self._n_features_out_from
        n = getattr(self, attribute).shape[axis]
        prefix = type(self).__name__.lower()
        return np.array([f"{prefix}{i}" for i in range(n)], dtype=object)


def _input_features(estimator, input_features: ArrayLike | None = None) -> np.ndarray:
    """The input feature names as scikit-learn validates them: ``input_features`` if given (equal
    to ``feature_names_in_`` when that exists), else ``feature_names_in_``, else ``x0..x{n-1}``."""
    check_is_fitted(estimator, "n_features_in_")
    fitted = getattr(estimator, "feature_names_in_", None)
    if input_features is None:
        if fitted is not None:
            return np.asarray(fitted, dtype=object)
        return np.array([f"x{i}" for i in range(estimator.n_features_in_)], dtype=object)
    names = np.asarray(input_features, dtype=object)
    if fitted is not None and not np.array_equal(fitted, names):
        raise ValueError("input_features is not equal to feature_names_in_")
    if fitted is None and len(names) != estimator.n_features_in_:
        raise ValueError(f"input_features should have length equal to number of features "
                         f"({estimator.n_features_in_}), got {len(names)}")
    return names


class ClusterMixin:
    _estimator_type = "clusterer"

    def fit_predict(self, X: ArrayLike, y: ArrayLike | None = None,
                    sample_weight: ArrayLike | None = None) -> np.ndarray:
        return self.fit(X, sample_weight=sample_weight).labels_


def expected_failed_checks(estimator: object) -> dict[str, str]:
    """The estimator's declared expected failures, for ``check_estimator(expected_failed_checks=)``
    and ``parametrize_with_checks``."""
    return dict(getattr(estimator, "_expected_failed_checks", {}))


class _Silent:
    """What :func:`progress` gives when ``verbose`` is off: the iterable, a bar's methods doing nothing."""

    def __init__(self, iterable: Iterable | None) -> None:
        self._iterable = iterable

    def __iter__(self) -> Iterator:
        return iter(self._iterable if self._iterable is not None else ())

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        return None

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        return None

    def update(self, n: float = 1) -> None:
        return None

    def close(self) -> None:
        return None


def progress(iterable: Iterable | None = None, *, verbose: int | bool, desc: str, total: int | None = None,
             unit: str = "it") -> Any:
    """The estimators' ``verbose``: a tqdm bar on stderr over ``iterable`` (or of ``total`` steps
    advanced with ``update``) when ``verbose`` > 0, else a silent stand-in with the same
    ``set_postfix``/``update``/``close``. Silent by default; no tqdm object is made when silent
    (even disabled, tqdm starts a monitor thread, which tests/test_threads.py would count)."""
    if not verbose:
        return _Silent(iterable)
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False)


# A bootstrap (forests) or the k-means++ seeding draws rows at random, and a row of weight 2 is drawn
# differently from two copies of a row: scikit-learn records the same expectation for its own
# RandomForest* and KMeans.
RANDOM_ROW_DRAWS = {"check_sample_weight_equivalence_on_dense_data":
                    "sample_weight is not equivalent to removing/repeating samples (random row draws)."}


def clone(estimator: Est) -> Est:
    """A new unfitted estimator with the same parameters (deep-copied)."""
    if hasattr(estimator, "get_params"):
        params = estimator.get_params(deep=False)
        new = type(estimator)(**{k: clone(v) if hasattr(v, "get_params") else copy.deepcopy(v)
                                 for k, v in params.items()})
        if hasattr(estimator, "_output_transform"):  # set_output survives cloning, as in scikit-learn
            new._output_transform = estimator._output_transform
        return new
    return copy.deepcopy(estimator)
