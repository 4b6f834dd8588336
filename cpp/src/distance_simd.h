// The distance microkernel, written once over a simd_vec.h vector type V and instantiated into a
// table per ISA by distance_avx2.cpp (V = simd::Avx2) and distance_avx512.cpp (V = simd::Avx512).
// A 6 x (2 V::width) tile of dot products in 12 registers (one broadcast of x and two loads of
// the packed Y panel per step of k), then the distance epilogue on the tile in registers.
// Private to those files; no std:: templates here (see simd_vec.h).
#pragma once

#include "distance_kernels.h"
#include "simd_vec.h"

namespace grimoire::distance_detail {
namespace {

template <class V>
struct DistanceSimd {
  using R = typename V::reg;
  static constexpr int kMr = 6, kNr = 2 * static_cast<int>(V::width);

  // sqeuclidean max(xa + ya - 2 dot, 0) (rounding can go below 0), euclidean its sqrt, cosine
  // 1 - dot xa ya (xa, ya the reciprocal norms). max keeps the 0 when the sum is NaN, as the
  // scalar path's std::max(s, 0) does.
  static R finish(R dot, R xa, R ya, DistanceMetric metric) {
    if (metric == DistanceMetric::cosine) return V::fnmadd(V::mul(dot, xa), ya, V::set1(1.0f));
    const R s = V::max(V::fnmadd(V::set1(2.0f), dot, V::add(xa, ya)), V::zero());
    return metric == DistanceMetric::euclidean ? V::sqrt(s) : s;
  }

  static void store(float* d, R v, int n) {
    if (n >= V::width) V::store(d, v);
    else if (n > 0) V::store_n(d, v, n);
  }

  static void tile(const TileArgs& a) {
    constexpr int64_t W = V::width;
    R c[kMr][2];
    for (int r = 0; r < kMr; ++r) c[r][0] = c[r][1] = V::zero();
    const float* x[kMr];
    for (int r = 0; r < kMr; ++r) x[r] = a.x_rows[r];
    const float* y = a.y_panel;
    for (int64_t q = 0; q < a.k; ++q, y += kNr) {
      const R b0 = V::load(y), b1 = V::load(y + W);
      for (int r = 0; r < kMr; ++r) {
        const R v = V::set1(x[r][q]);
        c[r][0] = V::fmadd(v, b0, c[r][0]);
        c[r][1] = V::fmadd(v, b1, c[r][1]);
      }
    }
    const R ya0 = V::load(a.y_aux), ya1 = V::load(a.y_aux + W);
    const int n0 = a.cols < W ? a.cols : static_cast<int>(W), n1 = a.cols - n0;
    for (int r = 0; r < a.rows; ++r) {
      const R xa = V::set1(a.x_aux[r]);
      float* d = a.d + r * a.d_row_stride;
      store(d, finish(c[r][0], xa, ya0, a.metric), n0);
      store(d + W, finish(c[r][1], xa, ya1, a.metric), n1);
    }
  }

  static DistanceKernels table() { return {kMr, kNr, tile}; }
};

}  // namespace
}  // namespace grimoire::distance_detail
