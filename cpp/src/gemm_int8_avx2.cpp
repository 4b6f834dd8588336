// AVX2 int8 GEMM microkernel: a 6 x 16 tile of int32 in 12 ymm accumulators. Operands were
// widened to int16 by the packing (gemm_int8.cpp); for each pair of k, vpmaddwd multiplies a
// broadcast pair of A by 16 interleaved pairs of B and sums each pair into int32: exact (the
// largest pair sum, 2 * 128 * 128, fits easily), unlike vpmaddubsw, which saturates to int16.
#include <immintrin.h>

#include "gemm_int8_kernels.h"

namespace grimoire::gemm_int8_kernels {

// a: [kg][6][2] int16, b: [kg][16][2] int16; c(i, j) += tile(i, j) for i < mr, j < nr.
void avx2_kernel(int64_t kg, const int16_t* a, const int16_t* b, int32_t* c, int64_t ldc, int mr, int nr) {
  // Twelve named accumulators (an array of __m256i would be spilled to the stack by GCC):
  // 12 + 2 for B + 1 broadcast = 15 of the 16 ymm registers.
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  auto pair = [](const int16_t* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  };
#define GRIMOIRE_ROW(r)                                             \
  {                                                                 \
    const __m256i av = pair(a + 2 * r);                             \
    c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(av, b0)); \
    c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(av, b1)); \
  }
  for (int64_t g = 0; g < kg; ++g) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
    GRIMOIRE_ROW(0) GRIMOIRE_ROW(1) GRIMOIRE_ROW(2) GRIMOIRE_ROW(3) GRIMOIRE_ROW(4) GRIMOIRE_ROW(5)
    a += kAvx2MR * 2;
    b += kAvx2NR * 2;
  }
#undef GRIMOIRE_ROW
  alignas(32) int32_t tile[kAvx2MR][kAvx2NR];
  const __m256i acc[kAvx2MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == kAvx2MR && nr == kAvx2NR) {
    for (int r = 0; r < kAvx2MR; ++r) {
      __m256i* p0 = reinterpret_cast<__m256i*>(c + r * ldc);
      __m256i* p1 = reinterpret_cast<__m256i*>(c + r * ldc + 8);
      _mm256_storeu_si256(p0, _mm256_add_epi32(_mm256_loadu_si256(p0), acc[r][0]));
      _mm256_storeu_si256(p1, _mm256_add_epi32(_mm256_loadu_si256(p1), acc[r][1]));
    }
    return;
  }
  for (int r = 0; r < kAvx2MR; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r]), acc[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r] + 8), acc[r][1]);
  }
  for (int r = 0; r < mr; ++r)
    for (int j = 0; j < nr; ++j) c[r * ldc + j] += tile[r][j];
}

}  // namespace grimoire::gemm_int8_kernels
