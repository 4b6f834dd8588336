// The pool family's SIMD microkernels, written once over a vector type V (simd_vec.h) and
// instantiated by pool_avx2.cpp (V = simd::Avx2) and pool_avx512.cpp (V = simd::Avx512).
//
// A vector holds consecutive output positions o = i * OW + j of one plane, flattened across output
// rows, so a small plane (the digits CNN's 8x8 -> 4x4) fills whole vectors as well as a large one.
// Each of the KH*KW window offsets is one gather (x at corner + dh * W + dw, lanes outside the
// image masked and read as -inf or 0), visited in the scalar path's order (rows, then columns),
// so the results are bitwise the scalar path's: the max takes v when v > best or v is NaN (the
// first maximum wins ties, a NaN propagates), and the average adds in the same order and divides
// in float (exact: the divisor is an integer below 2^24, and float / float is correctly rounded as
// the scalar path's double quotient is).
#pragma once

#include <cstdint>

#include "pool_kernels.h"
#include "simd_vec.h"

namespace grimoire::pool_detail {

// The integer and mask operations the kernels need beyond simd_vec.h, per ISA.
template <class V>
struct PoolOps;

#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)
template <>
struct PoolOps<simd::Avx2> {
  using reg = __m256;
  using ireg = __m256i;
  using mask = __m256;  // all-ones lanes
  static ireg iload(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static ireg iadd(ireg a, int32_t b) { return _mm256_add_epi32(a, _mm256_set1_epi32(b)); }
  static mask lanes(int64_t n) { return _mm256_castsi256_ps(simd::Avx2::tail_mask(n)); }
  static mask all() { return _mm256_castsi256_ps(_mm256_set1_epi32(-1)); }
  // 0 <= a < lim
  static mask below(ireg a, int64_t lim) {
    const __m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(a, _mm256_set1_epi32(-1)),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(lim)), a));
    return _mm256_castsi256_ps(in);
  }
  static mask both(mask a, mask b) { return _mm256_and_ps(a, b); }
  static reg gather(const float* base, ireg idx, mask m, reg fill) { return _mm256_mask_i32gather_ps(fill, base, idx, m, 4); }
  static mask take(reg v, reg best) {  // v > best or v is NaN
    return _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  static reg blend(mask t, reg a, reg b) { return _mm256_blendv_ps(a, b, t); }  // t ? b : a
  static ireg iblend(mask t, ireg a, ireg b) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), t));
  }
  static void store_idx64(int64_t* p, ireg v, int64_t n) {  // the first n lanes, widened
    const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v));
    const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1));
    if (n == 8) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), lo);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 4), hi);
      return;
    }
    alignas(32) int64_t tmp[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), lo);
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 4), hi);
    for (int64_t l = 0; l < n; ++l) p[l] = tmp[l];
  }
};
#endif

#if defined(__AVX512F__)
template <>
struct PoolOps<simd::Avx512> {
  using reg = __m512;
  using ireg = __m512i;
  using mask = __mmask16;
  static ireg iload(const int32_t* p) { return _mm512_loadu_si512(p); }
  static ireg iadd(ireg a, int32_t b) { return _mm512_add_epi32(a, _mm512_set1_epi32(b)); }
  static mask lanes(int64_t n) { return simd::Avx512::tail_mask(n); }
  static mask all() { return static_cast<mask>(0xFFFF); }
  static mask below(ireg a, int64_t lim) {  // 0 <= a < lim, as one unsigned compare
    return _mm512_cmplt_epu32_mask(a, _mm512_set1_epi32(static_cast<int32_t>(lim)));
  }
  static mask both(mask a, mask b) { return static_cast<mask>(a & b); }
  static reg gather(const float* base, ireg idx, mask m, reg fill) { return _mm512_mask_i32gather_ps(fill, m, idx, base, 4); }
  static mask take(reg v, reg best) {
    return static_cast<mask>(_mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
  }
  static reg blend(mask t, reg a, reg b) { return _mm512_mask_blend_ps(t, a, b); }
  static ireg iblend(mask t, ireg a, ireg b) { return _mm512_mask_blend_epi32(t, a, b); }
  static void store_idx64(int64_t* p, ireg v, int64_t n) {
    const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v));
    const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1));
    const unsigned m = (1u << n) - 1u;
    _mm512_mask_storeu_epi64(p, static_cast<__mmask8>(m & 0xFFu), lo);
    _mm512_mask_storeu_epi64(p + 8, static_cast<__mmask8>(m >> 8), hi);
  }
};
#endif

