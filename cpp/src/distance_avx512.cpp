// Pairwise distances, AVX-512 microkernel: a 6 x 32 tile of dot products in 12 zmm
// accumulators, the same scheme as distance_avx2.cpp with twice the lanes.
#include <immintrin.h>

#include <algorithm>

#include "grimoire/distance.h"

namespace grimoire::distance_detail {

namespace {
inline __m512 finish16(__m512 dot, __m512 xa, __m512 ya, DistanceMetric metric) {
  if (metric == DistanceMetric::cosine)
    return _mm512_fnmadd_ps(_mm512_mul_ps(dot, xa), ya, _mm512_set1_ps(1.0f));
  __m512 s = _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), dot, _mm512_add_ps(xa, ya));
  s = _mm512_max_ps(s, _mm512_setzero_ps());
  return metric == DistanceMetric::euclidean ? _mm512_sqrt_ps(s) : s;
}
}  // namespace

void tile_avx512(const TileArgs& a) {
  constexpr int MR = kMrAvx512, NR = kNrAvx512;
  __m512 c[MR][2];
  for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_ps();
  const float* y = a.y_panel;
  for (int64_t q = 0; q < a.k; ++q, y += NR) {
    const __m512 b0 = _mm512_loadu_ps(y), b1 = _mm512_loadu_ps(y + 16);
    for (int r = 0; r < MR; ++r) {
      const __m512 v = _mm512_set1_ps(a.x_rows[r][q]);
      c[r][0] = _mm512_fmadd_ps(v, b0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(v, b1, c[r][1]);
    }
  }
  const __m512 ya0 = _mm512_loadu_ps(a.y_aux), ya1 = _mm512_loadu_ps(a.y_aux + 16);
  alignas(64) float out[NR];
  for (int r = 0; r < a.rows; ++r) {
    const __m512 xa = _mm512_set1_ps(a.x_aux[r]);
    _mm512_store_ps(out, finish16(c[r][0], xa, ya0, a.metric));
    _mm512_store_ps(out + 16, finish16(c[r][1], xa, ya1, a.metric));
    std::copy(out, out + a.cols, a.d + r * a.d_row_stride);
  }
}

}  // namespace grimoire::distance_detail
