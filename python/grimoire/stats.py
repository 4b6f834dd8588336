"""``grimoire.stats``: probability and statistics of primer 2.4.

Frozen distributions with SciPy's names and methods (``stats.norm(loc, scale).cdf(x)``,
``stats.binom(n, p).pmf(k)``, ``.rvs(size, random_state)``, ``.fit(data)`` for maximum
likelihood), the special functions they rest on (regularised incomplete gamma and beta, written
here by series and continued fractions), Bayes' theorem, hypothesis tests returning
``.statistic`` and ``.pvalue``, error rates and power by simulation, and generic MLE by
minimising the negative log-likelihood.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._typing import RandomState, Size

Alternative = Literal["two-sided", "less", "greater"]

__all__ = [
    "gammainc", "gammaincc", "betainc", "gammaln", "bernoulli", "randint", "uniform", "binom",
    "poisson", "geom", "nbinom", "norm", "t", "chi2", "f", "bayes", "posterior", "clt_demo",
    "TestResult", "ttest_1samp", "ttest_ind", "ttest_rel", "ztest", "chisquare", "chi2_contingency",
    "binomtest", "permutation_test", "rejection_rate", "power_by_simulation", "mle", "minimize_nm",
]


# ---------------------------------------------------------------------------------------------
# special functions
# ---------------------------------------------------------------------------------------------
def _elementwise(kernel: Callable[..., np.ndarray], *args: ArrayLike) -> np.ndarray:
    """Broadcast the arguments, hand them to a core kernel as contiguous float64, reshape."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args))
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    return kernel(*flat).reshape(shape)


def gammaln(x: ArrayLike) -> np.ndarray:
    """``log |Gamma(x)|`` element-wise (the core's ``lgamma_r`` loop)."""
    return _elementwise(_core.gammaln, x)


def _gammainc(a: ArrayLike, x: ArrayLike, upper: bool) -> np.ndarray:
    a, x = np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64)
    if np.any(a <= 0) or np.any(x < 0):
        raise ValueError("gammainc needs a > 0 and x >= 0")
    return _elementwise(lambda a_, x_: _core.gammainc(a_, x_, upper), a, x)


def gammainc(a: ArrayLike, x: ArrayLike) -> np.ndarray:
    """Regularised lower incomplete gamma ``P(a, x) = gamma(a, x) / Gamma(a)``
    (``scipy.special.gammainc``): the series ``e^-x x^a / Gamma(a+1) sum_n x^n / ((a+1)...(a+n))``
    below ``a + 1``, the continued fraction of ``Q`` (modified Lentz) above; a loop in the core."""
    return _gammainc(a, x, False)


def gammaincc(a: ArrayLike, x: ArrayLike) -> np.ndarray:
    """Regularised upper incomplete gamma ``Q(a, x) = 1 - P(a, x)``, computed directly (no
    cancellation in the tail)."""
    return _gammainc(a, x, True)


