// t-SNE (primer 4.2.2): perplexity calibration and the Barnes-Hut gradient descent loop.
//
//   p_j|i = exp(-beta_i d_ij^2) / sum_k exp(-beta_i d_ik^2),  beta_i by binary search so that
//           2^H(P_i) = perplexity;   P = (P_j|i + P_i|j) / (2n)
//   q_ij = (1 + ||y_i - y_j||^2)^-1 / Z
//   dC/dy_i = 4 sum_j (p_ij - q_ij) (1 + ||y_i - y_j||^2)^-1 (y_i - y_j)
// The repulsive part is approximated with a quadtree (a cell of width w at distance r stands for
// all its points when w / r < theta).
#pragma once

#include <cstdint>

namespace grimoire {

// dist2 (n, k): squared distances to each row's k nearest neighbours -> p (n, k) conditional
// probabilities with the given perplexity (binary search on beta, 100 steps, tol 1e-5).
void tsne_binary_search(const double* dist2, int64_t n, int64_t k, double perplexity, double* p);

struct TsneParams {
  int64_t max_iter = 1000, exaggeration_iter = 250;
  double early_exaggeration = 12.0, learning_rate = 200.0, theta = 0.5, min_gain = 0.01;
  double momentum_early = 0.5, momentum_late = 0.8;
};

// P as CSR (indptr (n+1), indices (nnz), values (nnz), symmetric, summing to 1); y (n, 2) the
// initial embedding, updated in place. Returns the KL divergence of the final embedding
// (with the Barnes-Hut estimate of Z); theta = 0 gives the exact gradient.
double tsne_optimize(const int64_t* indptr, const int64_t* indices, const double* values, int64_t n,
                     double* y, const TsneParams& p);

}  // namespace grimoire
