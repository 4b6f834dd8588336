"""``grimoire.calculus``: derivatives of primer 2.3, numerically.

Central differences, ``f'(x) ~ (f(x + h) - f(x - h)) / (2h)`` (error O(h^2)), for derivatives,
partial derivatives, gradients and Jacobians of plain Python/NumPy functions. For functions
written on ``grimoire.autograd`` tensors, ``method="autograd"`` takes the exact reverse-mode
gradient instead (when that module is present); ``method="auto"`` tries it first and falls back
to central differences when the module is missing or ``f`` cannot run on its tensors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["derivative", "partial_derivative", "gradient", "jacobian", "chain_rule"]


def _step(x: np.ndarray, h: float | None) -> np.ndarray:
    # h ~ eps^(1/3) scaled by |x| balances truncation O(h^2) against rounding O(eps/h)
    return np.full(x.shape, h) if h is not None else np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x))


def derivative(f: Callable[[float], float], x: float, h: float | None = None, order: int = 1) -> float:
    """``f'(x)`` (order 1) or ``f''(x)`` (order 2) by central differences:
    ``(f(x+h) - f(x-h)) / 2h`` and ``(f(x+h) - 2 f(x) + f(x-h)) / h^2``."""
    x = float(x)
    if order == 1:
        hh = float(_step(np.array(x), h))
        return float((f(x + hh) - f(x - hh)) / (2 * hh))
    if order == 2:
        hh = float(h) if h is not None else 1e-4 * max(1.0, abs(x))
        return float((f(x + hh) - 2 * f(x) + f(x - hh)) / (hh * hh))
    raise ValueError(f"order must be 1 or 2, got {order}")


def partial_derivative(f: Callable[..., float], point: ArrayLike, i: int, h: float | None = None) -> float:
    """``df/dx_i`` at ``point``, holding the other variables constant (primer 2.3.3);
    ``f`` takes the variables as separate arguments: ``f(x, y)``."""
    p = np.asarray(point, dtype=float)
    if not 0 <= i < p.size:
        raise ValueError(f"i must be in [0, {p.size}), got {i}")
    hh = float(_step(p, h)[i])
    up, down = p.copy(), p.copy()
    up[i] += hh
    down[i] -= hh
    return float((f(*up) - f(*down)) / (2 * hh))


def _autograd_gradient(f, x: np.ndarray) -> np.ndarray:
    from grimoire import autograd  # noqa: F401  (present once the autograd lands)

    t = autograd.Tensor(x.copy(), requires_grad=True)
    y = f(t)
    y.backward()
    return np.asarray(t.grad, dtype=float)


def gradient(f: Callable[[np.ndarray], float], x: ArrayLike, h: float | None = None,
             method: str = "central") -> np.ndarray:
    """``grad f(x) = [df/dx_1, ..., df/dx_n]`` for ``f`` taking one vector argument.

    ``method``: ``"central"`` (differences), ``"autograd"`` (reverse mode on
    ``grimoire.autograd.Tensor``; raises if unavailable) or ``"auto"``.
    """
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or Inf")
    if method not in ("central", "autograd", "auto"):
        raise ValueError(f"method must be 'central', 'autograd' or 'auto', got {method!r}")
    if method == "autograd":
        return _autograd_gradient(f, x)
    if method == "auto":
        try:
            return _autograd_gradient(f, x)
        except Exception:  # no autograd module, or f is not written on its tensors
            pass
    hs = _step(x, h)
    g = np.empty(x.shape)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += hs[idx]
        down[idx] -= hs[idx]
        g[idx] = (f(up) - f(down)) / (2 * hs[idx])
    return g


def jacobian(f: Callable[[np.ndarray], np.ndarray], x: ArrayLike, h: float | None = None) -> np.ndarray:
    """``J_ij = df_i/dx_j`` (m, n) by central differences."""
    x = np.asarray(x, dtype=float).ravel()
    hs = _step(x, h)
    cols = []
    for j in range(x.size):
        up, down = x.copy(), x.copy()
        up[j] += hs[j]
        down[j] -= hs[j]
        cols.append((np.atleast_1d(f(up)) - np.atleast_1d(f(down))) / (2 * hs[j]))
    return np.stack(cols, axis=1)


def chain_rule(f: Callable[[float], float], g: Callable[[float], float], x: float) -> tuple[float, float]:
    """Primer 2.3.2: for ``y = f(g(x))``, ``dy/dx = f'(g(x)) g'(x)``. Returns
    ``(chain-rule product, direct derivative of the composition)``; they agree."""
    product = derivative(f, g(x)) * derivative(g, x)
    direct = derivative(lambda u: f(g(u)), x)
    return product, direct
