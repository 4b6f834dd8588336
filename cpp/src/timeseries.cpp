#include "grimoire/timeseries.h"

#include "grimoire/cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace grimoire {

void arma_residuals(const double* w, int64_t n, double mu, const double* ar, int64_t p, const double* ma, int64_t q,
                    double* e) {
  for (int64_t t = 0; t < n; ++t) {
    double r = w[t] - mu;
    for (int64_t i = 1; i <= p && i <= t; ++i) r -= ar[i - 1] * (w[t - i] - mu);
    for (int64_t j = 1; j <= q && j <= t; ++j) r -= ma[j - 1] * e[t - j];
    e[t] = r;
  }
}

namespace {

struct Entry {
  int64_t row, col;
  double value;
};

std::vector<Entry> nonzeros(const double* m, int64_t k) {
  std::vector<Entry> out;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      if (m[i * k + j] != 0.0) out.push_back({i, j, m[i * k + j]});
  return out;
}

}  // namespace

double kalman_filter(const double* y, int64_t n, int64_t k, const double* Z, const double* T, const double* RQR,
                     double h, const double* a0, const double* P0, int64_t burn, double* v, double* F, double* a,
                     double* P) {
  // y is (n,), Z (k,), T, RQR, P0, P (k, k) row-major; a0, a (k,).
  const std::vector<Entry> t_nz = nonzeros(T, k);
  std::vector<double> pz(k), filt(k), tp(k * k);
  for (int64_t i = 0; i < k; ++i) a[i] = a0[i];
  for (int64_t i = 0; i < k * k; ++i) P[i] = P0[i];
  const double log_2pi = std::log(2.0 * M_PI);
  double loglik = 0.0;
  for (int64_t t = 0; t < n; ++t) {
    double za = 0.0;
    for (int64_t i = 0; i < k; ++i) za += Z[i] * a[i];
    for (int64_t i = 0; i < k; ++i) {
      double s = 0.0;
      for (int64_t j = 0; j < k; ++j) s += P[i * k + j] * Z[j];
      pz[i] = s;
    }
    double f = h;
    for (int64_t i = 0; i < k; ++i) f += Z[i] * pz[i];
    const double innov = y[t] - za;
    v[t] = innov;
    F[t] = f;
    if (!(f > 0.0)) {
      // No likelihood past a variance <= 0 (or NaN): the remaining innovations, their variances and
      // the final state are NaN too, never the output buffers' uninitialised memory.
      std::fill(v + t + 1, v + n, NAN);
      std::fill(F + t + 1, F + n, NAN);
      std::fill(a, a + k, NAN);
      std::fill(P, P + k * k, NAN);
      return NAN;
    }
    if (t >= burn) loglik -= 0.5 * (log_2pi + std::log(f) + innov * innov / f);
    // filtered state and covariance: a + P Z' v / F, P - P Z' Z P / F
    for (int64_t i = 0; i < k; ++i) filt[i] = a[i] + pz[i] * innov / f;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) P[i * k + j] -= pz[i] * pz[j] / f;
    // predict: a = T filt; P = T P T' + RQR, each product with T over its non-zeros
    for (int64_t i = 0; i < k; ++i) a[i] = 0.0;
    for (const Entry& e : t_nz) a[e.row] += e.value * filt[e.col];
    for (int64_t i = 0; i < k * k; ++i) tp[i] = 0.0;
    for (const Entry& e : t_nz)
      for (int64_t j = 0; j < k; ++j) tp[e.row * k + j] += e.value * P[e.col * k + j];
    for (int64_t i = 0; i < k * k; ++i) P[i] = RQR[i];
    for (int64_t r = 0; r < k; ++r)
      for (const Entry& e : t_nz) P[r * k + e.row] += e.value * tp[r * k + e.col];
  }
  return loglik;
}

namespace {
const bool registered = (register_family("timeseries", {Isa::scalar}), true);
}

}  // namespace grimoire
