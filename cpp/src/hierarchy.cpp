// NN-chain agglomerative clustering (see hierarchy.h); scalar reference path.
//
// Lance-Williams updates for the merged cluster (x u y) and any other cluster i (sizes n_x, n_y, n_i):
//   single   d = min(d_xi, d_yi)            complete d = max(d_xi, d_yi)
//   average  d = (n_x d_xi + n_y d_yi) / (n_x + n_y)
//   ward     d = sqrt(((n_i + n_x) d_xi^2 + (n_i + n_y) d_yi^2 - n_i d_xy^2) / (n_x + n_y + n_i))
// All four are reducible, so the nearest-neighbour chain finds the same merges as the naive O(n^3)
// algorithm in O(n^2) time.
#include "grimoire/hierarchy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {
const bool registered = (register_family("hierarchy", {Isa::scalar}), true);

inline int64_t cidx(int64_t n, int64_t i, int64_t j) {
  if (i > j) std::swap(i, j);
  return n * i - i * (i + 1) / 2 + j - i - 1;
}
}  // namespace

// Shape: x (n, d) -> out (n (n-1) / 2).
void pdist_euclidean(const double* x, int64_t n, int64_t d, double* out) {
  parallel_for(n, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const double* xi = x + i * d;
      double* row = out + cidx(n, i, i + 1 < n ? i + 1 : i);
      for (int64_t j = i + 1; j < n; ++j) {
        const double* xj = x + j * d;
        double s = 0;
        for (int64_t f = 0; f < d; ++f) {
          const double t = xi[f] - xj[f];
          s += t * t;
        }
        row[j - i - 1] = std::sqrt(s);
      }
    }
  });
}

// Shape: dist (n (n-1) / 2) -> z (n-1, 4).
void nn_chain_linkage(double* dist, int64_t n, Linkage method, double* z) {
  std::vector<int64_t> size(n, 1), chain;
  chain.reserve(n);
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k + 1 < n; ++k) {
    if (interrupted()) return;  // Ctrl-C: z is left unfinished, the binding raises
    if (chain.empty()) {
      for (int64_t i = 0; i < n; ++i)
        if (size[i] > 0) { chain.push_back(i); break; }
    }
    int64_t x = 0, y = 0;
    double best = inf;
    while (true) {
      x = chain.back();
      if (chain.size() > 1) {
        y = chain[chain.size() - 2];
        best = dist[cidx(n, x, y)];
      } else {
        best = inf;
      }
      for (int64_t i = 0; i < n; ++i) {
        if (size[i] == 0 || i == x) continue;
        const double dd = dist[cidx(n, x, i)];
        if (dd < best) {
          best = dd;
          y = i;
        }
      }
      if (chain.size() > 1 && y == chain[chain.size() - 2]) break;
      chain.push_back(y);
    }
    chain.pop_back();
    chain.pop_back();
    if (x > y) std::swap(x, y);
    const double nx = static_cast<double>(size[x]), ny = static_cast<double>(size[y]);
    z[k * 4 + 0] = static_cast<double>(x);
    z[k * 4 + 1] = static_cast<double>(y);
    z[k * 4 + 2] = best;
    z[k * 4 + 3] = nx + ny;
    size[x] = 0;
    size[y] = static_cast<int64_t>(nx + ny);
    for (int64_t i = 0; i < n; ++i) {
      if (size[i] == 0 || i == y) continue;
      const double ni = static_cast<double>(size[i]);
      const double dx = dist[cidx(n, i, x)], dy = dist[cidx(n, i, y)];
      double nd;
      switch (method) {
        case Linkage::single: nd = std::min(dx, dy); break;
        case Linkage::complete: nd = std::max(dx, dy); break;
        case Linkage::average: nd = (nx * dx + ny * dy) / (nx + ny); break;
        default: {
          const double t = ((ni + nx) * dx * dx + (ni + ny) * dy * dy - ni * best * best) / (nx + ny + ni);
          nd = std::sqrt(std::max(0.0, t));
        }
      }
      dist[cidx(n, i, y)] = nd;
    }
  }
}

}  // namespace grimoire
