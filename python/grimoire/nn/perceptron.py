"""The perceptron (primer 5.1.1), exactly the primer's algorithm, with scikit-learn's contract.

For each example: y_hat = step(w . x + b); error = y - y_hat; w += alpha * error * x;
b += alpha * error; repeat until an epoch makes no error or ``max_iter`` epochs have run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


class Perceptron:
    """Binary linear classifier with labels {0, 1}; ``coef_`` (n_features,), ``intercept_``."""

    def __init__(self, lr: float = 0.1, max_iter: int = 100, random_state: int | None = 0):
        self.lr, self.max_iter, self.random_state = lr, max_iter, random_state

    def get_params(self, deep: bool = True) -> dict:
        return {"lr": self.lr, "max_iter": self.max_iter, "random_state": self.random_state}

    def set_params(self, **params: Any) -> Perceptron:
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X: ArrayLike, y: ArrayLike) -> Perceptron:
        X = np.asarray(X, np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"X must be (n_samples, n_features) matching y, got {X.shape} and {y.shape}")
        self.classes_ = np.unique(y)
        if len(self.classes_) > 2:
            raise ValueError(f"Perceptron is a binary classifier, got {len(self.classes_)} classes")
        t = (y == self.classes_[-1]).astype(np.float64)
        rng = np.random.default_rng(self.random_state)
        w = rng.normal(0, 0.01, X.shape[1])  # 1. initialise randomly
        b = 0.0
        self.errors_ = []
        for _ in range(self.max_iter):  # 3. repeat
            errors = 0
            for xi, ti in zip(X, t, strict=True):  # 2. for each training example
                y_hat = 1.0 if xi @ w + b > 0 else 0.0  # (a) predicted output
                err = ti - y_hat  # (b) error
                w += self.lr * err * xi  # (c) weights
                b += self.lr * err  # (d) bias
                errors += int(err != 0)
            self.errors_.append(errors)
            if errors == 0:
                break
        self.coef_, self.intercept_ = w, b
        self.n_features_in_ = X.shape[1]
        self.n_iter_ = len(self.errors_)
        return self

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise RuntimeError("Perceptron is not fitted yet; call fit first")
        return np.asarray(X, np.float64) @ self.coef_ + self.intercept_

    def predict(self, X: ArrayLike) -> np.ndarray:
        return (
            self.classes_[(self.decision_function(X) > 0).astype(int)]
            if len(self.classes_) == 2
            else np.full(len(X), self.classes_[0])
        )

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        return float((self.predict(X) == np.asarray(y)).mean())