def betainc(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> np.ndarray:
    """Regularised incomplete beta ``I_x(a, b)`` (``scipy.special.betainc``), by its continued
    fraction, with ``I_x(a, b) = 1 - I_{1-x}(b, a)`` to stay where it converges fast; a loop in
    the core."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("betainc needs a > 0 and b > 0")
    return _elementwise(_core.betainc, a, b, x)


def _ndtr(x: ArrayLike) -> np.ndarray:
    """The standard normal cdf ``Phi(x) = erfc(-x / sqrt 2) / 2``."""
    return _elementwise(_core.ndtr, x)


def _ndtri(q: ArrayLike) -> np.ndarray:
    """Inverse of the standard normal cdf: Acklam's rational approximation, then two Halley
    steps on ``erfc`` (relative error about 1e-15); NaN outside [0, 1]."""
    return _elementwise(_core.ndtri, q)


# ---------------------------------------------------------------------------------------------
# frozen distributions
# ---------------------------------------------------------------------------------------------
def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def _prob(p: float, name: str = "p") -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0 or math.isnan(p):
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return p


def _positive(v: float, name: str) -> float:
    v = float(v)
    if not v > 0 or math.isinf(v):
        raise ValueError(f"{name} must be positive and finite, got {v}")
    return v


def _finite(v: float, name: str) -> float:
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def _integer(v, name: str) -> int:
    """An integer parameter: an int, or a float with an integral value (int() would truncate 0.5)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if not isinstance(v, numbers.Integral) and not (math.isfinite(v) and float(v).is_integer()):
        raise ValueError(f"{name} must be an integer, got {v}")
    return int(v)


def _data(x, name: str = "data") -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


def _scalar_out(x):
    return x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x


class _Dist:
    """Shared behaviour of the frozen distributions."""

    discrete = False

    def logpdf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            return _scalar_out(np.log(np.asarray(self.pdf(x))))

    def sf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(1.0 - np.asarray(self.cdf(x)))

    def std(self) -> float:
        return math.sqrt(self.var())

    def ppf(self, q: ArrayLike) -> np.ndarray | float:
        """Quantile: the x with cdf(x) = q, by bisection on the cdf (vectorised)."""
        q = np.asarray(q, dtype=float)
        out = np.full(q.shape, np.nan)
        ok = (q >= 0) & (q <= 1)
        lo_b, hi_b = self._support()
        qq = q[ok]
        lo = np.full(qq.shape, -1.0)
        hi = np.full(qq.shape, 1.0)
        if np.isfinite(lo_b):
            lo[:] = lo_b
        else:
            while np.any(self.cdf(lo) > qq):
                lo = np.where(self.cdf(lo) > qq, lo * 2.0, lo)
        if np.isfinite(hi_b):
            hi[:] = hi_b
        else:
            hi = np.maximum(hi, lo + 1.0)
            while np.any(self.cdf(hi) < qq):
                hi = np.where(self.cdf(hi) < qq, hi * 2.0 + 1.0, hi)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            below = np.asarray(self.cdf(mid)) < qq
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
            if np.all(hi - lo <= 1e-15 * np.maximum(1.0, np.abs(hi))):
                break
        res = 0.5 * (lo + hi)
        res = np.where(qq == 0, lo_b, np.where(qq == 1, hi_b, res))
        out[ok] = res
        return _scalar_out(out)

    def _support(self) -> tuple[float, float]:
        return -np.inf, np.inf

    def interval(self, confidence: float) -> tuple[np.ndarray | float, np.ndarray | float]:
        a = (1 - confidence) / 2
        return self.ppf(a), self.ppf(1 - a)


class _Discrete(_Dist):
    discrete = True

    def pdf(self, x: ArrayLike) -> np.ndarray | float:  # continuous name, for plots that do not care
        return self.pmf(x)

    # Each distribution defines pmf or logpmf (whichever is the stable form); the other follows.
    def pmf(self, k: ArrayLike) -> np.ndarray | float:
        return _scalar_out(np.exp(self.logpmf(k)))

    def logpmf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.asarray(k, dtype=float)
        with np.errstate(divide="ignore"):
            return _scalar_out(np.log(np.asarray(self.pmf(k))))

    def ppf(self, q: ArrayLike) -> np.ndarray | float:
        """Smallest integer k with cdf(k) >= q."""
        q = np.asarray(q, dtype=float)
        out = np.full(q.shape, np.nan)
        lo_b, hi_b = self._support()
        for idx, qi in np.ndenumerate(q):
            if not 0 <= qi <= 1:
                continue
            if qi == 0:
                out[idx] = lo_b - 1
                continue
            lo, hi = lo_b - 1, (hi_b if np.isfinite(hi_b) else max(lo_b, 1.0))
            while not np.isfinite(hi_b) and self.cdf(hi) < qi * (1 - 1e-12):
                hi = hi * 2 + 1
            while hi - lo > 1:  # invariant: cdf(lo) < q <= cdf(hi)
                mid = math.floor((lo + hi) / 2)
                if self.cdf(mid) >= qi * (1 - 1e-12):
                    hi = mid
                else:
                    lo = mid
            out[idx] = hi
        return _scalar_out(out)


def _is_int(k: np.ndarray) -> np.ndarray:
    return np.equal(np.floor(k), k)


class bernoulli(_Discrete):
    """Bernoulli(p): ``P(X = 1) = p``, ``P(X = 0) = 1 - p`` (primer 2.4.1)."""

    def __init__(self, p: float):
        self.p = _prob(p)

    def pmf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.asarray(k, dtype=float)
        return _scalar_out(np.where(k == 1, self.p, np.where(k == 0, 1 - self.p, 0.0)))

    def cdf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        return _scalar_out(np.where(k < 0, 0.0, np.where(k < 1, 1 - self.p, 1.0)))

    def mean(self) -> float:
        return self.p

    def var(self) -> float:
        return self.p * (1 - self.p)

    def _support(self):
        return 0.0, 1.0

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return (_rng(random_state).random(size) < self.p).astype(np.int64)

    @classmethod
    def fit(cls, data: ArrayLike) -> bernoulli:
        """MLE: ``p = mean(data)``."""
        x = _data(data)
        if not np.all((x == 0) | (x == 1)):
            raise ValueError("bernoulli data must be 0 or 1")
        return cls(float(x.mean()))


class randint(_Discrete):
    """Discrete uniform on ``low, ..., high - 1`` (a fair die: ``randint(1, 7)``, 1/6 each)."""

    def __init__(self, low: int, high: int):
        low, high = _integer(low, "low"), _integer(high, "high")
        if high <= low:
            raise ValueError(f"high must be > low, got low={low}, high={high}")
        self.low, self.high = low, high

    def pmf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.asarray(k, dtype=float)
        inside = (k >= self.low) & (k < self.high) & _is_int(k)
        return _scalar_out(np.where(inside, 1.0 / (self.high - self.low), 0.0))

    def cdf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        return _scalar_out(np.clip((k - self.low + 1) / (self.high - self.low), 0.0, 1.0))

    def mean(self) -> float:
        return (self.low + self.high - 1) / 2

    def var(self) -> float:
        n = self.high - self.low
        return (n * n - 1) / 12

    def _support(self):
        return float(self.low), float(self.high - 1)

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).integers(self.low, self.high, size)

    @classmethod
    def fit(cls, data: ArrayLike) -> randint:
        """MLE: the smallest range holding the data, ``low = min``, ``high = max + 1``."""
        x = _data(data)
        return cls(int(x.min()), int(x.max()) + 1)


class uniform(_Dist):
    """Continuous uniform on ``[loc, loc + scale]`` (SciPy's parametrisation)."""

    def __init__(self, loc: float = 0.0, scale: float = 1.0):
        self.loc, self.scale = _finite(loc, "loc"), _positive(scale, "scale")

    def pdf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        return _scalar_out(np.where((x >= self.loc) & (x <= self.loc + self.scale), 1.0 / self.scale, 0.0))

    def cdf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(np.clip((np.asarray(x, dtype=float) - self.loc) / self.scale, 0.0, 1.0))

    def ppf(self, q: ArrayLike) -> np.ndarray | float:
        q = np.asarray(q, dtype=float)
        return _scalar_out(np.where((q >= 0) & (q <= 1), self.loc + q * self.scale, np.nan))

    def mean(self) -> float:
        return self.loc + self.scale / 2

    def var(self) -> float:
        return self.scale**2 / 12

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return self.loc + self.scale * _rng(random_state).random(size)

    @classmethod
    def fit(cls, data: ArrayLike) -> uniform:
        """MLE: ``loc = min``, ``scale = max - min``."""
        x = _data(data)
        return cls(float(x.min()), float(x.max() - x.min()) or 1e-300)


