#include "grimoire/timeseries.h"

#include "grimoire/cpu.h"

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
const bool registered = (register_family("timeseries", {Isa::scalar}), true);
}

}  // namespace grimoire
