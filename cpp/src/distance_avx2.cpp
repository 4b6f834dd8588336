// Pairwise distances, AVX2+FMA microkernel: a 6 x 16 tile of dot products in 12 ymm
// accumulators (one broadcast of x and two loads of the packed Y panel per step of k),
// then the distance epilogue on the tile in registers.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "grimoire/distance.h"

namespace grimoire::distance_detail {

namespace {
inline __m256 finish8(__m256 dot, __m256 xa, __m256 ya, DistanceMetric metric) {
  if (metric == DistanceMetric::cosine)
    return _mm256_fnmadd_ps(_mm256_mul_ps(dot, xa), ya, _mm256_set1_ps(1.0f));
  __m256 s = _mm256_fnmadd_ps(_mm256_set1_ps(2.0f), dot, _mm256_add_ps(xa, ya));
  s = _mm256_max_ps(s, _mm256_setzero_ps());
  return metric == DistanceMetric::euclidean ? _mm256_sqrt_ps(s) : s;
}
}  // namespace

void tile_avx2(const TileArgs& a) {
  constexpr int MR = kMrAvx2, NR = kNrAvx2;
  __m256 c[MR][2];
  for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm256_setzero_ps();
  const float* y = a.y_panel;
  const float* x0 = a.x_rows[0];
  const float* x1 = a.x_rows[1];
  const float* x2 = a.x_rows[2];
  const float* x3 = a.x_rows[3];
  const float* x4 = a.x_rows[4];
  const float* x5 = a.x_rows[5];
  for (int64_t q = 0; q < a.k; ++q, y += NR) {
    const __m256 b0 = _mm256_loadu_ps(y), b1 = _mm256_loadu_ps(y + 8);
    __m256 v;
    v = _mm256_broadcast_ss(x0 + q); c[0][0] = _mm256_fmadd_ps(v, b0, c[0][0]); c[0][1] = _mm256_fmadd_ps(v, b1, c[0][1]);
    v = _mm256_broadcast_ss(x1 + q); c[1][0] = _mm256_fmadd_ps(v, b0, c[1][0]); c[1][1] = _mm256_fmadd_ps(v, b1, c[1][1]);
    v = _mm256_broadcast_ss(x2 + q); c[2][0] = _mm256_fmadd_ps(v, b0, c[2][0]); c[2][1] = _mm256_fmadd_ps(v, b1, c[2][1]);
    v = _mm256_broadcast_ss(x3 + q); c[3][0] = _mm256_fmadd_ps(v, b0, c[3][0]); c[3][1] = _mm256_fmadd_ps(v, b1, c[3][1]);
    v = _mm256_broadcast_ss(x4 + q); c[4][0] = _mm256_fmadd_ps(v, b0, c[4][0]); c[4][1] = _mm256_fmadd_ps(v, b1, c[4][1]);
    v = _mm256_broadcast_ss(x5 + q); c[5][0] = _mm256_fmadd_ps(v, b0, c[5][0]); c[5][1] = _mm256_fmadd_ps(v, b1, c[5][1]);
  }
  const __m256 ya0 = _mm256_loadu_ps(a.y_aux), ya1 = _mm256_loadu_ps(a.y_aux + 8);
  if (a.cols == NR) {
    for (int r = 0; r < a.rows; ++r) {
      const __m256 xa = _mm256_set1_ps(a.x_aux[r]);
      float* d = a.d + r * a.d_row_stride;
      _mm256_storeu_ps(d, finish8(c[r][0], xa, ya0, a.metric));
      _mm256_storeu_ps(d + 8, finish8(c[r][1], xa, ya1, a.metric));
    }
    return;
  }
  alignas(32) float out[NR];
  for (int r = 0; r < a.rows; ++r) {
    const __m256 xa = _mm256_set1_ps(a.x_aux[r]);
    _mm256_store_ps(out, finish8(c[r][0], xa, ya0, a.metric));
    _mm256_store_ps(out + 8, finish8(c[r][1], xa, ya1, a.metric));
    std::copy(out, out + a.cols, a.d + r * a.d_row_stride);
  }
}

}  // namespace grimoire::distance_detail