class binom(_Discrete):
    """Binomial(n, p): ``P(X = k) = C(n, k) p^k (1 - p)^(n - k)`` (primer 2.4.1).

    ``cdf(k) = I_{1-p}(n - k, k + 1)`` (regularised incomplete beta)."""

    def __init__(self, n: int, p: float):
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n}")
        self.n, self.p = int(n), _prob(p)

    def logpmf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.asarray(k, dtype=float)
        n, p = self.n, self.p
        inside = (k >= 0) & (k <= n) & _is_int(k)
        kk = np.where(inside, k, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            logc = gammaln(n + 1) - gammaln(kk + 1) - gammaln(n - kk + 1)
            lp = np.where(kk > 0, kk * np.log(p) if p > 0 else -np.inf, 0.0)
            lq = np.where(n - kk > 0, (n - kk) * np.log1p(-p) if p < 1 else -np.inf, 0.0)
        return _scalar_out(np.where(inside, logc + lp + lq, -np.inf))

    def cdf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        out = np.where(k < 0, 0.0, 1.0)
        mid = (k >= 0) & (k < self.n)
        if np.any(mid) and 0 < self.p < 1:
            out[mid] = betainc(self.n - k[mid], k[mid] + 1, 1 - self.p)
        elif np.any(mid):
            out[mid] = 1.0 if self.p == 0 else 0.0
        return _scalar_out(out)

    def sf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        out = np.where(k < 0, 1.0, 0.0)
        mid = (k >= 0) & (k < self.n)
        if np.any(mid) and 0 < self.p < 1:
            out[mid] = betainc(k[mid] + 1, self.n - k[mid], self.p)
        elif np.any(mid):
            out[mid] = 0.0 if self.p == 0 else 1.0
        return _scalar_out(out)

    def mean(self) -> float:
        return self.n * self.p

    def var(self) -> float:
        return self.n * self.p * (1 - self.p)

    def _support(self):
        return 0.0, float(self.n)

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).binomial(self.n, self.p, size)

    @classmethod
    def fit(cls, data: ArrayLike, n: int) -> binom:
        """MLE for p with n known: ``p = mean(data) / n``."""
        x = _data(data)
        return cls(n, float(x.mean()) / n)


class poisson(_Discrete):
    """Poisson(mu): ``P(X = k) = e^-mu mu^k / k!`` (primer 2.4.1); ``cdf(k) = Q(k + 1, mu)``."""

    def __init__(self, mu: float):
        self.mu = _positive(mu, "mu")

    def logpmf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.asarray(k, dtype=float)
        inside = (k >= 0) & _is_int(k)
        kk = np.where(inside, k, 0.0)
        return _scalar_out(np.where(inside, kk * math.log(self.mu) - self.mu - gammaln(kk + 1), -np.inf))

    def cdf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        out = np.zeros(k.shape)
        ok = k >= 0
        if np.any(ok):
            out[ok] = gammaincc(k[ok] + 1, self.mu)
        return _scalar_out(out)

    def sf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        out = np.ones(k.shape)
        ok = k >= 0
        if np.any(ok):
            out[ok] = gammainc(k[ok] + 1, self.mu)
        return _scalar_out(out)

    def mean(self) -> float:
        return self.mu

    def var(self) -> float:
        return self.mu

    def _support(self):
        return 0.0, np.inf

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).poisson(self.mu, size)

    @classmethod
    def fit(cls, data: ArrayLike) -> poisson:
        """MLE: ``mu = mean(data)``."""
        return cls(float(_data(data).mean()))


class geom(_Discrete):
    """Geometric(p) on k = 1, 2, ...: ``P(X = k) = (1 - p)^(k - 1) p``, the trial of the first
    success (primer 2.4.1; SciPy's support)."""

    def __init__(self, p: float):
        self.p = _prob(p)
        if self.p == 0:
            raise ValueError("p must be > 0")

    def logpmf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.asarray(k, dtype=float)
        inside = (k >= 1) & _is_int(k)
        kk = np.where(inside, k, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(kk > 1, (kk - 1) * np.log1p(-self.p), 0.0) + math.log(self.p)
        return _scalar_out(np.where(inside, val, -np.inf))

    def cdf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        return _scalar_out(np.where(k < 1, 0.0, -np.expm1(np.maximum(k, 1) * np.log1p(-self.p))))

    def sf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        return _scalar_out(np.where(k < 1, 1.0, np.exp(np.maximum(k, 1) * np.log1p(-self.p))))

    def mean(self) -> float:
        return 1 / self.p

    def var(self) -> float:
        return (1 - self.p) / self.p**2

    def _support(self):
        return 1.0, np.inf

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).geometric(self.p, size)

    @classmethod
    def fit(cls, data: ArrayLike) -> geom:
        """MLE: ``p = 1 / mean(data)``."""
        return cls(1.0 / float(_data(data).mean()))


