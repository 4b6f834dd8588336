"""Tour, primer 7.1: time series."""

from __future__ import annotations

import numpy as np

from . import Tour, section


@section("7.1", "Time series: AR, MA, ARIMA, seasonal ARIMA", "grimoire.timeseries")
def time_series(t: Tour) -> None:
    import statsmodels.api as sm

    from grimoire.timeseries import ARIMA, AutoRegressive, acf, ljung_box, pacf

    spots = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    t.say(f"yearly sunspots 1700-2008 (statsmodels' bundled data), {spots.shape[0]} years")
    t.show("ACF lags 0-10 (the ~11-year cycle shows as a dip and return)", acf(spots, 10).round(2))
    t.show("PACF lags 0-10 (cuts off after a few lags: an AR process)", pacf(spots, 10).round(2))
    for p in (1, 2, 9):
        model = AutoRegressive(p).fit(spots)
        mean, lower, upper = model.forecast(3, alpha=0.05)
        t.say(f"AR({p}): residual variance {model.sigma2_:7.1f}; next 3 years {mean.round(1)} "
              f"(95% half-width {((upper - lower) / 2).round(1)})")
    arma = ARIMA((2, 0, 1)).fit(spots)
    t.say("", "ARMA(2,1) by exact maximum likelihood (state-space form, Kalman filter in the core):")
    t.say(*("  " + line for line in arma.summary().splitlines()))
    css = ARIMA((2, 0, 1), method="css").fit(spots)
    t.say("the same model by conditional least squares (method='css'): "
          + ", ".join(f"{k}={v:.3f}" for k, v in css.params_.items()))
    lb = ljung_box(spots - spots.mean(), 10)
    t.say(f"Ljung-Box Q(10) on the raw series: {lb.statistic:.0f} (p = {lb.pvalue:.1e}): "
          "strongly autocorrelated")
    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().ffill().to_numpy()
    airline = ARIMA((0, 1, 1), (0, 1, 1, 12)).fit(co2)
    mean, lower, upper = airline.forecast(12, alpha=0.05)
    t.say(f"Mauna Loa CO2, monthly ({co2.shape[0]} months): seasonal ARIMA(0,1,1)(0,1,1)_12 "
          + ", ".join(f"{k}={v:.3f}" for k, v in airline.params_.items()))
    t.say(f"  log-likelihood {airline.loglik_:.2f}, AIC {airline.aic_:.2f}, BIC {airline.bic_:.2f}; "
          "standard errors " + ", ".join(f"{k}={v:.3f}" for k, v in airline.bse_.items()))
    t.show("next 12 months (ppm)", np.round(mean, 2))
    t.show("95% interval half-width", np.round((upper - lower) / 2, 2))
