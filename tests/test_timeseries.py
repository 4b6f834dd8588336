"""grimoire.timeseries against statsmodels."""

import re
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from grimoire.timeseries import ARIMA, AutoRegressive, acf, arma_generate, difference, ljung_box, pacf
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.ar_model import AutoReg
from statsmodels.tsa.statespace.sarimax import SARIMAX
from statsmodels.tsa.stattools import acf as sm_acf
from statsmodels.tsa.stattools import pacf as sm_pacf


@pytest.fixture(scope="module")
def sunspots():
    return sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()


@pytest.fixture(scope="module")
def co2_monthly():
    return sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().ffill().to_numpy()


@pytest.fixture(scope="module")
def nile():
    return sm.datasets.nile.load_pandas().data["volume"].to_numpy()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(12, 400))
def test_acf_and_pacf_match_statsmodels(seed, n):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.standard_normal(n)) * 0.3 + rng.random(n)
    nlags = min(10, n // 2 - 1)
    np.testing.assert_allclose(acf(x, nlags), sm_acf(x, nlags=nlags, fft=False), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pacf(x, nlags), sm_pacf(x, nlags=nlags, method="ldb"), rtol=1e-8, atol=1e-10)


def test_difference_matches_numpy():
    y = np.arange(30.0) ** 2
    np.testing.assert_array_equal(difference(y, 2), np.diff(y, 2))
    np.testing.assert_array_equal(difference(y, 0, 12, 1), y[12:] - y[:-12])


def test_autoregressive_equals_statsmodels_autoreg(sunspots):
    ours = AutoRegressive(9).fit(sunspots)
    theirs = AutoReg(sunspots, 9, trend="c").fit()
    np.testing.assert_allclose(ours.params_, theirs.params, rtol=1e-9)
    np.testing.assert_allclose(ours.sigma2_, theirs.sigma2, rtol=1e-9)
    np.testing.assert_allclose(ours.forecast(10), theirs.forecast(10), rtol=1e-9)


def test_css_ar_is_the_least_squares_ar(sunspots):
    # Without MA terms the conditional sum of squares is exactly the OLS problem, reparametrised:
    # c = mu (1 - phi_1 - phi_2).
    css = ARIMA((2, 0, 0), method="css").fit(sunspots).params_
    ols = AutoReg(sunspots, 2, trend="c").fit().params
    np.testing.assert_allclose([css["ar.L1"], css["ar.L2"]], ols[1:], rtol=1e-6)
    np.testing.assert_allclose(css["const"] * (1 - css["ar.L1"] - css["ar.L2"]), ols[0], rtol=1e-6)


def test_arma_css_agrees_with_statsmodels_mle_on_a_long_series():
    y = arma_generate([0.6], [0.3], 3000, const=1.0, random_state=0)
    ours = ARIMA((1, 0, 1), method="css").fit(y)
    theirs = sm.tsa.arima.ARIMA(y, order=(1, 0, 1)).fit().params  # const, ar.L1, ma.L1, sigma2
    assert ours.params_["ar.L1"] == pytest.approx(theirs[1], abs=5e-3)
    assert ours.params_["ma.L1"] == pytest.approx(theirs[2], abs=5e-3)
    assert ours.params_["const"] == pytest.approx(theirs[0], abs=2e-2)
    assert ours.sigma2_ == pytest.approx(theirs[3], rel=1e-2)


def test_seasonal_airline_model_forecasts_like_sarimax(co2_monthly):
    ours = ARIMA((0, 1, 1), (0, 1, 1, 12), method="css").fit(co2_monthly)
    mean, lower, upper = ours.forecast(24, alpha=0.05)
    theirs = sm.tsa.SARIMAX(co2_monthly, order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False)
    fc = theirs.get_forecast(24)
    np.testing.assert_allclose(mean, fc.predicted_mean, rtol=1e-3)
    width = upper - lower
    np.testing.assert_allclose(width, np.diff(fc.conf_int(alpha=0.05), axis=1).ravel(), rtol=0.15)
    assert np.all(np.diff(width) > 0)  # uncertainty grows with the horizon
    assert np.all((lower < mean) & (mean < upper))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="NaN or Inf"):
        ARIMA((1, 0, 0)).fit(np.array([1.0, np.nan, 2.0, 3.0, 4.0, 5.0]))
    with pytest.raises(ValueError, match="1-D"):
        acf(np.ones((3, 3)))
    with pytest.raises(ValueError, match="constant"):
        acf(np.ones(10), 2)
    with pytest.raises(ValueError, match="period"):
        ARIMA((0, 0, 0), (1, 0, 0, 1))
    with pytest.raises(RuntimeError, match="not fitted"):
        ARIMA().forecast(3)


