// AVX-512 VNNI int8 GEMM microkernel: an 8 x 32 tile of int32 in 16 zmm accumulators. For each
// quad of k, vpdpbusd multiplies 4 unsigned bytes of A (packed as a + 128) by 4 signed bytes
// of each of 16 columns of B and adds the 4 products to the int32 lane; the driver
// (gemm_int8.cpp) subtracts 128 * colsum(B) (vnni_colsum), which removes the +128. vpdpbusd
// (not the saturating vpdpbusds) wraps modulo 2^32, so the sum is exact whenever the result fits
// int32.
// GCC 12 reports its own _mm512_undefined_* placeholders as maybe-uninitialized (a known false
// positive of the AVX-512 headers); nothing here reads an uninitialised value.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "gemm_int8_kernels.h"

namespace grimoire::gemm_int8_kernels {

namespace {

// c[0:nr] += v (masked past nr, 0 <= nr <= 16).
inline void add_row(int32_t* c, __m512i v, int nr) {
  const __mmask16 m = static_cast<__mmask16>(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
  _mm512_mask_storeu_epi32(c, m, _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, c), v));
}

}  // namespace

// a: [kg][8][4] uint8, b: [kg][32][4] int8; c(i, j) += tile(i, j) for i < mr, j < nr.
void vnni_kernel(int64_t kg, const uint8_t* a, const int8_t* b, int32_t* c, int64_t ldc, int mr, int nr) {
  static_assert(kVnniMR == 8 && kVnniNR == 32, "the accumulators below are an 8 x (2 x 16) tile");
  // Sixteen named accumulators: GCC 12 keeps an array of __m512i updated by vpdpbusd in memory
  // (two stores and ~30 register moves per k quad), named ones stay in zmm registers.
  __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
          c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  auto quad = [](const uint8_t* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  };
#define GRIMOIRE_ROW(r)                                  \
  {                                                      \
    const __m512i av = quad(a + 4 * r);                  \
    c##r##0 = _mm512_dpbusd_epi32(c##r##0, av, b0);      \
    c##r##1 = _mm512_dpbusd_epi32(c##r##1, av, b1);      \
  }
  for (int64_t g = 0; g < kg; ++g) {
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = _mm512_loadu_si512(b + 64);
    GRIMOIRE_ROW(0) GRIMOIRE_ROW(1) GRIMOIRE_ROW(2) GRIMOIRE_ROW(3)
    GRIMOIRE_ROW(4) GRIMOIRE_ROW(5) GRIMOIRE_ROW(6) GRIMOIRE_ROW(7)
    a += kVnniMR * 4;
    b += kVnniNR * 4;
  }
#undef GRIMOIRE_ROW
  const __m512i acc[kVnniMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                                   {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  const int nr0 = nr < 16 ? nr : 16, nr1 = nr > 16 ? nr - 16 : 0;
  for (int r = 0; r < mr; ++r) {
    add_row(c + r * ldc, acc[r][0], nr0);
    add_row(c + r * ldc + 16, acc[r][1], nr1);
  }
}

// sums[j] += sum over the panel's k of b(k, j), j < 32: vpdpbusd against bytes of ones.
void vnni_colsum(int64_t kg, const int8_t* b, int32_t* sums) {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i s0 = _mm512_setzero_si512(), s1 = s0;
  for (int64_t g = 0; g < kg; ++g, b += kVnniNR * 4) {
    s0 = _mm512_dpbusd_epi32(s0, ones, _mm512_loadu_si512(b));
    s1 = _mm512_dpbusd_epi32(s1, ones, _mm512_loadu_si512(b + 64));
  }
  add_row(sums, s0, 16);
  add_row(sums + 16, s1, 16);
}

}  // namespace grimoire::gemm_int8_kernels
