// AVX2 spans of the quant families: 8 float32 lanes, the same integer rounding as the scalar
// reference (quant.cpp), which also handles the tails; min_max is quant_simd.h's, over simd::Avx2.
#include <immintrin.h>

#include "quant_simd.h"

namespace grimoire::quant_simd {

namespace {


// Narrow 4 vectors of int32 in [0, 255] (or [-128, 127] with signed packs) to 32 bytes in order.
inline __m256i narrow_u8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packus_epi32(a, b), cd = _mm256_packus_epi32(c, d);
  return _mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}
inline __m256i narrow_s8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

struct Fp8Consts {
  __m256i abs_mask, min_normal, round_half_m1, expoff, max_code, overflow, inf_bits, inf_code, nan_code, one;
  __m256 subnormal_scale;
  int shift;
};

inline Fp8Consts fp8_consts(Fp8Format fmt, bool saturate) {
  const Fp8Spec& s = fp8_spec(fmt);
  Fp8Consts k;
  k.shift = 23 - s.mbits;
  k.abs_mask = _mm256_set1_epi32(0x7FFFFFFF);
  k.min_normal = _mm256_set1_epi32(static_cast<int>(s.min_normal_bits));
  k.round_half_m1 = _mm256_set1_epi32((1 << (k.shift - 1)) - 1);
  k.expoff = _mm256_set1_epi32((127 - s.bias) << s.mbits);
  k.max_code = _mm256_set1_epi32(static_cast<int>(s.max_code));
  k.overflow = _mm256_set1_epi32(static_cast<int>(saturate ? s.max_code : s.overflow_nosat));
  k.inf_bits = _mm256_set1_epi32(0x7F800000);
  k.inf_code = _mm256_set1_epi32(static_cast<int>(saturate ? s.inf_sat : s.inf_nosat));
  k.nan_code = _mm256_set1_epi32(static_cast<int>(s.nan_code));
  k.one = _mm256_set1_epi32(1);
  k.subnormal_scale = _mm256_set1_ps(s.subnormal_scale);
  return k;
}

// 8 float32 -> 8 fp8 codes as int32 lanes (see to_fp8_ref for the steps).
inline __m256i fp8_encode(__m256 x, const Fp8Consts& k) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i a = _mm256_and_si256(u, k.abs_mask);
  const __m256i sign = _mm256_and_si256(_mm256_srli_epi32(u, 24), _mm256_set1_epi32(0x80));
  const __m128i sh = _mm_cvtsi32_si128(k.shift);
  // normal: round the mantissa on the bits, rebias
  const __m256i lsb = _mm256_and_si256(_mm256_srl_epi32(a, sh), k.one);
  const __m256i r = _mm256_srl_epi32(_mm256_add_epi32(_mm256_add_epi32(a, k.round_half_m1), lsb), sh);
  const __m256i normal = _mm256_sub_epi32(r, k.expoff);
  // subnormal: |x| in units of the smallest subnormal, rounded to nearest even (MXCSR default)
  const __m256i sub = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_castsi256_ps(a), k.subnormal_scale));
  const __m256i is_sub = _mm256_cmpgt_epi32(k.min_normal, a);
  __m256i code = _mm256_blendv_epi8(normal, sub, is_sub);
  code = _mm256_blendv_epi8(code, k.overflow, _mm256_cmpgt_epi32(code, k.max_code));
  code = _mm256_blendv_epi8(code, k.inf_code, _mm256_cmpeq_epi32(a, k.inf_bits));
  code = _mm256_blendv_epi8(code, k.nan_code, _mm256_cmpgt_epi32(a, k.inf_bits));
  return _mm256_or_si256(code, sign);
}

void quantize_int8(const float* x, int8_t* q, int64_t n, float inv_scale, int32_t zero_point, int32_t qmin,
                   int32_t qmax) {
  const __m256 inv = _mm256_set1_ps(inv_scale), lim = _mm256_set1_ps(1e9f), nlim = _mm256_set1_ps(-1e9f);
  const __m256i lo = _mm256_set1_epi32(qmin), hi = _mm256_set1_epi32(qmax);
  const __m256 zpf = _mm256_set1_ps(static_cast<float>(zero_point));
  auto one = [&](const float* p) {
    const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(p), inv, zpf), nlim), lim);
    return _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v), lo), hi);
  };
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i),
                        narrow_s8(one(x + i), one(x + i + 8), one(x + i + 16), one(x + i + 24)));
  scalar::quantize_int8(x + i, q + i, n - i, inv_scale, zero_point, qmin, qmax);
}

void dequantize_int8(const int8_t* q, float* x, int64_t n, float scale, int32_t zero_point) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i zp = _mm256_set1_epi32(zero_point);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i)));
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zp)), s));
  }
  scalar::dequantize_int8(q + i, x + i, n - i, scale, zero_point);
}

void to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate) {
  const Fp8Consts k = fp8_consts(fmt, saturate);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i c0 = fp8_encode(_mm256_loadu_ps(x + i), k), c1 = fp8_encode(_mm256_loadu_ps(x + i + 8), k);
    const __m256i c2 = fp8_encode(_mm256_loadu_ps(x + i + 16), k), c3 = fp8_encode(_mm256_loadu_ps(x + i + 24), k);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), narrow_u8(c0, c1, c2, c3));
  }
  scalar::to_fp8(x + i, out + i, n - i, fmt, saturate);
}

void to_bf16(const float* x, uint16_t* out, int64_t n) {
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
  const __m256i round = _mm256_set1_epi32(0x7FFF), one = _mm256_set1_epi32(1), qnan = _mm256_set1_epi32(0x7FC0);
  const __m256i sign_bit = _mm256_set1_epi32(0x8000);
  auto one8 = [&](const float* p) {
    const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_srli_epi32(u, 16);
    const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, round), _mm256_and_si256(hi, one)), 16);
    const __m256i nan = _mm256_or_si256(_mm256_and_si256(hi, sign_bit), qnan);
    return _mm256_blendv_epi8(r, nan, _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf));
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i packed = _mm256_packus_epi32(one8(x + i), one8(x + i + 8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permute4x64_epi64(packed, 0xD8));
  }
  scalar::to_bf16(x + i, out + i, n - i);
}

void from_bf16(const uint16_t* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_slli_epi32(v, 16));
  }
  scalar::from_bf16(x + i, out + i, n - i);
}

}  // namespace

extern const QuantKernels kernels_avx2 = {&quantize_int8, &QuantSimd<simd::Avx2>::min_max, &dequantize_int8,
                                          &to_fp8, &to_bf16, &from_bf16};

}  // namespace grimoire::quant_simd