# ------------------------------------------------------------------ exact likelihood (Kalman filter)
def _cases(sunspots, nile, co2_monthly):
    # (ours, statsmodels' SARIMAX, y): a constant enters SARIMAX as a column of ones, so both
    # estimate the mean (regression with ARMA errors) and the parameters line up by position.
    return [
        (ARIMA((2, 0, 0)), dict(order=(2, 0, 0), exog=np.ones(sunspots.shape[0])), sunspots),
        (ARIMA((1, 1, 1)), dict(order=(1, 1, 1)), nile),
        (ARIMA((0, 1, 1), (0, 1, 1, 12)), dict(order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)), co2_monthly),
    ]


def test_state_space_matrices_are_sarimax_s(co2_monthly):
    for order, seasonal in [((2, 1, 1), (1, 1, 1, 4)), ((1, 2, 2), (0, 0, 0, 0)), ((0, 1, 1), (0, 2, 1, 3))]:
        mod = SARIMAX(co2_monthly, order=order, seasonal_order=seasonal)
        params = np.r_[0.1 * (-1.0) ** np.arange(mod.k_params - 1) * np.linspace(1, 2, mod.k_params - 1), 0.5]
        mod.update(params)
        ours = ARIMA(order, seasonal)
        ar, ma = ours._arma_polys(params[:-1])
        from grimoire.timeseries import _ArimaStateSpace
        z, t, rqr, p0 = _ArimaStateSpace(order, seasonal).matrices(ar, ma, params[-1])
        np.testing.assert_array_equal(z, mod.ssm["design"][0])
        np.testing.assert_allclose(t, mod.ssm["transition"], rtol=1e-12, atol=0)
        np.testing.assert_allclose(rqr, mod.ssm["selection"] @ mod.ssm["state_cov"] @ mod.ssm["selection"].T,
                                   rtol=1e-12, atol=0)


def test_exact_loglik_equals_sarimax_at_the_same_parameters(sunspots, nile, co2_monthly):
    for ours, kw, y in _cases(sunspots, nile, co2_monthly):
        mod = SARIMAX(y, **kw)
        params = mod.start_params
        ours._y, ours._x = y, ours._design(None, y.shape[0])
        from grimoire.timeseries import _ArimaStateSpace
        ours._space = _ArimaStateSpace(ours.order, ours.seasonal_order)
        assert ours._loglik(params)[0] == pytest.approx(mod.loglike(params), rel=1e-8)


def test_exact_mle_equals_sarimax(sunspots, nile, co2_monthly):
    for ours, kw, y in _cases(sunspots, nile, co2_monthly):
        ours.fit(y)
        # statsmodels' default L-BFGS stops early on sunspots (its mean 1.7e-3 short, its
        # log-likelihood 3.8e-4 lower): there the oracle is SARIMAX run to convergence.
        tight = dict(pgtol=1e-12, factr=1, maxiter=300) if y is sunspots else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # it reaches the optimum all the same
            theirs = SARIMAX(y, **kw).fit(disp=False, cov_type="approx", **tight)
        np.testing.assert_allclose(list(ours.params_.values()), theirs.params, rtol=1e-3)
        assert ours.loglik_ == pytest.approx(theirs.llf, rel=1e-6)
        if y is sunspots:
            assert ours.loglik_ >= SARIMAX(y, **kw).fit(disp=False).llf
        assert ours.aic_ == pytest.approx(theirs.aic, rel=1e-6)
        assert ours.aicc_ == pytest.approx(theirs.aicc, rel=1e-6)
        assert ours.bic_ == pytest.approx(theirs.bic, rel=1e-6)
        np.testing.assert_allclose(list(ours.bse_.values()), theirs.bse, rtol=2e-2)
        mean, lower, upper = ours.forecast(15, alpha=0.1)
        fc = theirs.get_forecast(15, exog=np.ones(15) if "exog" in kw else None)
        np.testing.assert_allclose(mean, fc.predicted_mean, rtol=1e-4)
        np.testing.assert_allclose(np.c_[lower, upper], fc.conf_int(alpha=0.1), rtol=1e-3)
        np.testing.assert_allclose(ours.resid_, theirs.resid, rtol=1e-3, atol=1e-3 * np.std(y))
        text = ours.summary()
        assert "log-likelihood" in text and "Ljung-Box" in text and "sigma2" in text


def test_exog_regression_with_arma_errors_equals_sarimax():
    rng = np.random.default_rng(3)
    n = 300
    x = np.c_[rng.standard_normal(n), np.linspace(0, 3, n)]
    y = x @ [1.5, -2.0] + arma_generate([0.5], [0.4], n, random_state=4)
    ours = ARIMA((1, 0, 1), trend="n").fit(y, exog=x)
    theirs = SARIMAX(y, exog=x, order=(1, 0, 1)).fit(disp=False)
    np.testing.assert_allclose(list(ours.params_.values()), theirs.params, rtol=1e-3)
    assert ours.loglik_ == pytest.approx(theirs.llf, rel=1e-6)
    x_new = rng.standard_normal((5, 2))
    np.testing.assert_allclose(ours.forecast(5, exog=x_new), theirs.forecast(5, exog=x_new), rtol=1e-4)
    with pytest.raises(ValueError, match="exog"):
        ours.forecast(5)
    with pytest.raises(ValueError, match="exog"):
        ours.forecast(5, exog=np.ones((5, 3)))


