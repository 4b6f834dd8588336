// AVX-512 VNNI int8 GEMM microkernel: an 8 x 32 tile of int32 in 16 zmm accumulators. For each
// quad of k, vpdpbusd multiplies 4 unsigned bytes of A (packed as a + 128) by 4 signed bytes
// of each of 16 columns of B and adds the 4 products to the int32 lane; the driver
// (gemm_int8.cpp) started C at -128 * colsum(B), which removes the +128. vpdpbusd (not the
// saturating vpdpbusds) wraps modulo 2^32, so the sum is exact whenever the result fits int32.
// GCC 12 reports its own _mm512_undefined_* placeholders as maybe-uninitialized (a known false
// positive of the AVX-512 headers); nothing here reads an uninitialised value.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "gemm_int8_kernels.h"

namespace grimoire::gemm_int8_kernels {

// a: [kg][8][4] uint8, b: [kg][32][4] int8; c(i, j) += tile(i, j) for i < mr, j < nr.
void vnni_kernel(int64_t kg, const uint8_t* a, const int8_t* b, int32_t* c, int64_t ldc, int mr, int nr) {
  constexpr int MR = kVnniMR;
  __m512i acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (int64_t g = 0; g < kg; ++g) {
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t quad;
      __builtin_memcpy(&quad, a + 4 * r, 4);
      const __m512i av = _mm512_set1_epi32(quad);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
    }
    a += MR * 4;
    b += kVnniNR * 4;
  }
  for (int r = 0; r < mr; ++r) {
    // Masked loads/stores cover the edge columns.
    const __mmask16 m0 = static_cast<__mmask16>(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
    const __mmask16 m1 = static_cast<__mmask16>(nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (1u << (nr - 16)) - 1);
    int32_t* row = c + r * ldc;
    _mm512_mask_storeu_epi32(row, m0, _mm512_add_epi32(_mm512_maskz_loadu_epi32(m0, row), acc[r][0]));
    _mm512_mask_storeu_epi32(row + 16, m1, _mm512_add_epi32(_mm512_maskz_loadu_epi32(m1, row + 16), acc[r][1]));
  }
}

}  // namespace grimoire::gemm_int8_kernels