class nbinom(_Discrete):
    """Negative binomial(n, p): failures before the n-th success,
    ``P(X = k) = C(k + n - 1, k) p^n (1 - p)^k``; ``cdf(k) = I_p(n, k + 1)``."""

    def __init__(self, n: float, p: float):
        self.n, self.p = _positive(n, "n"), _prob(p)
        if self.p == 0:
            raise ValueError("p must be > 0")

    def logpmf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.asarray(k, dtype=float)
        inside = (k >= 0) & _is_int(k)
        kk = np.where(inside, k, 0.0)
        n, p = self.n, self.p
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (gammaln(kk + n) - gammaln(kk + 1) - gammaln(n) + n * math.log(p)
                   + np.where(kk > 0, kk * np.log1p(-p) if p < 1 else -np.inf, 0.0))
        return _scalar_out(np.where(inside, val, -np.inf))

    def cdf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        out = np.zeros(k.shape)
        ok = k >= 0
        if np.any(ok):
            out[ok] = betainc(self.n, k[ok] + 1, self.p) if self.p < 1 else 1.0
        return _scalar_out(out)

    def sf(self, k: ArrayLike) -> np.ndarray | float:
        k = np.floor(np.asarray(k, dtype=float))
        out = np.ones(k.shape)
        ok = k >= 0
        if np.any(ok):
            out[ok] = betainc(k[ok] + 1, self.n, 1 - self.p) if self.p < 1 else 0.0
        return _scalar_out(out)

    def mean(self) -> float:
        return self.n * (1 - self.p) / self.p

    def var(self) -> float:
        return self.n * (1 - self.p) / self.p**2

    def _support(self):
        return 0.0, np.inf

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).negative_binomial(self.n, self.p, size)

    @classmethod
    def fit(cls, data: ArrayLike, n: float | None = None) -> nbinom:
        """MLE. With n known, ``p = n / (n + mean)``; otherwise n maximises the profile
        likelihood (p at its closed form for each n), found by golden-section search on log n."""
        x = _data(data)
        m = float(x.mean())
        if n is not None:
            return cls(n, n / (n + m))
        if m == 0:
            raise ValueError("nbinom.fit: all-zero data has no finite MLE for n")

        def nll(log_n: float) -> float:
            nn = math.exp(log_n)
            return -float(np.sum(cls(nn, nn / (nn + m)).logpmf(x)))

        best = _golden(nll, -8.0, 12.0)
        nn = math.exp(best)
        return cls(nn, nn / (nn + m))


class norm(_Dist):
    """Normal(loc, scale): ``f(x) = exp(-(x - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi))``."""

    def __init__(self, loc: float = 0.0, scale: float = 1.0):
        self.loc, self.scale = _finite(loc, "loc"), _positive(scale, "scale")

    def logpdf(self, x: ArrayLike) -> np.ndarray | float:
        z = (np.asarray(x, dtype=float) - self.loc) / self.scale
        return _scalar_out(-0.5 * z * z - math.log(self.scale) - 0.5 * math.log(2 * math.pi))

    def pdf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(np.exp(self.logpdf(x)))

    def cdf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(_ndtr((np.asarray(x, dtype=float) - self.loc) / self.scale))

    def sf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(_ndtr(-(np.asarray(x, dtype=float) - self.loc) / self.scale))

    def ppf(self, q: ArrayLike) -> np.ndarray | float:
        return _scalar_out(self.loc + self.scale * _ndtri(q))

    def mean(self) -> float:
        return self.loc

    def var(self) -> float:
        return self.scale**2

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).normal(self.loc, self.scale, size)

    @classmethod
    def fit(cls, data: ArrayLike) -> norm:
        """MLE (primer 2.4.4): the sample mean and the *biased* standard deviation
        ``sqrt(sum (x - mean)^2 / n)``."""
        x = _data(data)
        return cls(float(x.mean()), float(np.sqrt(np.mean((x - x.mean()) ** 2))) or 1e-300)


_T_SERIES_MAX_DF = 30


def _t_central(x: np.ndarray, k: int) -> np.ndarray:
    """P(|T| < x) for Student's t with an integer k degrees of freedom, x >= 0, by the finite series
    of Abramowitz & Stegun 26.7.3-4 (as Cephes' stdtr): with z = 1 + x^2 / k,

    - k odd:  (2 / pi) (atan(x / sqrt k) + x / sqrt k / z (1 + 2/(3 z) + 2 4/(3 5 z^2) + ...)),
    - k even: x / sqrt(z k) (1 + 1/(2 z) + 1 3/(2 4 z^2) + ...),

    each sum to the term in z^-(k-3)/2 (odd) or z^-(k-2)/2 (even): at most 14 vectorised steps."""
    rk = float(k)
    z = 1.0 + x * x / rk
    f, term = np.ones_like(x), np.ones_like(x)
    for j in range(3 if k % 2 else 2, k - 1, 2):
        term = term * ((j - 1) / j) / z
        f += term
    if k % 2 == 0:
        return f * x / np.sqrt(z * rk)
    xs = x / math.sqrt(rk)
    p = np.arctan(xs) + (f * xs / z if k > 1 else 0.0)
    return p * (2.0 / math.pi)


