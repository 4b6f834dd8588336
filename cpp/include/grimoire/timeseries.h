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
