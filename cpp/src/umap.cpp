// UMAP's SGD layout (see umap.h); scalar reference path, sequential like umap-learn's default
// deterministic mode (edges update shared rows, so a parallel loop would race).
#include "grimoire/umap.h"

#include "grimoire/parallel.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "grimoire/cpu.h"

namespace grimoire {

namespace {
const bool registered = (register_family("umap", {Isa::scalar}), true);
inline double clip4(double v) { return std::max(-4.0, std::min(4.0, v)); }
}  // namespace

// Shape: edges (E), y (n, dim) in place, y_tail (n_tail, dim).
void umap_optimize(const int64_t* head, const int64_t* tail, const double* epochs_per_sample, int64_t n_edges,
                   double* y, int64_t n, double* y_tail, int64_t n_tail, int64_t dim, const UmapParams& p) {
  (void)n;
  std::vector<double> next_sample(epochs_per_sample, epochs_per_sample + n_edges), per_neg(n_edges), next_neg(n_edges);
  for (int64_t e = 0; e < n_edges; ++e) {
    per_neg[e] = epochs_per_sample[e] / p.negative_sample_rate;
    next_neg[e] = per_neg[e];
  }
  std::mt19937_64 rng(p.seed);
  const double a = p.a, b = p.b;
  for (int64_t epoch = 0; epoch < p.n_epochs; ++epoch) {
    if (interrupted()) return;  // Ctrl-C: Y is left mid-way, the binding raises
    const double alpha = p.initial_alpha * (1.0 - static_cast<double>(epoch) / static_cast<double>(p.n_epochs));
    const double ep = static_cast<double>(epoch);
    for (int64_t e = 0; e < n_edges; ++e) {
      if (next_sample[e] > ep) continue;
      const int64_t j = head[e], k = tail[e];
      double* cur = y + j * dim;
      double* oth = y_tail + k * dim;
      double d2 = 0;
      for (int64_t c = 0; c < dim; ++c) d2 += (cur[c] - oth[c]) * (cur[c] - oth[c]);
      if (d2 > 0) {
        const double coeff = -2.0 * a * b * std::pow(d2, b - 1.0) / (a * std::pow(d2, b) + 1.0);
        for (int64_t c = 0; c < dim; ++c) {
          const double g = clip4(coeff * (cur[c] - oth[c]));
          cur[c] += g * alpha;
          if (p.move_other) oth[c] -= g * alpha;
        }
      }
      next_sample[e] += epochs_per_sample[e];
      const int64_t n_neg = static_cast<int64_t>((ep - next_neg[e]) / per_neg[e]);
      for (int64_t s = 0; s < n_neg; ++s) {
        const int64_t r = static_cast<int64_t>(rng() % static_cast<uint64_t>(n_tail));
        const double* o = y_tail + r * dim;
        double dd = 0;
        for (int64_t c = 0; c < dim; ++c) dd += (cur[c] - o[c]) * (cur[c] - o[c]);
        double coeff;
        if (dd > 0) coeff = 2.0 * p.gamma * b / ((0.001 + dd) * (a * std::pow(dd, b) + 1.0));
        else if (p.move_other && r == j) continue;
        else coeff = 0.0;
        for (int64_t c = 0; c < dim; ++c) {
          const double g = coeff > 0 ? clip4(coeff * (cur[c] - o[c])) : 4.0;
          cur[c] += g * alpha;
        }
      }
      next_neg[e] += static_cast<double>(n_neg) * per_neg[e];
    }
  }
}

}  // namespace grimoire