class t(_Dist):
    """Student's t(df, loc, scale); ``cdf`` through ``I_{df/(df+x^2)}(df/2, 1/2)``."""

    def __init__(self, df: float, loc: float = 0.0, scale: float = 1.0):
        self.df, self.loc, self.scale = _positive(df, "df"), _finite(loc, "loc"), _positive(scale, "scale")

    def logpdf(self, x: ArrayLike) -> np.ndarray | float:
        v = self.df
        z = (np.asarray(x, dtype=float) - self.loc) / self.scale
        c = math.lgamma((v + 1) / 2) - math.lgamma(v / 2) - 0.5 * math.log(v * math.pi) - math.log(self.scale)
        return _scalar_out(c - (v + 1) / 2 * np.log1p(z * z / v))

    def pdf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(np.exp(self.logpdf(x)))

    def _tail(self, z):  # P(T > |z|)
        """P(T > |z|). For integer df <= 30 by the finite series of P(|T| < |z|) (below), except
        where the tail is under 1e-3 (there 1 - P(|T| < |z|) would cancel digits); elsewhere, and
        for any other df, through the core's incomplete beta."""
        z = np.asarray(z, dtype=float)
        v = self.df
        if not (float(v).is_integer() and v <= _T_SERIES_MAX_DF):
            return self._tail_betainc(z)
        with np.errstate(invalid="ignore", over="ignore"):  # inf gives NaN here, redone below
            tail = np.asarray(0.5 - 0.5 * _t_central(np.abs(z), int(v)))  # NaN stays NaN
        far = ~(tail >= 1e-3)  # far in the tail, or NaN / inf: the incomplete beta there
        if far.any():
            tail[far] = self._tail_betainc(z[far])
        return tail

    def _tail_betainc(self, z):  # P(T > |z|) = I_x(v/2, 1/2) / 2 with x = v / (v + z^2)
        v = self.df
        z2 = z * z
        near = z2 < v  # x > 1/2: use 1 - I_{1-x}(1/2, v/2), with 1 - x = z^2 / (v + z^2) exact
        # One pass of the core's betainc, each point with the arguments of its side.
        ib = betainc(np.where(near, 0.5, v / 2), np.where(near, v / 2, 0.5),
                     np.where(near, z2, v) / (v + z2))
        tail = np.asarray(np.where(near, 0.5 - 0.5 * ib, 0.5 * ib))
        # 0.5 - 0.5 I cancels digits where the tail is small although z^2 < v (a large df: t(100)
        # at z = -9.8 has 1.4e-16); there the far form 0.5 I_{v/(v+z^2)}(v/2, 1/2) is accurate.
        redo = near & (tail < 1e-3)
        if redo.any():
            tail[redo] = 0.5 * betainc(v / 2, 0.5, v / (v + z2[redo]))
        return tail

    def cdf(self, x: ArrayLike) -> np.ndarray | float:
        z = (np.asarray(x, dtype=float) - self.loc) / self.scale
        tail = self._tail(z)
        return _scalar_out(np.where(z > 0, 1 - tail, tail))

    def sf(self, x: ArrayLike) -> np.ndarray | float:
        z = (np.asarray(x, dtype=float) - self.loc) / self.scale
        tail = self._tail(z)
        return _scalar_out(np.where(z > 0, tail, 1 - tail))

    def mean(self) -> float:
        return self.loc if self.df > 1 else np.nan

    def var(self) -> float:
        if self.df > 2:
            return self.scale**2 * self.df / (self.df - 2)
        return np.inf if self.df > 1 else np.nan

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return self.loc + self.scale * _rng(random_state).standard_t(self.df, size)

    @classmethod
    def fit(cls, data: ArrayLike) -> t:
        """MLE of (df, loc, scale) by minimising the negative log-likelihood (Nelder-Mead)."""
        x = _data(data)
        s0 = float(x.std()) or 1.0

        def nll(th):
            return -float(np.sum(cls(math.exp(th[0]), th[1], math.exp(th[2])).logpdf(x)))

        th = minimize_nm(nll, np.array([math.log(5.0), float(np.median(x)), math.log(s0)]))
        return cls(math.exp(th[0]), th[1], math.exp(th[2]))


class chi2(_Dist):
    """Chi-square(df): ``cdf(x) = P(df/2, x/2)`` (regularised lower incomplete gamma)."""

    def __init__(self, df: float):
        self.df = _positive(df, "df")

    def logpdf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        k = self.df / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (k - 1) * np.log(np.where(x > 0, x, 1.0)) - x / 2 - k * math.log(2) - math.lgamma(k)
            at0 = -math.log(2) if k == 1 else (np.inf if k < 1 else -np.inf)
        return _scalar_out(np.where(x > 0, val, np.where(x == 0, at0, -np.inf)))

    def pdf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(np.exp(self.logpdf(x)))

    def cdf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        return _scalar_out(np.where(x > 0, gammainc(self.df / 2, np.maximum(x, 0) / 2), 0.0))

    def sf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        return _scalar_out(np.where(x > 0, gammaincc(self.df / 2, np.maximum(x, 0) / 2), 1.0))

    def mean(self) -> float:
        return self.df

    def var(self) -> float:
        return 2 * self.df

    def _support(self):
        return 0.0, np.inf

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).chisquare(self.df, size)

    @classmethod
    def fit(cls, data: ArrayLike) -> chi2:
        """MLE of df (golden-section search on the negative log-likelihood)."""
        x = _data(data)
        if np.any(x <= 0):
            raise ValueError("chi2 data must be positive")
        best = _golden(lambda ld: -float(np.sum(cls(math.exp(ld)).logpdf(x))), -5.0, 8.0)
        return cls(math.exp(best))


