// Support vector machines (primer 4.1.2): the SMO solver of the C-SVC dual, LIBSVM style.
//
//   min_a  1/2 a^T Q a - e^T a   s.t.  0 <= a_i <= C_i,  y^T a = 0,   Q_ij = y_i y_j K(x_i, x_j)
//
// Working-set selection with second-order information (Fan, Chen & Lin 2005, LIBSVM's WSS3), the
// two-variable analytic update with clipping, and an LRU cache of kernel columns.
#pragma once

#include <cstdint>

namespace grimoire {

enum class SvmKernel : int { linear = 0, poly = 1, rbf = 2, sigmoid = 3 };

struct SvmParams {
  SvmKernel kernel = SvmKernel::rbf;
  double gamma = 1.0, coef0 = 0.0;
  int degree = 3;
  double tol = 1e-3;          // stop when m(a) - M(a) < tol (the maximal KKT violation)
  int64_t max_iter = -1;      // -1: no limit
  int64_t cache_bytes = 200 << 20;
};

// x (n, d) C-contiguous, y (n) in {-1, +1}, c (n) per-sample upper bounds C_i > 0.
// Writes alpha (n); returns the iterations done; *rho gets the offset (decision = sum y_i a_i K - rho).
int64_t svm_smo_solve(const double* x, int64_t n, int64_t d, const double* y, const double* c,
                      const SvmParams& p, double* alpha, double* rho);

// Kernel matrix K (m, s) between rows a (m, d) and rows b (s, d), multithreaded over rows of a.
void svm_kernel_matrix(const double* a, int64_t m, const double* b, int64_t s, int64_t d, const SvmParams& p,
                       double* out);

// Linear SVM by dual coordinate descent (Hsieh et al. 2008, LIBLINEAR's solver without shrinking):
//   min_w 1/2 ||w||^2 + sum_i c_i l(y_i w.x_i),  l = hinge (max(0, 1 - z)) or squared hinge.
// x (n, d), y (n) in {-1, +1}, c (n) >= 0; writes w (d). Sweeps in a random order (seeded) until
// max PG - min PG <= tol or max_iter sweeps; returns the sweeps done.
int64_t linear_svm_dcd(const double* x, int64_t n, int64_t d, const double* y, const double* c, bool hinge,
                       int64_t max_iter, double tol, uint64_t seed, double* w);

}  // namespace grimoire
