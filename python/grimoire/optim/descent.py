"""Gradient descent and ascent (primer 2.3.1): on a function, or on data in batch, stochastic
and mini-batch form, with fixed or scheduled learning rates. Every routine returns the path so
it can be plotted.

The update is ``theta <- theta - eta_t grad L(theta)`` (descent) or ``+ eta_t grad`` (ascent).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .._typing import Seed

__all__ = ["constant", "step_decay", "exponential_decay", "inverse_time_decay", "gradient_descent",
           "gradient_ascent", "minibatch_descent", "DescentResult", "mse_gradient"]

Schedule = Callable[[int], float]


def constant(lr: float) -> Schedule:
    """``eta_t = lr``."""
    return lambda t: lr


def step_decay(lr: float, drop: float = 0.5, every: int = 10) -> Schedule:
    """``eta_t = lr * drop^floor(t / every)``."""
    return lambda t: lr * drop ** (t // every)


def exponential_decay(lr: float, gamma: float = 0.99) -> Schedule:
    """``eta_t = lr * gamma^t``."""
    return lambda t: lr * gamma**t


def inverse_time_decay(lr: float, k: float = 0.01) -> Schedule:
    """``eta_t = lr / (1 + k t)`` (the Robbins-Monro conditions hold: sum eta = inf, sum eta^2 < inf)."""
    return lambda t: lr / (1 + k * t)


@dataclass
class DescentResult:
    x: np.ndarray  # the final point
    path: np.ndarray  # (steps + 1, n): every iterate, the start included
    values: np.ndarray  # f along the path (or the loss per epoch for data)
    converged: bool = False
    lrs: list[float] = field(default_factory=list)


def _schedule(lr) -> Schedule:
    if callable(lr):
        return lr
    lr = float(lr)
    if not lr > 0 or math.isinf(lr):
        raise ValueError(f"lr must be a positive number or a schedule, got {lr}")
    return constant(lr)


def gradient_descent(f: Callable[[np.ndarray], float], x0: ArrayLike,
                     grad: Callable[[np.ndarray], np.ndarray] | None = None,
                     lr: float | Schedule = 0.1, n_steps: int = 100, tol: float = 0.0,
                     ascent: bool = False) -> DescentResult:
    """Minimise ``f`` from ``x0`` (maximise with ``ascent=True``).

    ``grad`` gives the gradient; by default it is taken by central differences
    (:func:`grimoire.calculus.gradient`). Stops after ``n_steps`` or when the step is shorter
    than ``tol``. Diverging runs (non-finite values) stop early with ``converged=False``.
    """
    from ..calculus import gradient as num_grad

    x = np.array(x0, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 contains NaN or Inf")
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    g_fn = grad or (lambda p: num_grad(f, p))
    sched = _schedule(lr)
    sign = 1.0 if ascent else -1.0
    path, values, lrs = [x.copy()], [float(f(x))], []
    converged = False
    for t in range(n_steps):
        eta = sched(t)
        step = sign * eta * np.asarray(g_fn(x), dtype=float)
        x = x + step
        lrs.append(eta)
        path.append(x.copy())
        values.append(float(f(x)))
        if not np.all(np.isfinite(x)) or not math.isfinite(values[-1]):
            break
        if tol > 0 and float(np.linalg.norm(step)) < tol:
            converged = True
            break
    return DescentResult(x, np.array(path), np.array(values), converged, lrs)


def gradient_ascent(f: Callable[[np.ndarray], float], x0: ArrayLike,
                    grad: Callable[[np.ndarray], np.ndarray] | None = None, lr: float | Schedule = 0.1,
                    n_steps: int = 100, tol: float = 0.0) -> DescentResult:
    """Maximise ``f``: ``theta <- theta + eta grad f`` (primer: ascent maximises reward)."""
    return gradient_descent(f, x0, grad, lr, n_steps, tol, ascent=True)


def mse_gradient(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and gradient of linear least squares, ``L = mean((X w - y)^2)``,
    ``grad = 2 X^T (X w - y) / n``."""
    r = X @ w - y
    return float(np.mean(r * r)), 2.0 * X.T @ r / X.shape[0]


def minibatch_descent(loss_grad: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, np.ndarray]],
                      w0: ArrayLike, X: np.ndarray, y: np.ndarray, batch_size: int | None = None,
                      epochs: int = 10, lr: float | Schedule = 0.01, shuffle: bool = True,
                      random_state: Seed = None, ascent: bool = False) -> DescentResult:
    """Gradient descent on data: ``batch_size=None`` is batch GD (all n samples per update),
    ``1`` is stochastic GD, anything between is mini-batch GD.

    ``loss_grad(w, X_batch, y_batch)`` returns ``(loss, gradient)``. The schedule is indexed by
    update (not epoch). ``path`` holds w after every update; ``values`` the full-data loss after
    every epoch (the start included).
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(f"X must be (n, d) and y (n, ...), got {X.shape} and {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("X is empty")
    n = X.shape[0]
    bs = n if batch_size is None else int(batch_size)
    if not 1 <= bs <= n:
        raise ValueError(f"batch_size must be in [1, {n}], got {batch_size}")
    rng = np.random.default_rng(random_state)
    sched = _schedule(lr)
    sign = 1.0 if ascent else -1.0
    w = np.array(w0, dtype=float)
    path, values, lrs = [w.copy()], [loss_grad(w, X, y)[0]], []
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            _, g = loss_grad(w, X[idx], y[idx])
            eta = sched(t)
            w = w + sign * eta * g
            lrs.append(eta)
            path.append(w.copy())
            t += 1
        values.append(loss_grad(w, X, y)[0])
    return DescentResult(w, np.array(path), np.array(values), False, lrs)