class f(_Dist):
    """F(dfn, dfd): ``cdf(x) = I_{dfn x / (dfn x + dfd)}(dfn/2, dfd/2)``."""

    def __init__(self, dfn: float, dfd: float):
        self.dfn, self.dfd = _positive(dfn, "dfn"), _positive(dfd, "dfd")

    def logpdf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        d1, d2 = self.dfn, self.dfd
        lb = math.lgamma(d1 / 2) + math.lgamma(d2 / 2) - math.lgamma((d1 + d2) / 2)
        xs = np.where(x > 0, x, 1.0)
        val = (0.5 * (d1 * np.log(d1 * xs) + d2 * math.log(d2) - (d1 + d2) * np.log(d1 * xs + d2))
               - np.log(xs) - lb)
        return _scalar_out(np.where(x > 0, val, -np.inf))

    def pdf(self, x: ArrayLike) -> np.ndarray | float:
        return _scalar_out(np.exp(self.logpdf(x)))

    def cdf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        xs = np.maximum(x, 0)
        u = self.dfn * xs / (self.dfn * xs + self.dfd)
        return _scalar_out(np.where(x > 0, betainc(self.dfn / 2, self.dfd / 2, u), 0.0))

    def sf(self, x: ArrayLike) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        xs = np.maximum(x, 0)
        u = self.dfd / (self.dfn * xs + self.dfd)
        return _scalar_out(np.where(x > 0, betainc(self.dfd / 2, self.dfn / 2, u), 1.0))

    def mean(self) -> float:
        return self.dfd / (self.dfd - 2) if self.dfd > 2 else np.inf

    def var(self) -> float:
        d1, d2 = self.dfn, self.dfd
        if d2 <= 4:
            return np.inf if d2 > 2 else np.nan
        return 2 * d2**2 * (d1 + d2 - 2) / (d1 * (d2 - 2) ** 2 * (d2 - 4))

    def _support(self):
        return 0.0, np.inf

    def rvs(self, size: Size = None, random_state: RandomState = None) -> np.ndarray:
        return _rng(random_state).f(self.dfn, self.dfd, size)

    @classmethod
    def fit(cls, data: ArrayLike) -> f:
        """MLE of (dfn, dfd) by minimising the negative log-likelihood (Nelder-Mead on logs)."""
        x = _data(data)
        th = minimize_nm(lambda th: -float(np.sum(cls(math.exp(th[0]), math.exp(th[1])).logpdf(x))),
                         np.array([math.log(5.0), math.log(10.0)]))
        return cls(math.exp(th[0]), math.exp(th[1]))


