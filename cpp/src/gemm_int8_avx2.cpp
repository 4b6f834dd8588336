// AVX2 int8 GEMM microkernel: a 3 x 32 tile of int32 in 12 ymm accumulators. Operands were
// widened to int16 by the packing (gemm_int8.cpp); for each pair of k, vpmaddwd multiplies a
// broadcast pair of A by 32 interleaved pairs of B and sums each pair into int32: exact (the
// largest pair sum, 2 * 128 * 128, fits easily), unlike vpmaddubsw, which saturates to int16.
// Each k pair costs 12 vpmaddwd + 12 vpaddd whatever the tile; 3 x 32 needs 3 broadcasts of A
// where 6 x 16 needed 6 (measured on Zen 5: 1.73-1.78x sgemm against 1.68-1.78x for 6 x 16).
#include <immintrin.h>

#include "gemm_int8_kernels.h"

namespace grimoire::gemm_int8_kernels {

// a: [kg][3][2] int16, b: [kg][32][2] int16; c(i, j) += tile(i, j) for i < mr, j < nr.
void avx2_kernel(int64_t kg, const int16_t* a, const int16_t* b, int32_t* c, int64_t ldc, int mr, int nr) {
  static_assert(kAvx2MR == 3 && kAvx2NR == 32, "the accumulators below are a 3 x (4 x 8) tile");
  // Twelve named accumulators (an array of __m256i would be spilled to the stack by GCC):
  // 12 + 4 for B would need 16 registers and one for the broadcast, so B's last vector is
  // reloaded from L1 for each row (a load, no ALU slot).
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00;
  __m256i c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;
  auto pair = [](const int16_t* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  };
  auto load = [](const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
#define GRIMOIRE_ROW(r)                                                   \
  {                                                                       \
    const __m256i av = pair(a + 2 * r);                                   \
    c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(av, b0));       \
    c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(av, b1));       \
    c##r##2 = _mm256_add_epi32(c##r##2, _mm256_madd_epi16(av, b2));       \
    c##r##3 = _mm256_add_epi32(c##r##3, _mm256_madd_epi16(av, load(b + 48))); \
  }
  for (int64_t g = 0; g < kg; ++g) {
    const __m256i b0 = load(b), b1 = load(b + 16), b2 = load(b + 32);
    GRIMOIRE_ROW(0) GRIMOIRE_ROW(1) GRIMOIRE_ROW(2)
    a += kAvx2MR * 2;
    b += kAvx2NR * 2;
  }
#undef GRIMOIRE_ROW
  alignas(32) int32_t tile[kAvx2MR][kAvx2NR];
  const __m256i acc[kAvx2MR][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}};
  if (mr == kAvx2MR && nr == kAvx2NR) {
    for (int r = 0; r < kAvx2MR; ++r)
      for (int v = 0; v < 4; ++v) {
        __m256i* p = reinterpret_cast<__m256i*>(c + r * ldc + 8 * v);
        _mm256_storeu_si256(p, _mm256_add_epi32(_mm256_loadu_si256(p), acc[r][v]));
      }
    return;
  }
  for (int r = 0; r < kAvx2MR; ++r)
    for (int v = 0; v < 4; ++v) _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r] + 8 * v), acc[r][v]);
  for (int r = 0; r < mr; ++r)
    for (int j = 0; j < nr; ++j) c[r * ldc + j] += tile[r][j];
}

}  // namespace grimoire::gemm_int8_kernels
