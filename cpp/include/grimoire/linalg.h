// Dense eigen- and singular-value iterations (primer 2.2.4, 2.2.5). float64, row-major.
//
// eigh_symmetric: A = Z diag(w) Z^T for a symmetric (n, n) A. Householder reduction to a
//   tridiagonal T = Q^T A Q (4/3 n^3 flops), then the implicit QL iteration with Wilkinson
//   shifts on T, each Givens rotation applied to the eigenvector matrix (about 3 n^2 flops per
//   iteration, about 2n iterations). Eigenvalues ascending; Z's columns are the eigenvectors.
//   a (n, n) is overwritten; w is (n,); z is (n, n) or null for eigenvalues only.
//   Returns false if an eigenvalue failed to converge in 60 iterations.
//
// jacobi_svd_sweeps: one-sided (Hestenes) Jacobi. bt (n, m) holds the n columns of B as rows;
//   vt (n, nv) the columns of V as rows. Pairs of columns (i, j) are rotated until every pair
//   is orthogonal to tol: |b_i . b_j| <= tol ||b_i|| ||b_j||. Afterwards B = U diag(s) with
//   s_i = ||b_i||, and the same rotations have been applied to V. Pairs of a round-robin round
//   are disjoint and run in parallel. Returns the sweeps used (max_sweeps + 1 if not converged).
#pragma once

#include <cstdint>

namespace grimoire {

bool eigh_symmetric(int64_t n, double* a, double* w, double* z);
int jacobi_svd_sweeps(int64_t n, int64_t m, double* bt, int64_t nv, double* vt, int max_sweeps, double tol);

namespace linalg_detail {
// The same loops compiled twice: plain (linalg.cpp) and with AVX2/FMA (linalg_avx2.cpp), and
// with AVX-512 (linalg_avx512.cpp); the driver picks one with isa_for.
#define GRIMOIRE_LINALG_DECLARE(ns)                                                           \
  namespace ns {                                                                              \
  bool eigh_symmetric(int64_t n, double* a, double* w, double* z);                            \
  int jacobi_svd_sweeps(int64_t n, int64_t m, double* bt, int64_t nv, double* vt, int max_sweeps, \
                        double tol);                                                          \
  }
GRIMOIRE_LINALG_DECLARE(scalar)
GRIMOIRE_LINALG_DECLARE(avx2)
GRIMOIRE_LINALG_DECLARE(avx512)
#undef GRIMOIRE_LINALG_DECLARE
}  // namespace linalg_detail

}  // namespace grimoire
