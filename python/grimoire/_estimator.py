"""A minimal scikit-learn estimator contract for grimoire's transformers and model-selection
tools: ``get_params``/``set_params`` read from ``__init__``'s signature, ``clone``, and
``fit_transform``. (Written here because ``grimoire.ml.base`` does not exist yet on this branch;
when it lands, the two should become one.)
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

__all__ = ["BaseEstimator", "TransformerMixin", "clone", "check_is_fitted", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``."""


class BaseEstimator:
    """``__init__`` only stores its arguments; ``get_params`` reads them back by name."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict:
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            out[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for k, v in value.get_params(deep=True).items():
                    out[f"{name}__{k}"] = v
        return out

    def set_params(self, **params) -> BaseEstimator:
        valid = self._param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}")
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


class TransformerMixin:
    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).transform(X)


def clone(estimator):
    """A new unfitted estimator with the same parameters (deep-copied)."""
    if hasattr(estimator, "get_params"):
        params = estimator.get_params(deep=False)
        return type(estimator)(**{k: clone(v) if hasattr(v, "get_params") else copy.deepcopy(v)
                                  for k, v in params.items()})
    return copy.deepcopy(estimator)


def check_is_fitted(estimator, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet: call fit first")


def check_array(X, name: str = "X", allow_nan: bool = False, ensure_2d: bool = True,
                dtype=float) -> np.ndarray:
    """X as a 2-D float array with at least one sample; NaN/Inf refused unless ``allow_nan``."""
    arr = np.asarray(X, dtype=dtype) if dtype is not None else np.asarray(X)
    if ensure_2d:
        if arr.ndim == 1:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features), got a 1-D array; "
                             "reshape with X.reshape(-1, 1) for a single feature")
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples")
    if dtype is not None and np.issubdtype(arr.dtype, np.floating):
        bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
        if np.any(bad):
            raise ValueError(f"{name} contains {'Inf' if allow_nan else 'NaN or Inf'}")
    return arr
