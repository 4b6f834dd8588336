"""grimoire.timeseries against statsmodels."""

import numpy as np
import pytest
import statsmodels.api as sm
from grimoire.timeseries import ARIMA, AutoRegressive, acf, arma_generate, difference, pacf
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.tsa.ar_model import AutoReg
from statsmodels.tsa.stattools import acf as sm_acf
from statsmodels.tsa.stattools import pacf as sm_pacf


@pytest.fixture(scope="module")
def sunspots():
    return sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()


@pytest.fixture(scope="module")
def co2_monthly():
    return sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().ffill().to_numpy()


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
    css = ARIMA((2, 0, 0)).fit(sunspots).params_
    ols = AutoReg(sunspots, 2, trend="c").fit().params
    np.testing.assert_allclose([css["ar.L1"], css["ar.L2"]], ols[1:], rtol=1e-6)
    np.testing.assert_allclose(css["const"] * (1 - css["ar.L1"] - css["ar.L2"]), ols[0], rtol=1e-6)


def test_arma_css_agrees_with_statsmodels_mle_on_a_long_series():
    y = arma_generate([0.6], [0.3], 3000, const=1.0, random_state=0)
    ours = ARIMA((1, 0, 1)).fit(y)
    theirs = sm.tsa.arima.ARIMA(y, order=(1, 0, 1)).fit().params  # const, ar.L1, ma.L1, sigma2
    assert ours.params_["ar.L1"] == pytest.approx(theirs[1], abs=5e-3)
    assert ours.params_["ma.L1"] == pytest.approx(theirs[2], abs=5e-3)
    assert ours.params_["const"] == pytest.approx(theirs[0], abs=2e-2)
    assert ours.sigma2_ == pytest.approx(theirs[3], rel=1e-2)


def test_seasonal_airline_model_forecasts_like_sarimax(co2_monthly):
    ours = ARIMA((0, 1, 1), (0, 1, 1, 12)).fit(co2_monthly)
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
