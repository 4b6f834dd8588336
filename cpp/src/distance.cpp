// Pairwise distances: the scalar reference and the driver (packing, blocking, threads).
// The (mr x nr) microkernels: distance_simd.h, one table per ISA (distance_kernels.h).
#include "grimoire/distance.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "distance_kernels.h"
#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

using distance_detail::TileArgs;

template <typename T>
T finish(T dot, T xa, T ya, DistanceMetric metric) {
  if (metric == DistanceMetric::cosine) return T(1) - dot * xa * ya;
  T s = std::max(xa + ya - T(2) * dot, T(0));
  return metric == DistanceMetric::euclidean ? std::sqrt(s) : s;
}

// Per-row auxiliary value: ||r||^2 for the euclidean metrics, 1/||r|| for cosine.
template <typename T>
void row_aux(const T* base, int64_t rows, int64_t stride, int64_t k, DistanceMetric metric, T* out) {
  parallel_for(rows, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* r = base + i * stride;
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += double(r[p]) * double(r[p]);
      if (metric == DistanceMetric::cosine) out[i] = s > 0 ? T(1.0 / std::sqrt(s)) : T(1);
      else out[i] = T(s);
    }
  });
}

// The Gram form ||x||^2 + ||y||^2 - 2 x.y loses the leading digits of ||x - y||^2 when that is
// small beside ||x||^2 + ||y||^2 (rows near 1e4 that are 0.01 apart come out up to 8.0 apart in
// float32), and ||x||^2 itself overflows float32 for entries beyond ~1e19. Every pair whose Gram
// result is below kGramTrust of the norms' sum (or not a number) is recomputed in the direct
// form sum_q (x_q - y_q)^2, accumulated in double, which does not cancel.
constexpr double kGramTrust = 1.0 / 128;

template <typename T, typename Aux>
void refine_near_pairs(const DistanceParams<T>& p, const Aux* xa, const Aux* ya) {
  if (p.metric == DistanceMetric::cosine) return;
  const bool root = p.metric == DistanceMetric::euclidean;
  parallel_for(p.m, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* xi = p.x + i * p.x_row_stride;
      for (int64_t j = 0; j < p.n; ++j) {
        T& d = p.d[i * p.d_row_stride + j];
        const double s = root ? static_cast<double>(d) * d : static_cast<double>(d);
        if (s >= kGramTrust * (static_cast<double>(xa[i]) + static_cast<double>(ya[j]))) continue;
        const T* yj = p.y + j * p.y_row_stride;
        double acc = 0.0;
        for (int64_t q = 0; q < p.k; ++q) {
          const double t = static_cast<double>(xi[q]) - static_cast<double>(yj[q]);
          acc += t * t;
        }
        d = static_cast<T>(root ? std::sqrt(acc) : acc);
      }
    }
  });
}

template <typename T>
void zero_diagonal(const DistanceParams<T>& p) {
  if (!p.same_input) return;
  for (int64_t i = 0; i < std::min(p.m, p.n); ++i) p.d[i * p.d_row_stride + i] = T(0);
}

template <typename T>
void reference(const DistanceParams<T>& p) {
  if (p.m <= 0 || p.n <= 0) return;
  std::vector<T> xa(p.m), ya(p.n);
  row_aux(p.x, p.m, p.x_row_stride, p.k, p.metric, xa.data());
  row_aux(p.y, p.n, p.y_row_stride, p.k, p.metric, ya.data());
  parallel_for(p.m, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* xi = p.x + i * p.x_row_stride;
      for (int64_t j = 0; j < p.n; ++j) {
        const T* yj = p.y + j * p.y_row_stride;
        T dot = 0;
        for (int64_t q = 0; q < p.k; ++q) dot += xi[q] * yj[q];
        p.d[i * p.d_row_stride + j] = finish(dot, xa[i], ya[j], p.metric);
      }
    }
  });
  refine_near_pairs(p, xa.data(), ya.data());
  zero_diagonal(p);
}

