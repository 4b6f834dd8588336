// Thin float32 (and float64: Avx2F64, Avx512F64) vector types per ISA, so one templated microkernel serves AVX2 and AVX-512.
//
// Included only by *_avx2.cpp / *_avx512.cpp sources. Each struct exists only in the TUs compiled
// for its ISA (Avx2 where __AVX2__ but not __AVX512F__, Avx512 where __AVX512F__), and kernels
// templated on it get that struct in their mangled name: an AVX-512 instantiation can never be
// picked by the linker for an AVX2 caller. Keep std:: templates out of code templated on these
// (std::max<float> compiled with -mavx512f is the same symbol as in a scalar TU).
//
// Tails: load_n/store_n move the first n (< width) lanes, masked, so a row of any length runs
// through the same loop body; inactive lanes load as 0 (or `fill`).
//
// Avx2 / Avx512 hold float32 lanes; Avx2F64 / Avx512F64 the same operations on float64 lanes (the
// subset the float64 kernels use). `value` is the lane type, so a kernel templated on V knows it.
#pragma once

#include <immintrin.h>

#include <cstdint>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 reduce/extract intrinsics build on _mm256_undefined_*(), which it then reports
// as "used uninitialized" (a false positive in its own headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace grimoire::simd {

// Cephes-style expf constants, shared by both widths. exp(x) = 2^n * p(r), r = x - n ln2.
// Valid for x <= 88 (callers pass x - max <= 0); x < -87.33 gives exactly 0; NaN stays NaN;
// x > 88 gives +inf (exp(88) is 1.65e38, within 2.1x of FLT_MAX: an input there is an overflow, and
// +inf must not come back finite, as the scalar path's expf would not).
struct ExpConst {
  static constexpr float hi = 88.0f, lo = -87.33654475f;
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float c1 = 0.693359375f, c2 = -2.12194440e-4f;
  static constexpr float p0 = 1.9875691500e-4f, p1 = 1.3981999507e-3f, p2 = 8.3334519073e-3f;
  static constexpr float p3 = 4.1665795894e-2f, p4 = 1.6666665459e-1f, p5 = 5.0000001201e-1f;
};

#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)
struct Avx2 {
  using reg = __m256;
  using value = float;
  static constexpr int64_t width = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }  // a broadcast load
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static __m256i tail_mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg load_n(const float* p, int64_t n) { return _mm256_maskload_ps(p, tail_mask(n)); }
  static reg load_n(const float* p, int64_t n, float fill) {
    const __m256i m = tail_mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store_n(float* p, reg v, int64_t n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
  // Non-temporal store (p aligned to 32 bytes); fence() orders them before the data is shared.
  static void stream(float* p, reg v) { _mm256_stream_ps(p, v); }
  static void fence() { _mm_sfence(); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }    // a*b + c
  static reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a*b
  static reg sqrt(reg a) { return _mm256_sqrt_ps(a); }
  // max/min return the second operand when either is NaN: pass the data second to keep NaN.
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  // max that keeps a NaN from either operand (std::max's NaN in its first operand included).
  static reg max_nan(reg a, reg b) { return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); }
  static reg abs(reg a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  // |mag| with the sign bit of `sign` (std::copysign).
  static reg copysign(reg mag, reg sign) {
    const reg s = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sign));
  }
  static float hsum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // Horizontal min of lanes without NaN (minps's order; for data already checked finite).
  static float hmin(reg v) {
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // NaN-propagating horizontal max (any NaN lane gives NaN).
  static float hmax(reg v) {
    __m128 s = _mm256_castps256_ps128(v), t = _mm256_extractf128_ps(v, 1);
    __m128 nan = _mm_cmpunord_ps(s, t);
    s = _mm_max_ps(s, t);
    __m128 u = _mm_movehl_ps(s, s);
    nan = _mm_or_ps(nan, _mm_cmpunord_ps(s, u));
    s = _mm_max_ps(s, u);
    u = _mm_movehdup_ps(s);
    nan = _mm_or_ps(nan, _mm_cmpunord_ps(s, u));
    s = _mm_max_ps(s, u);
    if (_mm_movemask_ps(nan)) return __builtin_nanf("");
    return _mm_cvtss_f32(s);
  }
  static reg exp(reg x) {
    using C = ExpConst;
    const reg xc = _mm256_max_ps(_mm256_set1_ps(C::lo), _mm256_min_ps(_mm256_set1_ps(C::hi), x));
    const reg n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(C::log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C::c1), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C::c2), r);
    reg y = _mm256_set1_ps(C::p0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(C::p1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(C::p2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(C::p3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(C::p4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(C::p5));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
    const reg under = _mm256_cmp_ps(x, _mm256_set1_ps(C::lo), _CMP_LT_OQ);
    const reg over = _mm256_cmp_ps(x, _mm256_set1_ps(C::hi), _CMP_GT_OQ);
    return _mm256_blendv_ps(_mm256_blendv_ps(y, _mm256_setzero_ps(), under), _mm256_set1_ps(__builtin_inff()), over);
  }
};
// float64 lanes for the linear-algebra kernels (dot, axpy, plane rotations) and the float64 GEMM.
struct Avx2F64 {
  using reg = __m256d;
  using value = double;
  static constexpr int64_t width = 4;
  static reg zero() { return _mm256_setzero_pd(); }
  static reg set1(double x) { return _mm256_set1_pd(x); }
  static reg bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, reg v) { _mm256_storeu_pd(p, v); }
  static __m256i tail_mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static reg load_n(const double* p, int64_t n) { return _mm256_maskload_pd(p, tail_mask(n)); }
  static void store_n(double* p, reg v, int64_t n) { _mm256_maskstore_pd(p, tail_mask(n), v); }
  static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }    // a*b + c
  static reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_pd(a, b, c); }  // c - a*b
  static reg fmsub(reg a, reg b, reg c) { return _mm256_fmsub_pd(a, b, c); }    // a*b - c
  static double hsum(reg v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};
