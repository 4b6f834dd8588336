// UMAP layout (primer 4.2.2): stochastic gradient descent on the fuzzy-set cross entropy with
// negative sampling (McInnes, Healy & Melville 2018).
//
//   attraction along an edge (j, k):  dC/dy_j = -2ab d^(2(b-1)) / (1 + a d^2b) (y_j - y_k)
//   repulsion from a random k:         dC/dy_j =  2b / ((0.001 + d^2)(1 + a d^2b)) (y_j - y_k)
// each gradient coordinate clipped to [-4, 4], learning rate alpha decaying linearly to 0.
#pragma once

#include <cstdint>

namespace grimoire {

struct UmapParams {
  int64_t n_epochs = 200;
  double a = 1.577, b = 0.8951, gamma = 1.0, initial_alpha = 1.0, negative_sample_rate = 5.0;
  uint64_t seed = 0;
  bool move_other = true;  // false when embedding new points against a fixed training embedding
};

// Edges head[e] -> tail[e] (E), sampled every epochs_per_sample[e] epochs. head rows index
// y (n, dim), tail rows index y_tail (n_tail, dim) (the same array when fitting). Sequential and
// deterministic for a seed.
void umap_optimize(const int64_t* head, const int64_t* tail, const double* epochs_per_sample, int64_t n_edges,
                   double* y, int64_t n, double* y_tail, int64_t n_tail, int64_t dim, const UmapParams& p);

}  // namespace grimoire
