// AVX2 int8 GEMM microkernel: a 6 x 16 tile of int32 in 12 ymm accumulators. Operands were
// widened to int16 by the packing (gemm_int8.cpp); for each pair of k, vpmaddwd multiplies a
// broadcast pair of A by 16 interleaved pairs of B and sums each pair into int32: exact (the
// largest pair sum, 2 * 128 * 128, fits easily), unlike vpmaddubsw, which saturates to int16.
#include <immintrin.h>

#include "gemm_int8_kernels.h"

namespace grimoire::gemm_int8_kernels {

// a: [kg][6][2] int16, b: [kg][16][2] int16; c(i, j) += tile(i, j) for i < mr, j < nr.
void avx2_kernel(int64_t kg, const int16_t* a, const int16_t* b, int32_t* c, int64_t ldc, int mr, int nr) {
  constexpr int MR = kAvx2MR;
  __m256i acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t g = 0; g < kg; ++g) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      __builtin_memcpy(&pair, a + 2 * r, 4);
      const __m256i av = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
    a += MR * 2;
    b += kAvx2NR * 2;
  }
  if (mr == MR && nr == kAvx2NR) {
    for (int r = 0; r < MR; ++r) {
      __m256i* c0 = reinterpret_cast<__m256i*>(c + r * ldc);
      __m256i* c1 = reinterpret_cast<__m256i*>(c + r * ldc + 8);
      _mm256_storeu_si256(c0, _mm256_add_epi32(_mm256_loadu_si256(c0), acc[r][0]));
      _mm256_storeu_si256(c1, _mm256_add_epi32(_mm256_loadu_si256(c1), acc[r][1]));
    }
    return;
  }
  alignas(32) int32_t tile[MR][kAvx2NR];
  for (int r = 0; r < MR; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r]), acc[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r] + 8), acc[r][1]);
  }
  for (int r = 0; r < mr; ++r)
    for (int j = 0; j < nr; ++j) c[r * ldc + j] += tile[r][j];
}

}  // namespace grimoire::gemm_int8_kernels