def test_ar_forecast_intervals_equal_autoreg(sunspots):
    ours = AutoRegressive(3).fit(sunspots)
    theirs = AutoReg(sunspots, 3, trend="c").fit()
    mean, lower, upper = ours.forecast(12, alpha=0.05)
    pred = theirs.get_prediction(start=sunspots.shape[0], end=sunspots.shape[0] + 11)
    np.testing.assert_allclose(mean, pred.predicted_mean, rtol=1e-9)
    np.testing.assert_allclose(np.c_[lower, upper], pred.conf_int(alpha=0.05), rtol=1e-6)


def test_ljung_box_equals_statsmodels():
    rng = np.random.default_rng(0)
    for x in (rng.standard_normal(200), arma_generate([0.7], [], 150, random_state=1)):
        for lags, model_df in ((1, 0), (10, 0), (12, 2)):
            ours = ljung_box(x, lags, model_df)
            theirs = acorr_ljungbox(x, lags=[lags], model_df=model_df)
            assert ours.statistic == pytest.approx(theirs["lb_stat"].iloc[0], rel=1e-10)
            assert ours.pvalue == pytest.approx(theirs["lb_pvalue"].iloc[0], rel=1e-7, abs=1e-14)


def test_an_order_the_series_is_too_short_for_is_refused():
    with pytest.raises(ValueError, match="order=.*at least"):
        ARIMA((2, 1, 2), (1, 1, 1, 12)).fit(np.arange(20.0))
    with pytest.raises(ValueError, match="method"):
        ARIMA((1, 0, 0), method="exact")
    with pytest.raises(ValueError, match="exog must have shape"):
        ARIMA((1, 0, 0)).fit(np.arange(30.0), exog=np.ones(29))
    with pytest.raises(ValueError, match="summary"):
        ARIMA((1, 0, 0), method="css").fit(arma_generate([0.5], [], 50, random_state=0)).summary()


@pytest.mark.parametrize(
    "order,seasonal_order,k_exog,need",
    [  # need = d + D s + max(p + P s + 1, number of parameters (with sigma2) + 1), by hand
        ((2, 0, 0), (0, 0, 0, 0), 0, 5),  # const, 2 ar, sigma2
        ((1, 1, 1), (0, 0, 0, 0), 0, 5),  # differenced: no const; 1 + max(2, 4)
        ((0, 1, 1), (0, 1, 1, 4), 0, 9),  # 1 + 4 + max(1, 4)
        ((1, 0, 0), (0, 0, 0, 0), 2, 6),  # const, 2 exog, 1 ar, sigma2
        ((0, 0, 0), (2, 0, 0, 3), 0, 7),  # seasonal AR: conditioning on P s = 6 values
    ],
)
def test_the_shortest_series_an_order_needs(order, seasonal_order, k_exog, need):
    y = arma_generate([0.5], [0.3], need, random_state=3) + np.arange(need) * 0.1
    x = np.random.default_rng(4).standard_normal((need, k_exog)) if k_exog else None
    for method in ("mle",) if k_exog else ("mle", "css"):  # exog is for MLE only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a tiny sample may not converge: only the length matters
            fitted = ARIMA(order, seasonal_order, method=method).fit(y, x)
        assert np.isfinite(fitted.sigma2_)
        short = (
            rf"order={re.escape(str(order))}, seasonal_order={re.escape(str(seasonal_order))} needs a "
            rf"series y of at least {need} observations, got {need - 1}"
        )
        with pytest.raises(ValueError, match=short):
            ARIMA(order, seasonal_order, method=method).fit(y[:-1], None if x is None else x[:-1])


def test_a_hessian_that_is_not_finite_gives_nan_standard_errors_and_a_warning():
    # 7 observations of a seasonal AR(2): the estimate lands near the stationarity edge and a
    # difference step of the Hessian leaves it (this used to raise LinAlgError from pinv)
    y = arma_generate([0.5], [0.3], 7, random_state=3) + np.arange(7) * 0.1
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # the line search's trial steps overflow
        with pytest.warns(RuntimeWarning, match="Hessian .* not finite"):
            fitted = ARIMA((0, 0, 0), (2, 0, 0, 3)).fit(y)
    assert np.isfinite(fitted.loglik_) and all(np.isnan(v) for v in fitted.bse_.values())