# ---------------------------------------------------------------------------------------------
# optimisation helpers for MLE
# ---------------------------------------------------------------------------------------------
def _golden(fn: Callable[[float], float], lo: float, hi: float, tol: float = 1e-10) -> float:
    g = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = fn(c), fn(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = fn(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = fn(d)
    return (a + b) / 2


def minimize_nm(fn: Callable[[np.ndarray], float], x0: ArrayLike, max_iter: int = 5000,
                tol: float = 1e-12) -> np.ndarray:
    """Minimise ``fn`` by the Nelder-Mead simplex (reflect, expand, contract, shrink)."""
    x0 = np.asarray(x0, dtype=float)
    n = x0.size
    simplex = [x0] + [x0 + np.eye(n)[i] * (0.1 * abs(x0[i]) if x0[i] != 0 else 0.1) for i in range(n)]
    values = [fn(s) for s in simplex]
    for _ in range(max_iter):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if abs(values[-1] - values[0]) <= tol * (abs(values[0]) + 1e-300) and \
                max(np.max(np.abs(s - simplex[0])) for s in simplex) < 1e-10:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        xr = centroid + (centroid - simplex[-1])
        fr = fn(xr)
        if fr < values[0]:
            xe = centroid + 2 * (centroid - simplex[-1])
            fe = fn(xe)
            simplex[-1], values[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = xr, fr
        else:
            xc = centroid + 0.5 * (simplex[-1] - centroid)
            fc = fn(xc)
            if fc < values[-1]:
                simplex[-1], values[-1] = xc, fc
            else:
                simplex = [simplex[0]] + [simplex[0] + 0.5 * (s - simplex[0]) for s in simplex[1:]]
                values = [values[0]] + [fn(s) for s in simplex[1:]]
    return simplex[int(np.argmin(values))]


def mle(logpdf: Callable[[np.ndarray, np.ndarray], np.ndarray], data: ArrayLike, x0: ArrayLike) -> np.ndarray:
    """Maximum likelihood by minimising the negative log-likelihood (primer 2.4.4):
    ``theta* = argmin_theta -sum_i log p(x_i | theta)``.

    ``logpdf(x, theta)`` returns the log-density of each observation; ``x0`` starts the search
    (Nelder-Mead). For a normal, ``theta = (mu, log sigma)`` gives the sample mean and the
    biased standard deviation.
    """
    x = _data(data)

    def nll(theta):
        val = -float(np.sum(logpdf(x, theta)))
        return val if math.isfinite(val) else 1e300

    return minimize_nm(nll, x0)


# ---------------------------------------------------------------------------------------------
# Bayes
# ---------------------------------------------------------------------------------------------
def bayes(p_a: float, p_b_given_a: float, p_b: float) -> float:
    """Bayes' theorem for one event (primer 2.4.2): ``P(A|B) = P(B|A) P(A) / P(B)``.

    The snow example: ``bayes(0.3, 0.7, 0.5) == 0.42``.
    """
    p_a, p_b_given_a, p_b = _prob(p_a, "p_a"), _prob(p_b_given_a, "p_b_given_a"), _prob(p_b, "p_b")
    if p_b == 0:
        raise ValueError("p_b must be > 0 (the evidence must be possible)")
    post = p_a * p_b_given_a / p_b
    if post > 1 + 1e-12:
        raise ValueError(f"inconsistent probabilities: P(B|A) P(A) = {p_a * p_b_given_a} "
                         f"exceeds P(B) = {p_b}")
    return post


def posterior(prior: ArrayLike, likelihood: ArrayLike) -> np.ndarray:
    """Discrete Bayesian update: ``P(h|data) = P(data|h) P(h) / sum_h' P(data|h') P(h')``."""
    prior, like = np.asarray(prior, dtype=float), np.asarray(likelihood, dtype=float)
    if prior.shape != like.shape or prior.ndim != 1:
        raise ValueError(f"prior and likelihood must be 1-D of one length, got {prior.shape} "
                         f"and {like.shape}")
    if np.any(prior < 0) or not np.isclose(prior.sum(), 1.0):
        raise ValueError("prior must be non-negative and sum to 1")
    if np.any(like < 0) or np.any(like > 1) or np.any(~np.isfinite(like)):
        raise ValueError("likelihood values must be probabilities in [0, 1]")
    joint = prior * like
    z = joint.sum()
    if z == 0:
        raise ValueError("the data are impossible under every hypothesis (evidence 0)")
    return joint / z


def clt_demo(n_terms: int = 12, n_samples: int = 20000,
             random_state: RandomState = None) -> tuple[np.ndarray, float]:
    """Central Limit Theorem: standardised sums of ``n_terms`` Uniform(0, 1) draws.

    Returns the standardised sums ``(S - n/2) / sqrt(n/12)`` and their Kolmogorov-Smirnov
    distance to N(0, 1), which shrinks as ``n_terms`` grows.
    """
    rng = _rng(random_state)
    s = rng.random((n_samples, n_terms)).sum(axis=1)
    z = (s - n_terms / 2) / math.sqrt(n_terms / 12)
    zs = np.sort(z)
    cdf = _ndtr(zs)
    i = np.arange(1, zs.size + 1)
    ks = float(max(np.max(i / zs.size - cdf), np.max(cdf - (i - 1) / zs.size)))
    return z, ks


# ---------------------------------------------------------------------------------------------
# hypothesis tests
# ---------------------------------------------------------------------------------------------
@dataclass
class TestResult:
    """A test's outcome: ``statistic``, ``pvalue`` and, where it has one, ``df``."""

    statistic: float
    pvalue: float
    df: float | None = None

    def __iter__(self):  # unpacks like SciPy's results: stat, p = ttest_1samp(...)
        return iter((self.statistic, self.pvalue))


def _alt_p(dist: _Dist, stat: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(min(1.0, 2 * min(dist.cdf(stat), dist.sf(stat))))
    if alternative == "less":
        return float(dist.cdf(stat))
    if alternative == "greater":
        return float(dist.sf(stat))
    raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")


def ttest_1samp(a: ArrayLike, popmean: float, alternative: Alternative = "two-sided") -> TestResult:
    """One-sample t-test: ``t = (mean - mu0) / (s / sqrt(n))`` with n - 1 degrees of freedom."""
    x = _data(a, "a")
    if x.size < 2:
        raise ValueError("ttest_1samp needs at least 2 observations")
    n = x.size
    stat = (x.mean() - popmean) / (x.std(ddof=1) / math.sqrt(n))
    return TestResult(float(stat), _alt_p(t(n - 1), stat, alternative), n - 1)


def ttest_ind(a: ArrayLike, b: ArrayLike, equal_var: bool = True,
              alternative: Alternative = "two-sided") -> TestResult:
    """Two-sample t-test. ``equal_var=True``: pooled variance, n1 + n2 - 2 df. ``False``: Welch's
    test, ``t = (m1 - m2) / sqrt(s1^2/n1 + s2^2/n2)`` with the Welch-Satterthwaite df."""
    x, y = _data(a, "a"), _data(b, "b")
    if x.size < 2 or y.size < 2:
        raise ValueError("ttest_ind needs at least 2 observations in each sample")
    n1, n2 = x.size, y.size
    v1, v2 = x.var(ddof=1), y.var(ddof=1)
    if equal_var:
        df = n1 + n2 - 2
        sp2 = ((n1 - 1) * v1 + (n2 - 1) * v2) / df
        se = math.sqrt(sp2 * (1 / n1 + 1 / n2))
    else:
        q1, q2 = v1 / n1, v2 / n2
        se = math.sqrt(q1 + q2)
        df = (q1 + q2) ** 2 / (q1**2 / (n1 - 1) + q2**2 / (n2 - 1))
    stat = (x.mean() - y.mean()) / se
    return TestResult(float(stat), _alt_p(t(df), stat, alternative), float(df))


def ttest_rel(a: ArrayLike, b: ArrayLike, alternative: Alternative = "two-sided") -> TestResult:
    """Paired t-test: the one-sample test on the differences ``a - b``."""
    x, y = _data(a, "a"), _data(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must be paired (same length), got {x.size} and {y.size}")
    return ttest_1samp(x - y, 0.0, alternative)


def ztest(x1: ArrayLike, x2: ArrayLike | None = None, value: float = 0.0,
          alternative: Alternative = "two-sided") -> TestResult:
    """z-test (statsmodels' ``ztest``): like the t-test with the sample standard deviation, but
    the statistic is referred to N(0, 1). Two samples use the pooled variance."""
    x = _data(x1, "x1")
    if x2 is None:
        if x.size < 2:  # the sample standard deviation needs two observations (one gives nan)
            raise ValueError(f"x1 needs at least 2 observations for a one-sample z-test, got {x.size}")
        stat = (x.mean() - value) / (x.std(ddof=1) / math.sqrt(x.size))
    else:
        y = _data(x2, "x2")
        if x.size + y.size < 3:
            raise ValueError(f"x1 and x2 need at least 3 observations together for the pooled variance, "
                             f"got {x.size} and {y.size}")
        n1, n2 = x.size, y.size
        sp2 = ((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2)
        stat = (x.mean() - y.mean() - value) / math.sqrt(sp2 * (1 / n1 + 1 / n2))
    return TestResult(float(stat), _alt_p(norm(), stat, alternative))


def chisquare(f_obs: ArrayLike, f_exp: ArrayLike | None = None, ddof: int = 0) -> TestResult:
    """Chi-square goodness of fit: ``sum (O - E)^2 / E`` with k - 1 - ddof df (E uniform by
    default; given E must have the same total as O)."""
    o = _data(f_obs, "f_obs")
    e = np.full(o.shape, o.mean()) if f_exp is None else _data(f_exp, "f_exp")
    if e.shape != o.shape:
        raise ValueError(f"f_exp must have the shape of f_obs {o.shape}, got {e.shape}")
    if np.any(e <= 0):
        raise ValueError("expected frequencies must be positive")
    if not np.isclose(o.sum(), e.sum(), rtol=1e-8):
        raise ValueError(f"f_obs and f_exp must have the same sum, got {o.sum()} and {e.sum()}")
    stat = float(np.sum((o - e) ** 2 / e))
    df = o.size - 1 - ddof
    return TestResult(stat, float(chi2(df).sf(stat)), df)


@dataclass
class ContingencyResult(TestResult):
    expected_freq: np.ndarray | None = None


def chi2_contingency(observed: ArrayLike, correction: bool = True) -> ContingencyResult:
    """Chi-square test of independence on an r x c table: ``E_ij = row_i col_j / total``,
    df = (r - 1)(c - 1); Yates' continuity correction on 2 x 2 tables (df = 1) by default, as
    SciPy does."""
    o = np.asarray(observed, dtype=float)
    if o.ndim != 2 or min(o.shape) < 1 or not np.all(np.isfinite(o)) or np.any(o < 0):
        raise ValueError("observed must be a 2-D table of non-negative counts")
    e = o.sum(1, keepdims=True) * o.sum(0, keepdims=True) / o.sum()
    if np.any(e == 0):
        raise ValueError("a row or column of observed sums to zero")
    df = (o.shape[0] - 1) * (o.shape[1] - 1)
    if df == 0:
        return ContingencyResult(0.0, 1.0, 0, e)
    diff = o - e
    if correction and df == 1:
        diff = np.sign(diff) * np.maximum(np.abs(diff) - 0.5, 0.0)
    stat = float(np.sum(diff**2 / e))
    return ContingencyResult(stat, float(chi2(df).sf(stat)), df, e)


def binomtest(k: int, n: int, p: float = 0.5, alternative: Alternative = "two-sided") -> TestResult:
    """Exact binomial test. Two-sided: the probability of every outcome no more likely than
    the observed one, ``sum_{i: P(i) <= P(k)} P(i)`` (SciPy's definition, with its 1e-7
    relative tolerance on ties)."""
    if int(k) != k or int(n) != n or not 0 <= k <= n or n < 1:
        raise ValueError(f"need integers 0 <= k <= n, n >= 1; got k={k}, n={n}")
    d = binom(int(n), _prob(p))
    if alternative == "less":
        pv = float(d.cdf(k))
    elif alternative == "greater":
        pv = float(d.sf(k - 1))
    elif alternative == "two-sided":
        pk = d.pmf(k)
        pm = d.pmf(np.arange(n + 1))
        pv = float(min(1.0, pm[pm <= pk * (1 + 1e-7)].sum()))
    else:
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")
    return TestResult(k / n, pv)


def permutation_test(a: ArrayLike, b: ArrayLike,
                     statistic: Callable[[np.ndarray, np.ndarray], float] | None = None,
                     n_resamples: int = 9999, alternative: Alternative = "two-sided",
                     random_state: RandomState = None) -> TestResult:
    """Two-sample permutation test: shuffle the pooled data into groups of the original sizes
    ``n_resamples`` times; p = (1 + #{|T*| >= |T|}) / (1 + n_resamples) (two-sided; SciPy's
    randomised estimate). ``statistic`` defaults to the difference of means."""
    x, y = _data(a, "a"), _data(b, "b")
    stat_fn = statistic or (lambda u, v: float(np.mean(u) - np.mean(v)))
    obs = stat_fn(x, y)
    rng = _rng(random_state)
    pooled = np.concatenate([x, y])
    null = np.empty(n_resamples)
    for i in range(n_resamples):
        perm = rng.permutation(pooled)
        null[i] = stat_fn(perm[:x.size], perm[x.size:])
    eps = 1e-14 * max(1.0, abs(obs))
    if alternative == "two-sided":
        count = np.sum(np.abs(null) >= abs(obs) - eps)
    elif alternative == "greater":
        count = np.sum(null >= obs - eps)
    elif alternative == "less":
        count = np.sum(null <= obs + eps)
    else:
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")
    return TestResult(obs, float((count + 1) / (n_resamples + 1)))


def rejection_rate(test: Callable[..., TestResult], sampler: Callable[[np.random.Generator], tuple],
                   alpha: float = 0.05, n_sims: int = 2000, random_state: RandomState = None) -> float:
    """Fraction of simulated data sets on which ``test`` rejects at level ``alpha``.

    Under a true null this estimates the type I error rate (it should be close to alpha);
    under an alternative it estimates the power ``1 - beta`` (type II error ``beta``).
    ``sampler(rng)`` returns the arguments of ``test``.
    """
    _prob(alpha, "alpha")
    rng = _rng(random_state)
    rejected = sum(test(*sampler(rng)).pvalue < alpha for _ in range(n_sims))
    return rejected / n_sims


def power_by_simulation(effect: float, n: int, alpha: float = 0.05, sd: float = 1.0, n_sims: int = 2000,
                        random_state: RandomState = None) -> dict[str, float]:
    """Type I error, power and type II error of the two-sample t-test with n per group, by
    simulation: under H0 (both means 0) and under H1 (means differ by ``effect``)."""
    type1 = rejection_rate(ttest_ind, lambda r: (r.normal(0, sd, n), r.normal(0, sd, n)), alpha, n_sims,
                           random_state)
    power = rejection_rate(ttest_ind, lambda r: (r.normal(effect, sd, n), r.normal(0, sd, n)), alpha, n_sims,
                           random_state)
    return {"alpha": alpha, "type_i_error": type1, "power": power, "type_ii_error": 1 - power}
