"""``grimoire.timeseries``: time-series analysis (primer 7.1).

Autocorrelation, autoregressive models AR(p), moving-average errors MA(q), and their union
ARIMA(p, d, q) with the seasonal extension SARIMA(p, d, q)(P, D, Q)_s, in the lag-operator form

    phi(L) Phi(L^s) (1 - L)^d (1 - L^s)^D y_t = c + theta(L) Theta(L^s) e_t,   e_t ~ N(0, sigma^2)

with phi(L) = 1 - phi_1 L - ... - phi_p L^p and theta(L) = 1 + theta_1 L + ... + theta_q L^q
(statsmodels' sign convention, so parameters compare directly). Fitting minimises the
conditional sum of squares (CSS) of the residuals, whose recursion runs in the C++ core.
"""

from __future__ import annotations

import numpy as np

from . import _core


def _series(y, name: str = "y", min_length: int = 2) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.shape[0] < min_length:
        raise ValueError(f"{name} needs at least {min_length} observations, got {y.shape[0]}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or Inf")
    return y


def acf(x, nlags: int = 10) -> np.ndarray:
    """Sample autocorrelation r_k = c_k / c_0, c_k = (1/n) sum_t (x_t - mean)(x_{t+k} - mean),
    for k = 0..nlags (the biased estimator, as ``statsmodels.tsa.stattools.acf``)."""
    x = _series(x, "x")
    if not 0 <= nlags < x.shape[0]:
        raise ValueError(f"nlags must be in [0, {x.shape[0] - 1}], got {nlags}")
    z = x - x.mean()
    c0 = z @ z
    if c0 == 0:
        raise ValueError("x is constant: its autocorrelation is undefined")
    return np.array([z[: z.shape[0] - k] @ z[k:] for k in range(nlags + 1)]) / c0


def pacf(x, nlags: int = 10) -> np.ndarray:
    """Partial autocorrelation by the Durbin-Levinson recursion on the biased ACF: phi_kk, the
    last coefficient of the best AR(k) fit, for k = 0..nlags (statsmodels' method="ldb")."""
    r = acf(x, nlags)
    out = np.zeros(nlags + 1)
    out[0] = 1.0
    phi = np.zeros(0)
    for k in range(1, nlags + 1):
        num = r[k] - phi @ r[k - 1:0:-1] if k > 1 else r[1]
        den = 1.0 - phi @ r[1:k] if k > 1 else 1.0
        kk = num / den
        phi = np.r_[phi - kk * phi[::-1], kk]
        out[k] = kk
    return out


def difference(y, d: int = 1, seasonal_period: int = 0, seasonal_d: int = 0) -> np.ndarray:
    """(1 - L)^d (1 - L^s)^D y: ordinary then seasonal differences; each shortens the series."""
    y = _series(y)
    for _ in range(d):
        y = y[1:] - y[:-1]
    for _ in range(seasonal_d):
        if seasonal_period < 1:
            raise ValueError("seasonal_d > 0 needs seasonal_period >= 1")
        y = y[seasonal_period:] - y[:-seasonal_period]
    return y


def _poly_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.convolve(a, b)


def _lag_poly(coefs, sign: float, step: int = 1) -> np.ndarray:
    """1 + sign * (c_1 L^step + c_2 L^(2 step) + ...) as coefficients of L^0, L^1, ..."""
    poly = np.zeros(len(coefs) * step + 1)
    poly[0] = 1.0
    if len(coefs):
        poly[step::step] = sign * np.asarray(coefs, dtype=np.float64)
    return poly


class AutoRegressive:
    """AR(p): y_t = c + phi_1 y_{t-1} + ... + phi_p y_{t-p} + e_t, fitted by ordinary least
    squares on the lagged values (as ``statsmodels.tsa.ar_model.AutoReg``).

    Attributes after ``fit``: ``params_`` = [c, phi_1, ..., phi_p] (no c if ``trend="n"``),
    ``sigma2_`` (the residual variance, SSE / n_effective), ``resid_``.
    """

    def __init__(self, lags: int = 1, trend: str = "c"):
        if lags < 1:
            raise ValueError(f"lags must be >= 1, got {lags}")
        if trend not in ("c", "n"):
            raise ValueError(f"trend must be 'c' or 'n', got {trend!r}")
        self.lags, self.trend = lags, trend

    def _design(self, y: np.ndarray) -> np.ndarray:
        n, p = y.shape[0], self.lags
        cols = [y[p - i: n - i] for i in range(1, p + 1)]
        if self.trend == "c":
            cols.insert(0, np.ones(n - p))
        return np.column_stack(cols)

    def fit(self, y) -> AutoRegressive:
        y = _series(y, min_length=self.lags + 2)
        x = self._design(y)
        self.params_, *_ = np.linalg.lstsq(x, y[self.lags:], rcond=None)
        self.resid_ = y[self.lags:] - x @ self.params_
        self.sigma2_ = float(self.resid_ @ self.resid_ / self.resid_.shape[0])
        self._y = y
        return self

    def forecast(self, steps: int = 1) -> np.ndarray:
        """Forecasts for t = n+1 .. n+steps, each feeding the next."""
        if not hasattr(self, "params_"):
            raise RuntimeError("AutoRegressive is not fitted yet; call fit(y) first")
        c = self.params_[0] if self.trend == "c" else 0.0
        phi = self.params_[1:] if self.trend == "c" else self.params_
        hist = list(self._y[-self.lags:])
        out = []
        for _ in range(steps):
            nxt = c + phi @ np.array(hist[::-1][: self.lags])
            out.append(nxt)
            hist.append(nxt)
        return np.array(out)