#endif

#if defined(__AVX512F__)
struct Avx512 {
  using reg = __m512;
  using value = float;
  static constexpr int64_t width = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  // A broadcast load: set1 of a memory operand, which the compiler folds into an FMA's {1to16}.
  static reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static reg load_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
  static reg load_n(const float* p, int64_t n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p);
  }
  static void store_n(float* p, reg v, int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
  static void stream(float* p, reg v) { _mm512_stream_ps(p, v); }  // p aligned to 64 bytes
  static void fence() { _mm_sfence(); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static reg sqrt(reg a) { return _mm512_sqrt_ps(a); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max_nan(reg a, reg b) {
    return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
  }
  static reg abs(reg a) { return _mm512_abs_ps(a); }
  static reg copysign(reg mag, reg sign) {  // integer logic: _mm512_and_ps needs AVX512DQ
    const __m512i s = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(s, _mm512_castps_si512(mag)),
                                               _mm512_and_si512(s, _mm512_castps_si512(sign))));
  }
  static float hsum(reg v) { return _mm512_reduce_add_ps(v); }
  static float hmin(reg v) { return _mm512_reduce_min_ps(v); }
  static float hmax(reg v) {
    if (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q)) return __builtin_nanf("");
    return _mm512_reduce_max_ps(v);
  }
  static reg exp(reg x) {
    using C = ExpConst;
    const reg xc = _mm512_max_ps(_mm512_set1_ps(C::lo), _mm512_min_ps(_mm512_set1_ps(C::hi), x));
    const reg n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(C::log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg r = _mm512_fnmadd_ps(n, _mm512_set1_ps(C::c1), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(C::c2), r);
    reg y = _mm512_set1_ps(C::p0);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(C::p1));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(C::p2));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(C::p3));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(C::p4));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(C::p5));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    y = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
    const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(C::lo), _CMP_LT_OQ);
    const __mmask16 over = _mm512_cmp_ps_mask(x, _mm512_set1_ps(C::hi), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(over, _mm512_mask_blend_ps(under, y, _mm512_setzero_ps()), _mm512_set1_ps(__builtin_inff()));
  }
};
// float64 lanes (linear algebra, the float64 GEMM).
struct Avx512F64 {
  using reg = __m512d;
  using value = double;
  static constexpr int64_t width = 8;
  static reg zero() { return _mm512_setzero_pd(); }
  static reg set1(double x) { return _mm512_set1_pd(x); }
  static reg bcast(const double* p) { return _mm512_set1_pd(*p); }
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, reg v) { _mm512_storeu_pd(p, v); }
  static __mmask8 tail_mask(int64_t n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static reg load_n(const double* p, int64_t n) { return _mm512_maskz_loadu_pd(tail_mask(n), p); }
  static void store_n(double* p, reg v, int64_t n) { _mm512_mask_storeu_pd(p, tail_mask(n), v); }
  static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_pd(a, b, c); }
  static reg fmsub(reg a, reg b, reg c) { return _mm512_fmsub_pd(a, b, c); }
  static double hsum(reg v) { return _mm512_reduce_add_pd(v); }
};
#endif

}  // namespace grimoire::simd