// The blocked driver: Y is packed once into (k, NR) panels (zero-padded), rows of X are split
// among threads, and each thread walks Y in blocks that stay in L2 while it sweeps its rows.
void blocked(const DistanceParams<float>& p, const distance_detail::DistanceKernels& kernels) {
  const int mr = kernels.mr, nr = kernels.nr;
  if (p.m <= 0 || p.n <= 0) return;
  const int64_t k = p.k;
  const int64_t panels = (p.n + nr - 1) / nr;
  std::vector<float> xa(p.m), ya(panels * nr, 0.0f);
  row_aux(p.x, p.m, p.x_row_stride, k, p.metric, xa.data());
  row_aux(p.y, p.n, p.y_row_stride, k, p.metric, ya.data());
  std::vector<float> packed(static_cast<size_t>(panels) * nr * std::max<int64_t>(k, 1), 0.0f);
  parallel_for(panels, 8, [&](int64_t b, int64_t e) {
    for (int64_t jp = b; jp < e; ++jp) {
      float* dst = packed.data() + jp * nr * k;
      for (int c = 0; c < nr; ++c) {
        const int64_t j = jp * nr + c;
        if (j >= p.n) break;
        const float* src = p.y + j * p.y_row_stride;
        for (int64_t q = 0; q < k; ++q) dst[q * nr + c] = src[q];
      }
    }
  });
  // Y block: as many panels as fit in ~256 KiB.
  const int64_t panel_bytes = nr * std::max<int64_t>(k, 1) * 4;
  const int64_t block_panels = std::max<int64_t>(1, (256 * 1024) / panel_bytes);
  const int64_t row_tiles = (p.m + mr - 1) / mr;
  parallel_for(row_tiles, 4, [&](int64_t tb, int64_t te) {
    const float* rows[8];
    // Rows in chunks of 16 tiles so the chunk of X stays in L1/L2 while a Y block is swept.
    for (int64_t tc = tb; tc < te; tc += 16) {
      const int64_t tc_end = std::min(te, tc + 16);
      for (int64_t pb = 0; pb < panels; pb += block_panels) {
        const int64_t pb_end = std::min(panels, pb + block_panels);
        for (int64_t t = tc; t < tc_end; ++t) {
          const int64_t i0 = t * mr;
          const int nrows = static_cast<int>(std::min<int64_t>(mr, p.m - i0));
          for (int r = 0; r < mr; ++r) rows[r] = p.x + (i0 + std::min(r, nrows - 1)) * p.x_row_stride;
          for (int64_t jp = pb; jp < pb_end; ++jp) {
            const int64_t j0 = jp * nr;
            TileArgs a;
            a.k = k;
            a.x_rows = rows;
            a.y_panel = packed.data() + jp * nr * k;
            a.rows = nrows;
            a.cols = static_cast<int>(std::min<int64_t>(nr, p.n - j0));
            a.x_aux = xa.data() + i0;
            a.y_aux = ya.data() + j0;
            a.d = p.d + i0 * p.d_row_stride + j0;
            a.d_row_stride = p.d_row_stride;
            a.metric = p.metric;
            kernels.tile(a);
          }
        }
      }
    }
  });
  refine_near_pairs(p, xa.data(), ya.data());
  zero_diagonal(p);
}

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("distance", kPaths), true);

}  // namespace

void pairwise_distances_reference(const DistanceParams<float>& p) { reference(p); }
void pairwise_distances_reference(const DistanceParams<double>& p) { reference(p); }
void pairwise_distances(const DistanceParams<double>& p) { reference(p); }
void pairwise_distances(const DistanceParams<float>& p) {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return blocked(p, distance_detail::kernels_avx512);
    case Isa::avx2: return blocked(p, distance_detail::kernels_avx2);
    default: return reference(p);
  }
}

}  // namespace grimoire
