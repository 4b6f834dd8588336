// k-means (primer 4.2.1) assignment step, and coordinate descent for the elastic net (3.3):
// the two hot loops of grimoire.ml that are not trees.
#pragma once

#include <cstdint>

namespace grimoire {

// Lloyd's assignment step. x is (n, d) C-contiguous, x_sqnorm (n) holds ||x_i||^2, centers (k, d).
// Squared distances by the GEMM trick ||x||^2 - 2 x.c + ||c||^2 (clamped at 0), computed in
// blocks of rows (one GEMM per block, multithreaded over blocks). Writes labels (n) and the
// squared distance to the nearest centre (n); when sums (k, d) and weights_out (k) are not null it
// also accumulates sum_i w_i x_i and sum_i w_i per cluster (the update step's numerators), w = 1 if
// null. Returns sum_i w_i min_dist_i (the inertia).
double kmeans_assign(const double* x, const double* x_sqnorm, int64_t n, int64_t d, const double* centers,
                     int64_t k, const double* w, int32_t* labels, double* min_dist, double* sums,
                     double* weights_out);

// Squared distances out (n, m) from the rows of x (n, d) to the rows of c (m, d), by the same
// trick (||x||^2 - 2 x.c + ||c||^2, clamped at 0); threads over rows. For k-means++ seeding.
void pairwise_sq_distances(const double* x, const double* x_sqnorm, int64_t n, int64_t d, const double* c,
                           int64_t m, double* out);

// Coordinate descent for the elastic net (Friedman, Hastie & Tibshirani 2010):
//   min_w  1/2 ||y - X w||^2 + l1 ||w||_1 + l2/2 ||w||^2
// X is (n, d) column-major (column j at x + j * n), y (n), w (d) the warm start, updated in place.
// Sweeps until max |dw_j| <= tol * max |w_j| and then the duality gap <= tol * ||y||^2 (sklearn's
// rule), or max_iter sweeps. positive: w >= 0. Returns the sweeps done; *gap gets the last gap.
int64_t enet_coordinate_descent(const double* x, int64_t n, int64_t d, const double* y, double* w, double l1,
                                double l2, int64_t max_iter, double tol, bool positive, double* gap);

}  // namespace grimoire
