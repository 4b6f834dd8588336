// Time-series recursions (primer 7.1).
#pragma once

#include <cstdint>

namespace grimoire {

// ARMA residuals by the conditional-sum-of-squares recursion, for t = 0 .. n-1:
//   e_t = (w_t - mu) - sum_{i=1..p} ar[i-1] (w_{t-i} - mu) - sum_{j=1..q} ma[j-1] e_{t-j}
// with w_{t-i} and e_{t-j} taken as mu and 0 before the start (t - i < 0), which is what
// "conditional" means. ar and ma are the expanded lag polynomials (seasonal factors multiplied
// in), so their lengths p and q include the seasonal lags. Sequential in t by nature (an IIR
// filter), so one series is one thread.
void arma_residuals(const double* w, int64_t n, double mu, const double* ar, int64_t p, const double* ma, int64_t q,
                    double* e);

}  // namespace grimoire

namespace grimoire {

// Kalman filter of a linear Gaussian state-space model with a scalar observation (primer 7.1):
//   y_t = Z a_t + v_t,             v_t ~ N(0, h)          (Z is k, h >= 0)
//   a_{t+1} = T a_t + eta_t,      eta_t ~ N(0, RQR)       (T is k x k, RQR k x k, row-major)
// from a_0 ~ N(a0, P0). Per step: v = y_t - Z a, F = Z P Z' + h, K = P Z' / F,
//   a <- T (a + K v),  P <- T (P - K K' F) T' + RQR,
// and the exact Gaussian log-likelihood  sum_{t >= burn} -1/2 (log 2 pi + log F_t + v_t^2 / F_t).
// T of an ARIMA model is mostly zeros (companion and differencing blocks), so its non-zeros are
// listed once and both products with T cost O(nnz(T) k) instead of O(k^3).
// Outputs: v[n], F[n] (innovations and their variances), a[k], P[k*k] (the one-step-ahead
// state and covariance after the last observation, for forecasting). Returns the log-likelihood,
// or NaN if some F_t <= 0.
double kalman_filter(const double* y, int64_t n, int64_t k, const double* Z, const double* T, const double* RQR,
                     double h, const double* a0, const double* P0, int64_t burn, double* v, double* F, double* a,
                     double* P);

}  // namespace grimoire
