#include "grimoire/graph.h"

#include <algorithm>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

// splitmix64: a small, well-mixed generator; one stream per walk.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t below(int64_t n) { return static_cast<int64_t>(uniform() * static_cast<double>(n)); }
};

// A neighbour of v drawn by edge weight (or uniformly); returns its position in indices.
int64_t draw_neighbour(const CsrGraph& g, int64_t v, SplitMix64& rng) {
  const int64_t begin = g.indptr[v], end = g.indptr[v + 1];
  if (g.cumulative_weights == nullptr) return begin + rng.below(end - begin);
  const double total = g.cumulative_weights[end - 1];
  const double target = rng.uniform() * total;
  const double* pos = std::upper_bound(g.cumulative_weights + begin, g.cumulative_weights + end, target);
  return std::min<int64_t>(pos - g.cumulative_weights, end - 1);
}

bool is_neighbour(const CsrGraph& g, int64_t t, int64_t x) {
  return std::binary_search(g.indices + g.indptr[t], g.indices + g.indptr[t + 1], x);
}

void one_walk(const CsrGraph& g, int64_t start, int64_t walk_length, double p, double q, uint64_t stream,
              int64_t* out) {
  SplitMix64 rng{stream};
  const bool second_order = p != 1.0 || q != 1.0;
  const double inv_p = 1.0 / p, inv_q = 1.0 / q;
  const double alpha_max = std::max({inv_p, 1.0, inv_q});
  int64_t prev = -1, cur = start;
  int64_t step = 0;
  out[step++] = cur;
  for (; step < walk_length; ++step) {
    if (g.indptr[cur] == g.indptr[cur + 1]) break;  // a dead end
    int64_t next;
    if (!second_order || prev < 0) {
      next = g.indices[draw_neighbour(g, cur, rng)];
    } else {
      for (;;) {  // rejection sampling against the node2vec bias
        const int64_t x = g.indices[draw_neighbour(g, cur, rng)];
        const double alpha = x == prev ? inv_p : (is_neighbour(g, prev, x) ? 1.0 : inv_q);
        if (rng.uniform() * alpha_max < alpha) {
          next = x;
          break;
        }
      }
    }
    prev = cur;
    cur = next;
    out[step] = cur;
  }
  for (; step < walk_length; ++step) out[step] = -1;
}

const bool registered = (register_family("graph", {Isa::scalar}), true);

}  // namespace

void random_walks(const CsrGraph& g, const int64_t* starts, int64_t n_walks, int64_t walk_length, double p,
                  double q, uint64_t seed, int64_t* out) {
  parallel_for(n_walks, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      SplitMix64 mix{seed ^ (0xd1b54a32d192ed03ULL * static_cast<uint64_t>(i + 1))};
      one_walk(g, starts[i], walk_length, p, q, mix.next(), out + i * walk_length);
    }
  });
}

void spmm_csr(const CsrGraph& a, int64_t n_cols, const float* values, const float* x, int64_t x_row_stride,
              int64_t n_features, float* y) {
  (void)n_cols;
  const int64_t nnz = a.indptr[a.n_nodes];
  const int64_t work_per_row = std::max<int64_t>(1, (nnz / std::max<int64_t>(a.n_nodes, 1)) * n_features);
  parallel_for(a.n_nodes, std::max<int64_t>(1, 16384 / work_per_row), [&](int64_t begin, int64_t end) {
    for (int64_t v = begin; v < end; ++v) {
      float* yv = y + v * n_features;
      std::fill(yv, yv + n_features, 0.0f);
      for (int64_t e = a.indptr[v]; e < a.indptr[v + 1]; ++e) {
        const float w = values ? values[e] : 1.0f;
        const float* xu = x + a.indices[e] * x_row_stride;
        for (int64_t f = 0; f < n_features; ++f) yv[f] += w * xu[f];  // vectorised by the compiler
      }
    }
  });
}

}  // namespace grimoire