class ARIMA:
    """(Seasonal) ARIMA fitted by conditional least squares (primer 7.1).

    ``order=(p, d, q)``, ``seasonal_order=(P, D, Q, s)``. The series is differenced
    (``(1-L)^d (1-L^s)^D``), then the ARMA residual recursion (in the core) gives e_t, and
    Levenberg-Marquardt minimises sum e_t^2 over the t where every AR lag is observed. A mean is
    estimated when nothing is differenced. Stationarity and invertibility are not enforced.

    Attributes after ``fit``: ``params_`` (dict: "const", "ar.L1", ..., "ma.L1", ...,
    "ar.S.L12", "ma.S.L12", ...; statsmodels' names), ``sigma2_``, ``resid_``, ``aic_``.
    """

    def __init__(self, order: tuple[int, int, int] = (1, 0, 0),
                 seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0), max_iter: int = 200):
        p, d, q = order
        sp, sd, sq, s = seasonal_order
        if min(p, d, q, sp, sd, sq, s) < 0:
            raise ValueError(f"orders must be >= 0, got {order} and {seasonal_order}")
        if (sp or sd or sq) and s < 2:
            raise ValueError(f"a seasonal model needs a period s >= 2, got {s}")
        self.order, self.seasonal_order, self.max_iter = tuple(order), tuple(seasonal_order), max_iter

    # -------------------------------------------------------------- parameters <-> polynomials
    def _names(self) -> list[str]:
        p, d, q = self.order
        sp, sd, sq, s = self.seasonal_order
        names = ["const"] if d + sd == 0 else []
        names += [f"ar.L{i}" for i in range(1, p + 1)] + [f"ma.L{i}" for i in range(1, q + 1)]
        names += [f"ar.S.L{s * i}" for i in range(1, sp + 1)] + [f"ma.S.L{s * i}" for i in range(1, sq + 1)]
        return names

    def _polys(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(mu, ar, ma): the expanded lag coefficients w_t = mu + sum ar_i (w_{t-i} - mu) + ...
        + e_t + sum ma_j e_{t-j}."""
        p, d, q = self.order
        sp, sd, sq, s = self.seasonal_order
        i = 0
        mu = 0.0
        if d + sd == 0:
            mu, i = theta[0], 1
        phi, i = theta[i:i + p], i + p
        th, i = theta[i:i + q], i + q
        sphi, i = theta[i:i + sp], i + sp
        sth = theta[i:i + sq]
        ar_poly = _poly_mul(_lag_poly(phi, -1.0), _lag_poly(sphi, -1.0, s))
        ma_poly = _poly_mul(_lag_poly(th, 1.0), _lag_poly(sth, 1.0, s))
        return mu, -ar_poly[1:], ma_poly[1:]

    def _residuals(self, theta: np.ndarray) -> np.ndarray:
        mu, ar, ma = self._polys(theta)
        e = _core.arma_residuals(self._w, float(mu), np.ascontiguousarray(ar), np.ascontiguousarray(ma))
        return e[ar.shape[0]:]

    # -------------------------------------------------------------- fitting
    def fit(self, y) -> ARIMA:
        p, d, q = self.order
        sp, sd, sq, s = self.seasonal_order
        y = _series(y, min_length=d + sd * s + p + sp * s + 3)
        self._y = y
        self._w = difference(y, d, s, sd)
        names = self._names()
        theta = np.zeros(len(names))
        if d + sd == 0:
            theta[0] = self._w.mean()
        theta = _levenberg_marquardt(self._residuals, theta, self.max_iter)
        e = self._residuals(theta)
        self.params_ = dict(zip(names, theta.tolist(), strict=True))
        self._theta = theta
        self.resid_ = e
        self.sigma2_ = float(e @ e / e.shape[0])
        self.aic_ = float(e.shape[0] * np.log(self.sigma2_) + 2 * (len(names) + 1))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError("ARIMA is not fitted yet; call fit(y) first")

    def forecast(self, steps: int = 1, alpha: float | None = None):
        """Forecasts y_{n+1..n+steps} (future errors set to their mean, 0). With ``alpha``, also
        the (1 - alpha) prediction interval from the psi-weights of the full model:
        Var(y_{n+h} - yhat) = sigma^2 sum_{j<h} psi_j^2. Returns the mean, or (mean, lower, upper)."""
        self._check_fitted()
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        mu, ar, ma = self._polys(self._theta)
        w = list(self._w - mu)
        e_full = _core.arma_residuals(self._w, float(mu), np.ascontiguousarray(ar), np.ascontiguousarray(ma))
        e = list(e_full)
        for _ in range(steps):
            t = len(w)
            nxt = sum(ar[i] * w[t - 1 - i] for i in range(ar.shape[0]) if t - 1 - i >= 0)
            nxt += sum(ma[j] * e[t - 1 - j] for j in range(ma.shape[0]) if t - 1 - j >= 0)
            w.append(nxt)
            e.append(0.0)
        w_future = np.array(w[-steps:]) + mu
        mean = self._integrate(w_future)
        if alpha is None:
            return mean
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        psi = self._psi_weights(steps)
        se = np.sqrt(self.sigma2_ * np.cumsum(psi ** 2))
        z = _normal_ppf(1 - alpha / 2)
        return mean, mean - z * se, mean + z * se

    def _differencing_poly(self) -> np.ndarray:
        d, sd, s = self.order[1], self.seasonal_order[1], self.seasonal_order[3]
        poly = np.array([1.0])
        for _ in range(d):
            poly = _poly_mul(poly, np.array([1.0, -1.0]))
        for _ in range(sd):
            poly = _poly_mul(poly, _lag_poly([1.0], -1.0, s))
        return poly

    def _integrate(self, w_future: np.ndarray) -> np.ndarray:
        """Undo the differencing: y_t = w_t - sum_k delta_k y_{t-k} with delta(L) the
        differencing polynomial, starting from the observed history."""
        delta = self._differencing_poly()
        y = list(self._y)
        for wt in w_future:
            y.append(wt - sum(delta[k] * y[-k] for k in range(1, delta.shape[0])))
        return np.array(y[len(self._y):])

    def _psi_weights(self, n: int) -> np.ndarray:
        _, ar, ma = self._polys(self._theta)
        full_ar = _poly_mul(np.r_[1.0, -ar], self._differencing_poly())  # 1 - A_1 L - ...
        a = -full_ar[1:]
        psi = np.zeros(n)
        psi[0] = 1.0
        for j in range(1, n):
            psi[j] = (ma[j - 1] if j - 1 < ma.shape[0] else 0.0) + sum(
                a[i - 1] * psi[j - i] for i in range(1, min(j, a.shape[0]) + 1))
        return psi


def arma_generate(ar, ma, n: int, sigma: float = 1.0, const: float = 0.0, burn_in: int = 200,
                  random_state=None) -> np.ndarray:
    """Simulate y_t = const + sum ar_i y_{t-i} + e_t + sum ma_j e_{t-j}, e_t ~ N(0, sigma^2)."""
    ar, ma = np.asarray(ar, float), np.asarray(ma, float)
    rng = np.random.default_rng(random_state)
    total = n + burn_in
    e = sigma * rng.standard_normal(total)
    y = np.zeros(total)
    for t in range(total):
        y[t] = const + e[t]
        y[t] += sum(ar[i] * y[t - 1 - i] for i in range(ar.shape[0]) if t - 1 - i >= 0)
        y[t] += sum(ma[j] * e[t - 1 - j] for j in range(ma.shape[0]) if t - 1 - j >= 0)
    return y[burn_in:]


def _levenberg_marquardt(residuals, theta: np.ndarray, max_iter: int) -> np.ndarray:
    """Minimise ||r(theta)||^2: Gauss-Newton steps damped by lambda * diag(J^T J), the Jacobian
    by forward differences (the models here have a handful of parameters)."""
    r = residuals(theta)
    sse = r @ r
    lam = 1e-3
    for _ in range(max_iter):
        h = 1e-7 * np.maximum(1.0, np.abs(theta))
        jac = np.column_stack([(residuals(theta + h[i] * np.eye(theta.shape[0])[i]) - r) / h[i]
                               for i in range(theta.shape[0])])
        jtj, jtr = jac.T @ jac, jac.T @ r
        improved = False
        for _ in range(20):
            step = np.linalg.solve(jtj + lam * np.diag(np.diag(jtj) + 1e-12), -jtr)
            r_new = residuals(theta + step)
            sse_new = r_new @ r_new
            if np.isfinite(sse_new) and sse_new < sse:
                improved = True
                break
            lam *= 4.0
        if not improved:
            break
        theta, r, rel = theta + step, r_new, (sse - sse_new) / max(sse, 1e-300)
        sse, lam = sse_new, max(lam / 3.0, 1e-12)
        if rel < 1e-12 or np.max(np.abs(step)) < 1e-10:
            break
    return theta


def _normal_ppf(p: float) -> float:
    """Standard normal quantile by bisection on erf (only used for interval widths)."""
    from math import erf, sqrt

    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if 0.5 * (1 + erf(mid / sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
