"""``grimoire.timeseries``: time-series analysis (primer 7.1).

Autocorrelation, autoregressive models AR(p), moving-average errors MA(q), and their union
ARIMA(p, d, q) with the seasonal extension SARIMA(p, d, q)(P, D, Q)_s, in the lag-operator form

    phi(L) Phi(L^s) (1 - L)^d (1 - L^s)^D y_t = c + theta(L) Theta(L^s) e_t,   e_t ~ N(0, sigma^2)

with phi(L) = 1 - phi_1 L - ... - phi_p L^p and theta(L) = 1 + theta_1 L + ... + theta_q L^q
(statsmodels' sign convention, so parameters compare directly). ``ARIMA`` fits by exact Gaussian
maximum likelihood: the model is written in state-space form (statsmodels SARIMAX's layout: the
differencing states first, then the ARMA states in Harvey's form) and the Kalman filter, whose
recursion runs in the C++ core, gives the likelihood; ``method="css"`` minimises the conditional
sum of squares instead (its residual recursion is in the core too). Exogenous regressors enter as
a regression with ARIMA errors, y_t = x_t' beta + u_t.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._typing import Seed

if TYPE_CHECKING:
    from .stats import TestResult


def _series(y, name: str = "y", min_length: int = 2) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.shape[0] < min_length:
        raise ValueError(f"{name} needs at least {min_length} observations, got {y.shape[0]}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or Inf")
    return y


def acf(x: ArrayLike, nlags: int = 10) -> np.ndarray:
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


def pacf(x: ArrayLike, nlags: int = 10) -> np.ndarray:
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


def difference(y: ArrayLike, d: int = 1, seasonal_period: int = 0, seasonal_d: int = 0) -> np.ndarray:
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

    def fit(self, y: ArrayLike) -> AutoRegressive:
        y = _series(y, min_length=self.lags + 2)
        x = self._design(y)
        self.params_, *_ = np.linalg.lstsq(x, y[self.lags:], rcond=None)
        self.resid_ = y[self.lags:] - x @ self.params_
        self.sigma2_ = float(self.resid_ @ self.resid_ / self.resid_.shape[0])
        self._y = y
        return self

    def forecast(self, steps: int = 1,
                 alpha: float | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts for t = n+1 .. n+steps, each feeding the next. With ``alpha``, also the
        (1 - alpha) interval mean -/+ z sqrt(sigma^2 sum_{j<h} psi_j^2), psi the MA(inf) weights
        of phi(L)^-1 (as statsmodels' AutoReg). Returns the mean, or (mean, lower, upper)."""
        if not hasattr(self, "params_"):
            raise RuntimeError("AutoRegressive is not fitted yet; call fit(y) first")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        mean = self._point_forecast(steps)
        if alpha is None:
            return mean
        phi = self.params_[1:] if self.trend == "c" else self.params_
        se = np.sqrt(self.sigma2_ * np.cumsum(_psi_weights(phi, np.zeros(0), steps) ** 2))
        return _interval(mean, se, alpha)

    def _point_forecast(self, steps: int) -> np.ndarray:
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
    """(Seasonal) ARIMA(X) by exact Gaussian maximum likelihood, or by conditional least squares
    (primer 7.1).

    ``order=(p, d, q)``, ``seasonal_order=(P, D, Q, s)``; ``trend="c"`` adds a constant (the
    mean of the series) when nothing is differenced, ``"n"`` never does. ``fit(y, exog)`` takes
    optional regressors x_t (n, k): y_t = x_t' beta + u_t with u_t the ARIMA process.

    ``method="mle"`` (default): the exact log-likelihood
        log L = sum_t -1/2 (log 2 pi + log F_t + v_t^2 / F_t)
    of the Kalman filter's innovations v_t and their variances F_t, over the state-space form of
    statsmodels' SARIMAX (differencing states with the approximate-diffuse prior N(0, 1e6) and
    their first d + sD terms left out of the sum; ARMA states from the stationary distribution,
    P = T P T' + R R' sigma^2). Stationarity and invertibility are enforced by Monahan's
    transform; quasi-Newton (BFGS) climbs log L from the CSS estimate; standard errors are the
    square roots of the diagonal of the inverse of minus the numerical Hessian. ``method="css"``:
    Levenberg-Marquardt on the conditional sum of squares of the ARMA residuals (not enforced).

    Attributes after ``fit``: ``params_`` (dict with statsmodels' names: "const", "x1", ...,
    "ar.L1", ..., "ma.L1", ..., "ar.S.L12", ..., "ma.S.L12", ..., and "sigma2" for MLE),
    ``sigma2_``, ``resid_``, ``aic_``; for MLE also ``bse_`` (dict), ``cov_params_``,
    ``loglik_``, ``aicc_``, ``bic_``, ``nobs_effective_``.
    """

    def __init__(self, order: tuple[int, int, int] = (1, 0, 0),
                 seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0), trend: str = "c",
                 method: str = "mle", max_iter: int = 200):
        order, seasonal_order = tuple(order), tuple(seasonal_order)
        if len(order) != 3 or len(seasonal_order) != 4:
            raise ValueError(f"order must be (p, d, q) and seasonal_order (P, D, Q, s), got {order} and "
                             f"{seasonal_order}")
        p, d, q = order
        sp, sd, sq, s = seasonal_order
        if min(p, d, q, sp, sd, sq, s) < 0:
            raise ValueError(f"orders must be >= 0, got {order} and {seasonal_order}")
        if (sp or sd or sq) and s < 2:
            raise ValueError(f"a seasonal model needs a period s >= 2, got {s}")
        if trend not in ("c", "n"):
            raise ValueError(f"trend must be 'c' or 'n', got {trend!r}")
        if method not in ("mle", "css"):
            raise ValueError(f"method must be 'mle' or 'css', got {method!r}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        self.order, self.seasonal_order = order, seasonal_order
        self.trend, self.method, self.max_iter = trend, method, max_iter

    # -------------------------------------------------------------- parameters <-> polynomials
    @property
    def _has_const(self) -> bool:
        return self.trend == "c" and self.order[1] + self.seasonal_order[1] == 0

    def _arma_names(self) -> list[str]:
        p, _, q = self.order
        sp, _, sq, s = self.seasonal_order
        names = [f"ar.L{i}" for i in range(1, p + 1)] + [f"ma.L{i}" for i in range(1, q + 1)]
        names += [f"ar.S.L{s * i}" for i in range(1, sp + 1)]
        return names + [f"ma.S.L{s * i}" for i in range(1, sq + 1)]

    def _arma_polys(self, arma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ar, ma): the expanded lag coefficients of u_t = sum ar_i u_{t-i} + e_t + sum ma_j e_{t-j}
        from [phi, theta, Phi, Theta]."""
        p, _, q = self.order
        sp, _, sq, s = self.seasonal_order
        phi, th = arma[:p], arma[p:p + q]
        sphi, sth = arma[p + q:p + q + sp], arma[p + q + sp:p + q + sp + sq]
        ar_poly = _poly_mul(_lag_poly(phi, -1.0), _lag_poly(sphi, -1.0, s))
        ma_poly = _poly_mul(_lag_poly(th, 1.0), _lag_poly(sth, 1.0, s))
        return -ar_poly[1:], ma_poly[1:]

    def _polys(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """CSS parameters [const?, arma...] -> (mu, ar, ma)."""
        mu = float(theta[0]) if self._has_const else 0.0
        ar, ma = self._arma_polys(theta[int(self._has_const):])
        return mu, ar, ma

    def _residuals(self, theta: np.ndarray) -> np.ndarray:
        mu, ar, ma = self._polys(theta)
        e = _core.arma_residuals(self._w, float(mu), np.ascontiguousarray(ar), np.ascontiguousarray(ma))
        return e[ar.shape[0]:]

    # -------------------------------------------------------------- fitting
    def _min_length(self, k_exog: int) -> int:
        p, d, q = self.order
        sp, sd, sq, s = self.seasonal_order
        n_params = p + q + sp + sq + k_exog + int(self._has_const) + 1
        return d + sd * s + max(p + sp * s + 1, n_params + 1)

    def fit(self, y: ArrayLike, exog: ArrayLike | None = None) -> ARIMA:
        y = _series(y, min_length=1)
        x = self._exog(exog, y.shape[0], "exog") if exog is not None else None
        need = self._min_length(0 if x is None else x.shape[1])
        if y.shape[0] < need:
            raise ValueError(f"order={self.order}, seasonal_order={self.seasonal_order} needs a series y of "
                             f"at least {need} observations, got {y.shape[0]}")
        if self.method == "css":
            if x is not None:
                raise ValueError("exog is only supported by method='mle'")
            return self._fit_css(y)
        return self._fit_mle(y, x)

    def _fit_css(self, y: np.ndarray) -> ARIMA:
        p, d, q = self.order
        sp, sd, sq, s = self.seasonal_order
        self._y = y
        self._w = difference(y, d, s, sd)
        names = (["const"] if self._has_const else []) + self._arma_names()
        theta = np.zeros(len(names))
        if self._has_const:
            theta[0] = self._w.mean()
        theta = _levenberg_marquardt(self._residuals, theta, self.max_iter)
        e = self._residuals(theta)
        self.params_ = dict(zip(names, theta.tolist(), strict=True))
        self._theta = theta
        self.resid_ = e
        self.sigma2_ = float(e @ e / e.shape[0])
        self.aic_ = float(e.shape[0] * np.log(self.sigma2_) + 2 * (len(names) + 1))
        return self

    def _exog(self, exog, n: int, name: str) -> np.ndarray:
        x = np.asarray(exog, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[0] != n:
            raise ValueError(f"{name} must have shape ({n}, k), got {np.shape(exog)}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} contains NaN or Inf")
        if hasattr(self, "_k_user_exog") and name != "exog" and x.shape[1] != self._k_user_exog:
            raise ValueError(f"{name} must have {self._k_user_exog} columns (as in fit), got {x.shape[1]}")
        return x

    def _design(self, x: np.ndarray | None, n: int) -> np.ndarray:
        cols = [np.ones((n, 1))] if self._has_const else []
        if x is not None:
            cols.append(x)
        return np.hstack(cols) if cols else np.zeros((n, 0))

    def _fit_mle(self, y: np.ndarray, x: np.ndarray | None) -> ARIMA:
        self._y, self._k_user_exog = y, 0 if x is None else x.shape[1]
        self._x = self._design(x, y.shape[0])
        self._space = _ArimaStateSpace(self.order, self.seasonal_order)
        k_x = self._x.shape[1]
        names = (["const"] if self._has_const else []) + [f"x{i + 1}" for i in range(self._k_user_exog)]
        names += self._arma_names() + ["sigma2"]
        start = self._start_params(y)
        self._k_exog_total = k_x

        def objective(u: np.ndarray) -> float:
            ll = self._loglik(self._constrain(u))[0]
            return -ll / y.shape[0] if np.isfinite(ll) else np.inf

        u = _bfgs(objective, self._unconstrain(start), self.max_iter)
        params = self._constrain(u)
        ll, v, f, a, pcov = self._loglik(params)
        self._params, self._state = params, (a, pcov)
        self.params_ = dict(zip(names, params.tolist(), strict=True))
        self.sigma2_ = float(params[-1])
        burn = self._space.k_diff_states
        self.resid_, self._std_resid = v, (v / np.sqrt(f))[burn:]
        self.loglik_ = float(ll)
        k = params.shape[0]
        self.nobs_effective_ = y.shape[0] - burn
        self.aic_ = -2 * ll + 2 * k
        self.aicc_ = self.aic_ + 2 * k * (k + 1) / max(self.nobs_effective_ - k - 1, 1)
        self.bic_ = -2 * ll + k * np.log(self.nobs_effective_)
        hess = _hessian(lambda th: self._loglik(th)[0], params)
        if np.all(np.isfinite(hess)):
            self.cov_params_ = np.linalg.pinv(-hess)
        else:  # a step of the difference quotient left the stationary/invertible region
            import warnings

            warnings.warn(
                "the numerical Hessian of the log-likelihood is not finite at the estimate (a "
                "parameter at the edge of the stationary/invertible region, or too few "
                "observations): standard errors are NaN",
                RuntimeWarning,
                stacklevel=2,
            )
            self.cov_params_ = np.full_like(hess, np.nan)
        self.bse_ = dict(zip(names, np.sqrt(np.abs(np.diag(self.cov_params_))).tolist(), strict=True))
        return self

    def _split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        k_x = self._x.shape[1]
        return params[:k_x], params[k_x:-1], float(params[-1])

    def _loglik(self, params: np.ndarray):
        beta, arma, sigma2 = self._split(params)
        ar, ma = self._arma_polys(arma)
        z, t, rqr, p0 = self._space.matrices(ar, ma, sigma2)
        u = self._y - self._x @ beta
        return _core.kalman_filter(u, z, t, rqr, 0.0, np.zeros(z.shape[0]), p0, self._space.k_diff_states)

    def _start_params(self, y: np.ndarray) -> np.ndarray:
        """beta by least squares on the differenced series, the ARMA part by CSS on what is left
        (reset to 0 where CSS lands outside the stationary/invertible region), sigma^2 from CSS."""
        d, sd, s = self.order[1], self.seasonal_order[1], self.seasonal_order[3]
        beta = np.zeros(self._x.shape[1])
        if beta.shape[0]:
            xd = np.column_stack([difference(c, d, s, sd) for c in self._x.T])
            beta = np.linalg.lstsq(xd, difference(y, d, s, sd), rcond=None)[0]
        css = ARIMA(self.order, self.seasonal_order, trend="n", method="css", max_iter=50)
        css._fit_css(y - self._x @ beta)
        arma = css._theta
        p, _, q = self.order
        sp, _, sq, _ = self.seasonal_order
        edges = np.cumsum([0, p, q, sp, sq])
        for lo, hi, sign in zip(edges[:-1], edges[1:], (-1.0, 1.0, -1.0, 1.0), strict=True):
            if hi > lo and not _is_stationary(-sign * arma[lo:hi]):
                arma[lo:hi] = 0.0
        return np.r_[beta, arma, max(css.sigma2_, 1e-8)]

    def _blocks(self):
        p, _, q = self.order
        sp, _, sq, _ = self.seasonal_order
        k_x = self._k_exog_total if hasattr(self, "_k_exog_total") else self._x.shape[1]
        edges = np.cumsum([k_x, p, q, sp, sq])
        return list(zip(edges[:-1], edges[1:], (1.0, -1.0, 1.0, -1.0), strict=True))

    def _constrain(self, u: np.ndarray) -> np.ndarray:
        """Unconstrained optimiser coordinates -> parameters: AR blocks stationary, MA blocks
        invertible (Monahan), sigma^2 = u^2, beta unchanged."""
        params = u.copy()
        for lo, hi, sign in self._blocks():
            if hi > lo:
                params[lo:hi] = sign * _constrain_stationary(u[lo:hi])
        params[-1] = u[-1] ** 2
        return params

    def _unconstrain(self, params: np.ndarray) -> np.ndarray:
        u = params.copy()
        for lo, hi, sign in self._blocks():
            if hi > lo:
                u[lo:hi] = _unconstrain_stationary(sign * params[lo:hi])
        u[-1] = np.sqrt(params[-1])
        return u

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError("ARIMA is not fitted yet; call fit(y) first")

    def summary(self) -> str:
        """A text table: each parameter's estimate, standard error, z = coef / se, two-sided p-value
        and 95% interval; the log-likelihood, AIC, AICc, BIC; Ljung-Box Q(10) on the standardised
        residuals."""
        self._check_fitted()
        if self.method != "mle":
            raise ValueError("summary() needs method='mle' (CSS gives no likelihood or standard errors)")
        from .stats import norm

        s = self.seasonal_order
        title = f"ARIMA{self.order}" + (f"x{s}" if any(s[:3]) else "") + " by exact maximum likelihood"
        lines = [title, f"observations {self._y.shape[0]} (effective {self.nobs_effective_})   "
                 f"log-likelihood {self.loglik_:.4f}",
                 f"AIC {self.aic_:.4f}   AICc {self.aicc_:.4f}   BIC {self.bic_:.4f}", "",
                 f"{'':>10} {'coef':>12} {'std err':>11} {'z':>8} {'P>|z|':>7} {'[0.025':>12} {'0.975]':>12}"]
        for name, coef in self.params_.items():
            se = self.bse_[name]
            z = coef / se if se > 0 else np.nan
            pval = 2 * float(norm().sf(abs(z))) if np.isfinite(z) else np.nan
            lines.append(f"{name:>10} {coef:12.5g} {se:11.4g} {z:8.3f} {pval:7.3f} {coef - 1.96 * se:12.5g} "
                         f"{coef + 1.96 * se:12.5g}")
        lags = max(1, min(10, self._std_resid.shape[0] - 1))
        lb = ljung_box(self._std_resid, lags)
        lines += ["", f"Ljung-Box Q({lags}) on standardised residuals: {lb.statistic:.3f}, "
                      f"p = {lb.pvalue:.3f}"]
        return "\n".join(lines)

    # -------------------------------------------------------------- forecasting
    def forecast(self, steps: int = 1, alpha: float | None = None,
                 exog: ArrayLike | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts y_{n+1..n+steps}. With ``alpha``, also the (1 - alpha) prediction interval.
        MLE: the Kalman prediction a_{n+h} = T^(h-1) a_{n+1|n}, P_{n+h} = T P T' + RQR, mean
        x' beta + Z a, variance Z P Z' (statsmodels' get_forecast). ``exog`` (steps, k): the future
        regressors, required when the model was fitted with exog. CSS: future errors set to 0 and
        Var = sigma^2 sum_{j<h} psi_j^2. Returns the mean, or (mean, lower, upper)."""
        self._check_fitted()
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if alpha is not None and not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if self.method == "css":
            if exog is not None:
                raise ValueError("exog is only supported by method='mle'")
            mean = self._css_forecast(steps)
            if alpha is None:
                return mean
            _, ar, ma = self._polys(self._theta)
            full_ar = _poly_mul(np.r_[1.0, -ar], self._differencing_poly())
            se = np.sqrt(self.sigma2_ * np.cumsum(_psi_weights(-full_ar[1:], ma, steps) ** 2))
            return _interval(mean, se, alpha)
        if self._k_user_exog and exog is None:
            raise ValueError(f"this model was fitted with exog: forecast needs exog of shape ({steps}, "
                             f"{self._k_user_exog})")
        if not self._k_user_exog and exog is not None:
            raise ValueError("exog given to forecast, but the model was fitted without exog")
        x = self._design(self._exog(exog, steps, "exog (future)") if exog is not None else None, steps)
        beta, arma, sigma2 = self._split(self._params)
        ar, ma = self._arma_polys(arma)
        z, t, rqr, _ = self._space.matrices(ar, ma, sigma2)
        a, pcov = self._state
        mean, var = np.empty(steps), np.empty(steps)
        for h in range(steps):
            mean[h], var[h] = z @ a, z @ pcov @ z
            a, pcov = t @ a, t @ pcov @ t.T + rqr
        mean += x @ beta
        if alpha is None:
            return mean
        return _interval(mean, np.sqrt(var), alpha)

    def _css_forecast(self, steps: int) -> np.ndarray:
        mu, ar, ma = self._polys(self._theta)
        w = list(self._w - mu)
        e = list(_core.arma_residuals(self._w, float(mu), np.ascontiguousarray(ar), np.ascontiguousarray(ma)))
        for _ in range(steps):
            t = len(w)
            nxt = sum(ar[i] * w[t - 1 - i] for i in range(ar.shape[0]) if t - 1 - i >= 0)
            nxt += sum(ma[j] * e[t - 1 - j] for j in range(ma.shape[0]) if t - 1 - j >= 0)
            w.append(nxt)
            e.append(0.0)
        return self._integrate(np.array(w[-steps:]) + mu)

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


class _ArimaStateSpace:
    """The state-space form of statsmodels' SARIMAX (simple_differencing=False, Harvey's ARMA
    form): the state is [d ordinary-differencing states, s*D seasonal-differencing states,
    r = max(p + sP, q + sQ + 1) ARMA states]; Z reads the series off them, T integrates the
    ARMA state, R = [0 ... 0, 1, ma_1, ..., ma_{r-1}]."""

    def __init__(self, order, seasonal_order):
        p, d, q = order
        sp, sd, sq, s = seasonal_order
        self.k_diff_states = d + s * sd
        self.r = max(p + s * sp, q + s * sq + 1)
        k, kd, r = self.k_diff_states + self.r, self.k_diff_states, self.r
        z = np.zeros(k)
        z[:d] = 1.0
        for j in range(sd):
            z[d + j * s + s - 1] = 1.0
        z[kd] = 1.0
        t = np.zeros((k, k))
        t[kd:kd + r - 1, kd + 1:kd + r] = np.eye(r - 1)
        for j in range(sd):
            lo = d + j * s
            t[lo + 1:lo + s, lo:lo + s - 1] = np.eye(s - 1)  # a shift down ...
            t[lo, lo + s - 1] = 1.0                          # ... that wraps around
            if j < sd - 1:
                t[lo, lo + 2 * s - 1] = 1.0
            t[lo, kd] = 1.0
        if d:
            t[:d, :d] = np.triu(np.ones((d, d)))
            for j in range(sd):
                t[:d, d + j * s + s - 1] = 1.0
            t[:d, kd] = 1.0
        self.z, self.t = z, t

    def matrices(self, ar: np.ndarray, ma: np.ndarray, sigma2: float):
        """(Z, T, RQR, P0) for these expanded lag coefficients and innovation variance."""
        kd, r = self.k_diff_states, self.r
        t = self.t.copy()
        t[kd:kd + ar.shape[0], kd] = ar
        rc = np.zeros(r)
        rc[0] = 1.0
        rc[1:1 + ma.shape[0]] = ma
        rqr = np.zeros_like(t)
        rqr[kd:, kd:] = sigma2 * np.outer(rc, rc)
        p0 = np.zeros_like(t)
        p0[:kd, :kd] = 1e6 * np.eye(kd)  # statsmodels' approximate-diffuse variance
        p0[kd:, kd:] = _stationary_covariance(t[kd:, kd:], rqr[kd:, kd:])
        return self.z, t, rqr, p0


def _stationary_covariance(t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """P = sum_j T^j Q T'^j, the solution of P = T P T' + Q for stable T, by doubling:
    P <- P + A P A', A <- A^2 (the k-th pass adds the terms 2^k .. 2^(k+1) - 1)."""
    p, a = q.copy(), t.copy()
    for _ in range(64):
        step = a @ p @ a.T
        p += step
        if np.max(np.abs(step)) <= 1e-17 * np.max(np.abs(p)):
            break
        a = a @ a
    return p


def _constrain_stationary(u: np.ndarray) -> np.ndarray:
    """Monahan (1984): partial autocorrelations r_k = u_k / sqrt(1 + u_k^2) in (-1, 1), then the
    Durbin-Levinson recursion phi_{k,i} = phi_{k-1,i} - r_k phi_{k-1,k-i}: the coefficients of a
    stationary AR polynomial 1 - phi_1 L - ... (every stationary one is reached)."""
    r = u / np.sqrt(1.0 + u * u)
    phi = np.zeros(0)
    for rk in r:
        phi = np.r_[phi - rk * phi[::-1], rk]
    return phi


def _unconstrain_stationary(phi: np.ndarray) -> np.ndarray:
    """The inverse of ``_constrain_stationary`` (the Durbin-Levinson recursion run backwards)."""
    phi = np.asarray(phi, dtype=np.float64).copy()
    r = np.zeros(phi.shape[0])
    for k in range(phi.shape[0] - 1, -1, -1):
        rk = float(np.clip(phi[k], -0.999, 0.999))
        r[k] = rk
        phi = (phi[:k] + rk * phi[:k][::-1]) / (1.0 - rk * rk)
    return r / np.sqrt(1.0 - r * r)


def _is_stationary(phi: np.ndarray) -> bool:
    """Whether 1 - phi_1 z - ... - phi_p z^p has every root outside the unit circle."""
    roots = np.roots(np.r_[-phi[::-1], 1.0])
    return bool(np.all(np.abs(roots) > 1.0 + 1e-6))


def _psi_weights(ar: np.ndarray, ma: np.ndarray, n: int) -> np.ndarray:
    """psi_0 .. psi_{n-1} of theta(L) / a(L) with a(L) = 1 - sum ar_i L^i:
    psi_j = ma_j + sum_i ar_i psi_{j-i}."""
    psi = np.zeros(n)
    psi[0] = 1.0
    for j in range(1, n):
        psi[j] = (ma[j - 1] if j - 1 < ma.shape[0] else 0.0) + sum(
            ar[i - 1] * psi[j - i] for i in range(1, min(j, ar.shape[0]) + 1))
    return psi


def _interval(mean: np.ndarray, se: np.ndarray, alpha: float):
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    z = _normal_ppf(1 - alpha / 2)
    return mean, mean - z * se, mean + z * se


def ljung_box(x: ArrayLike, lags: int = 10, model_df: int = 0) -> TestResult:
    """Ljung-Box portmanteau test of no autocorrelation up to lag h:
    Q = n (n + 2) sum_{k=1..h} r_k^2 / (n - k) ~ chi^2_{h - model_df} under white noise
    (``statsmodels.stats.diagnostic.acorr_ljungbox``). Returns a TestResult(statistic, pvalue, df)."""
    from .stats import TestResult, chi2

    x = _series(x, "x", min_length=3)
    if not 1 <= lags < x.shape[0]:
        raise ValueError(f"lags must be in [1, {x.shape[0] - 1}], got {lags}")
    if not 0 <= model_df < lags:
        raise ValueError(f"model_df must be in [0, lags), got {model_df}")
    n = x.shape[0]
    r = acf(x, lags)[1:]
    q = float(n * (n + 2) * np.sum(r * r / (n - np.arange(1, lags + 1))))
    df = lags - model_df
    return TestResult(q, float(chi2(df).sf(q)), df)


def _bfgs(f, x: np.ndarray, max_iter: int, gtol: float = 1e-9) -> np.ndarray:
    """Minimise f by BFGS: central-difference gradients, a backtracking (Armijo) line search,
    the inverse-Hessian update H <- (I - rho s y') H (I - rho y s') + rho s s'."""
    def grad(z):
        h = 1e-6 * np.maximum(1.0, np.abs(z))
        g = np.empty_like(z)
        for i in range(z.shape[0]):
            e = np.zeros_like(z)
            e[i] = h[i]
            g[i] = (f(z + e) - f(z - e)) / (2 * h[i])
        return g

    fx, g = f(x), grad(x)
    if not np.isfinite(fx):
        raise ValueError("the starting parameters give a non-finite likelihood")
    n = x.shape[0]
    hinv = np.eye(n)
    for _ in range(max_iter):
        if np.max(np.abs(g)) < gtol:
            break
        d = -hinv @ g
        if g @ d >= 0:  # not a descent direction: restart from steepest descent
            hinv, d = np.eye(n), -g
        step, f_new = 1.0, np.inf
        for _ in range(40):
            x_new = x + step * d
            f_new = f(x_new)
            if np.isfinite(f_new) and f_new <= fx + 1e-4 * step * (g @ d):
                break
            step *= 0.5
        else:
            break
        g_new = grad(x_new)
        s, yv = x_new - x, g_new - g
        done = abs(fx - f_new) <= 1e-15 * max(abs(fx), 1.0) and np.max(np.abs(s)) < 1e-10
        x, fx, g = x_new, f_new, g_new
        sy = s @ yv
        if sy > 1e-300:
            rho = 1.0 / sy
            eye = np.eye(n)
            hinv = (eye - rho * np.outer(s, yv)) @ hinv @ (eye - rho * np.outer(yv, s)) + rho * np.outer(s, s)
        if done:
            break
    return x


def _hessian(f, x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian with steps h_i = 1e-3 max(|x_i|, 1e-2): large enough that the
    rounding noise of a likelihood with a 1e6 diffuse prior (~1e-10 relative) stays invisible,
    small enough that the O(h^2) truncation does too."""
    n = x.shape[0]
    h = 1e-3 * np.maximum(np.abs(x), 1e-2)
    hess = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        for j in range(i, n):
            if i == j:
                e = np.zeros(n)
                e[i] = h[i]
                val = (f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2
            else:
                ei, ej = np.zeros(n), np.zeros(n)
                ei[i], ej[j] = h[i], h[j]
                val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = val
    return hess


def arma_generate(ar: ArrayLike, ma: ArrayLike, n: int, sigma: float = 1.0, const: float = 0.0,
                  burn_in: int = 200, random_state: Seed = None) -> np.ndarray:
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
