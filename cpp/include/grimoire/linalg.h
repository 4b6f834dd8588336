// Dense symmetric eigen- and singular-value decompositions (primer 2.2.4, 2.2.5). float64, row-major.
//
// eigh_symmetric: A = Z diag(w) Z^T for a symmetric (n, n) A, of which only the lower triangle
//   is read. Blocked Householder reduction to a tridiagonal T = Q^T A Q (LAPACK sytrd/latrd: a
//   panel of 32 reflectors is accumulated and the trailing triangle takes the rank-64 update on
//   the GEMM), Q^T formed blockwise in WY form on the GEMM, then the implicit QL iteration with
//   Wilkinson shifts on T. The QL rotations are recorded and replayed on column blocks of Q^T
//   that stay in L2. Eigenvalues ascending; Z's columns are the eigenvectors. a (n, n) is
//   overwritten; w is (n,); z is (n, n) or null for eigenvalues only. Returns false if an
//   eigenvalue failed to converge or on Ctrl-C.
//
// svd_bidiagonal: A = U diag(s) V^T for an (m, n) A with m >= n. Blocked Householder
//   bidiagonalisation A = Q B P^T (LAPACK gebrd/labrd, trailing update on the GEMM), Q and P
//   formed blockwise in WY form, then the implicit-shift Golub-Kahan QR iteration on the upper
//   bidiagonal B (zero diagonal entries chased out, as in LAPACK bdsqr), its rotations replayed
//   on column blocks of Q^T and P^T. s is (n,) descending, >= 0. a is overwritten. u is (m, n)
//   (or (m, m) when full, the extra columns completing the basis) and vt (n, n), both null for
//   singular values only. Returns false if the iteration failed to converge or on Ctrl-C.
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
bool svd_bidiagonal(int64_t m, int64_t n, double* a, double* s, double* u, bool full, double* vt);
int jacobi_svd_sweeps(int64_t n, int64_t m, double* bt, int64_t nv, double* vt, int max_sweeps, double tol);

}  // namespace grimoire
