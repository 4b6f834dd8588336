// Special functions behind grimoire.stats (primer 2.4), element-wise over float64 arrays.
//
// Each takes n contiguous values per argument (the Python layer broadcasts) and writes n results;
// the loop is shared out over the threads (parallel_for). Domain errors give NaN (the Python
// layer refuses them first with a message), NaN propagates.
//   gammaln:  log |Gamma(x)|
//   gammainc: P(a, x) = gamma(a, x) / Gamma(a) (upper = false) or Q(a, x) = 1 - P(a, x), each
//             computed directly: the series below a + 1, the continued fraction above
//   betainc:  I_x(a, b), by its continued fraction, with I_x(a, b) = 1 - I_{1-x}(b, a)
//   ndtr:     Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal cdf
//   ndtri:    Phi^-1(q): Acklam's rational approximation and two Halley steps (rel. error ~1e-15)
#pragma once

#include <cstdint>

namespace grimoire {

void gammaln(const double* x, double* out, int64_t n);
void gammainc(const double* a, const double* x, double* out, int64_t n, bool upper);
void betainc(const double* a, const double* b, const double* x, double* out, int64_t n);
void ndtr(const double* x, double* out, int64_t n);
void ndtri(const double* q, double* out, int64_t n);

}  // namespace grimoire
