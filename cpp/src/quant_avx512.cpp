// AVX-512 spans of the quant families: 16 float32 lanes, the same integer rounding as the scalar
// reference (quant.cpp), which also handles the tails. Narrowing with vpmovdb / vpmovdw.
// GCC 12 reports its own _mm512_undefined_* placeholders as maybe-uninitialized (a known false
// positive of the AVX-512 headers); nothing here reads an uninitialised value.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "quant_simd.h"

namespace grimoire::quant_simd {

namespace {

void quantize_int8(const float* x, int8_t* q, int64_t n, float inv_scale, int32_t zero_point, int32_t qmin,
                   int32_t qmax) {
  const __m512 inv = _mm512_set1_ps(inv_scale), lim = _mm512_set1_ps(1e9f), nlim = _mm512_set1_ps(-1e9f);
  const __m512i lo = _mm512_set1_epi32(qmin), hi = _mm512_set1_epi32(qmax);
  const __m512 zpf = _mm512_set1_ps(static_cast<float>(zero_point));
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(_mm512_loadu_ps(x + i), inv, zpf), nlim), lim);
    const __m512i r = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(v), lo), hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtepi32_epi8(r));
  }
  scalar::quantize_int8(x + i, q + i, n - i, inv_scale, zero_point, qmin, qmax);
}

void dequantize_int8(const int8_t* q, float* x, int64_t n, float scale, int32_t zero_point) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i zp = _mm512_set1_epi32(zero_point);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i)));
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, zp)), s));
  }
  scalar::dequantize_int8(q + i, x + i, n - i, scale, zero_point);
}

void to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate) {
  const Fp8Spec& s = fp8_spec(fmt);
  const int shift = 23 - s.mbits;
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
  const __m512i min_normal = _mm512_set1_epi32(static_cast<int>(s.min_normal_bits));
  const __m512i round_half_m1 = _mm512_set1_epi32((1 << (shift - 1)) - 1), one = _mm512_set1_epi32(1);
  const __m512i expoff = _mm512_set1_epi32((127 - s.bias) << s.mbits);
  const __m512i max_code = _mm512_set1_epi32(static_cast<int>(s.max_code));
  const __m512i overflow = _mm512_set1_epi32(static_cast<int>(saturate ? s.max_code : s.overflow_nosat));
  const __m512i inf_code = _mm512_set1_epi32(static_cast<int>(saturate ? s.inf_sat : s.inf_nosat));
  const __m512i nan_code = _mm512_set1_epi32(static_cast<int>(s.nan_code)), sign_bit = _mm512_set1_epi32(0x80);
  const __m512 subnormal_scale = _mm512_set1_ps(s.subnormal_scale);
  const __m128i sh = _mm_cvtsi32_si128(shift);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i u = _mm512_loadu_si512(x + i);
    const __m512i a = _mm512_and_si512(u, abs_mask);
    const __m512i sign = _mm512_and_si512(_mm512_srli_epi32(u, 24), sign_bit);
    const __m512i lsb = _mm512_and_si512(_mm512_srl_epi32(a, sh), one);
    const __m512i r = _mm512_srl_epi32(_mm512_add_epi32(_mm512_add_epi32(a, round_half_m1), lsb), sh);
    __m512i code = _mm512_sub_epi32(r, expoff);
    const __m512i sub = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_castsi512_ps(a), subnormal_scale));
    code = _mm512_mask_mov_epi32(code, _mm512_cmplt_epi32_mask(a, min_normal), sub);
    code = _mm512_mask_mov_epi32(code, _mm512_cmpgt_epi32_mask(code, max_code), overflow);
    code = _mm512_mask_mov_epi32(code, _mm512_cmpeq_epi32_mask(a, inf), inf_code);
    code = _mm512_mask_mov_epi32(code, _mm512_cmpgt_epi32_mask(a, inf), nan_code);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi32_epi8(_mm512_or_si512(code, sign)));
  }
  scalar::to_fp8(x + i, out + i, n - i, fmt, saturate);
}

void to_bf16(const float* x, uint16_t* out, int64_t n) {
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
  const __m512i round = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1), qnan = _mm512_set1_epi32(0x7FC0);
  const __m512i sign_bit = _mm512_set1_epi32(0x8000);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i u = _mm512_loadu_si512(x + i);
    const __m512i hi = _mm512_srli_epi32(u, 16);
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, round), _mm512_and_si512(hi, one)), 16);
    const __m512i nan = _mm512_or_si512(_mm512_and_si512(hi, sign_bit), qnan);
    r = _mm512_mask_mov_epi32(r, _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_mask), inf), nan);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(r));
  }
  scalar::to_bf16(x + i, out + i, n - i);
}

void from_bf16(const uint16_t* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    _mm512_storeu_si512(out + i, _mm512_slli_epi32(v, 16));
  }
  scalar::from_bf16(x + i, out + i, n - i);
}

}  // namespace

extern const QuantKernels kernels_avx512 = {&quantize_int8, &QuantSimd<simd::Avx512>::min_max, &dequantize_int8,
                                          &to_fp8, &to_bf16, &from_bf16};

}  // namespace grimoire::quant_simd