template <class V>
struct PoolSimd {
  using O = PoolOps<V>;
  using reg = typename V::reg;
  using ireg = typename O::ireg;
  using mask = typename O::mask;
  static constexpr int64_t W = V::width;

  // The lanes of output block o whose window row (dh) / column (dw) lies in the image.
  static mask rows_in(const PoolPlan& p, int64_t o, int64_t dh, mask live) {
    return p.padded ? O::both(live, O::below(O::iadd(O::iload(p.row0 + o), static_cast<int32_t>(dh)), p.s->h)) : live;
  }
  static mask cols_in(const PoolPlan& p, int64_t o, int64_t dw, mask row) {
    return p.padded ? O::both(row, O::below(O::iadd(O::iload(p.col0 + o), static_cast<int32_t>(dw)), p.s->w)) : row;
  }

  static void max_planes(const PoolPlan& p, const float* x, float* y, int64_t* indices, int64_t begin, int64_t end) {
    const Pool2dShape& s = *p.s;
    const reg ninf = V::set1(-__builtin_inff());
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * s.h * s.w;
      for (int64_t o = 0; o < p.outs; o += W) {
        const int64_t n = p.outs - o < W ? p.outs - o : W;
        const mask live = n == W ? O::all() : O::lanes(n);
        const ireg corner = O::iload(p.corner + o);
        reg best = ninf;
        ireg arg = O::iload(p.first + o);
        for (int64_t dh = 0; dh < s.kh; ++dh) {
          const mask row = rows_in(p, o, dh, live);
          for (int64_t dw = 0; dw < s.kw; ++dw) {
            const ireg pos = O::iadd(corner, static_cast<int32_t>(dh * s.w + dw));
            const reg v = O::gather(xp, pos, cols_in(p, o, dw, row), ninf);
            const mask t = O::take(v, best);
            best = O::blend(t, best, v);
            arg = O::iblend(t, arg, pos);
          }
        }
        V::store_n(y + pl * p.outs + o, best, n);
        O::store_idx64(indices + pl * p.outs + o, arg, n);
      }
    }
  }

  static void avg_planes(const PoolPlan& p, const float* x, float* y, int64_t begin, int64_t end) {
    const Pool2dShape& s = *p.s;
    const reg zero = V::zero();
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * s.h * s.w;
      for (int64_t o = 0; o < p.outs; o += W) {
        const int64_t n = p.outs - o < W ? p.outs - o : W;
        const mask live = n == W ? O::all() : O::lanes(n);
        const ireg corner = O::iload(p.corner + o);
        reg sum = zero;
        for (int64_t dh = 0; dh < s.kh; ++dh) {
          const mask row = rows_in(p, o, dh, live);
          for (int64_t dw = 0; dw < s.kw; ++dw) {
            const ireg pos = O::iadd(corner, static_cast<int32_t>(dh * s.w + dw));
            sum = V::add(sum, O::gather(xp, pos, cols_in(p, o, dw, row), zero));
          }
        }
        V::store_n(y + pl * p.outs + o, V::div(sum, V::load(p.divisor + o)), n);
      }
    }
  }

  static PoolKernels table() { return {&max_planes, &avg_planes}; }
};

}  // namespace grimoire::pool_detail
