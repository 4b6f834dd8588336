"""``grimoire bench arima``: exact-likelihood ARIMA fits beside statsmodels' SARIMAX.

The three models of the issue's oracle: sunspots AR(2) with a mean, Nile ARIMA(1,1,1), monthly
Mauna Loa CO2 SARIMA(0,1,1)(0,1,1)_12. Each fit runs in its own fresh process (a peer's threads
or caches never slow the other), the two contenders alternate, and the table gives the median
fit time (imports and data loading excluded) and the log-likelihood reached.
``--repeats N`` (default 3).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from . import table

_DATA = """
import numpy as np, statsmodels.api as sm, time, json, warnings
warnings.simplefilter("ignore")
sun = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
nile = sm.datasets.nile.load_pandas().data["volume"].to_numpy()
co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().ffill().to_numpy()
cases = {"sunspots AR(2)": (sun, (2, 0, 0), (0, 0, 0, 0)),
         "Nile ARIMA(1,1,1)": (nile, (1, 1, 1), (0, 0, 0, 0)),
         "co2 SARIMA(0,1,1)(0,1,1,12)": (co2, (0, 1, 1), (0, 1, 1, 12))}
y, order, seasonal = cases[CASE]
"""

_FIT = {
    "grimoire": """
from grimoire.timeseries import ARIMA
t = time.perf_counter(); m = ARIMA(order, seasonal).fit(y); dt = time.perf_counter() - t
print(json.dumps([dt, m.loglik_]))
""",
    "statsmodels": """
from statsmodels.tsa.statespace.sarimax import SARIMAX
exog = np.ones(y.shape[0]) if order[1] + seasonal[1] == 0 else None
t = time.perf_counter(); r = SARIMAX(y, exog=exog, order=order, seasonal_order=seasonal).fit(disp=False)
dt = time.perf_counter() - t
print(json.dumps([dt, r.llf]))
""",
}


def _run(contender: str, case: str) -> tuple[float, float]:
    code = _DATA.replace("CASE", repr(case)) + _FIT[contender]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench arima")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for case in ("sunspots AR(2)", "Nile ARIMA(1,1,1)", "co2 SARIMA(0,1,1)(0,1,1,12)"):
        times: dict[str, list[float]] = {"grimoire": [], "statsmodels": []}
        loglik = {}
        for _ in range(args.repeats):
            for name in times:
                dt, loglik[name] = _run(name, case)
                times[name].append(dt)
        med = {name: statistics.median(ts) for name, ts in times.items()}
        for name in times:
            rows.append([case, name, med[name], med[name] / med["statsmodels"], f"{loglik[name]:.6f}"])
    print(table(["model", "contender", "fit s (median)", "x statsmodels", "log-likelihood"], rows))
