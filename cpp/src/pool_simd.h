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
  static reg gather(const float* base, ireg idx, mask m, reg fill) {
    return _mm256_mask_i32gather_ps(fill, base, idx, m, 4);
  }
  static mask take(reg v, reg best) {  // v > best or v is NaN
    return _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  static reg blend(mask t, reg a, reg b) { return _mm256_blendv_ps(a, b, t); }  // t ? b : a
  // g's lanes into the even lanes of lo:hi (16 lanes), zeros between.
  static void spread(reg g, reg& lo, reg& hi) {
    const reg ul = _mm256_unpacklo_ps(g, _mm256_setzero_ps()), uh = _mm256_unpackhi_ps(g, _mm256_setzero_ps());
    lo = _mm256_permute2f128_ps(ul, uh, 0x20);
    hi = _mm256_permute2f128_ps(ul, uh, 0x31);
  }
  // Lanes 0, 2, 4, .. of the 16 values a:b, in order.
  static reg evens(reg a, reg b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
  }
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
  static reg gather(const float* base, ireg idx, mask m, reg fill) {
    return _mm512_mask_i32gather_ps(fill, m, idx, base, 4);
  }
  static mask take(reg v, reg best) {
    return static_cast<mask>(_mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
  }
  static reg blend(mask t, reg a, reg b) { return _mm512_mask_blend_ps(t, a, b); }
  static void spread(reg g, reg& lo, reg& hi) {  // g's lanes into the even lanes of lo:hi
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);  // 16: a zero
    const __m512i ih = _mm512_setr_epi32(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
    lo = _mm512_permutex2var_ps(g, il, _mm512_setzero_ps());
    hi = _mm512_permutex2var_ps(g, ih, _mm512_setzero_ps());
  }
  static reg evens(reg a, reg b) {  // lanes 0, 2, .., 30 of the 32 values a:b
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  }
  static ireg iblend(mask t, ireg a, ireg b) { return _mm512_mask_blend_epi32(t, a, b); }
  static void store_idx64(int64_t* p, ireg v, int64_t n) {
    const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v));
    const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1));
    if (n == 16) {  // whole vectors need no mask
      _mm512_storeu_si512(p, lo);
      _mm512_storeu_si512(p + 8, hi);
      return;
    }
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

  // Visits the window of the n (<= W) outputs from flat position o in the scalar order, calling
  // f(v, pos) per offset with v gathered (lanes outside the image or past n read as `fill`).
  template <class F>
  static void gather_window(const PoolPlan& p, const float* xp, int64_t o, int64_t n, reg fill, F&& f) {
    const Pool2dShape& s = *p.s;
    const mask live = n == W ? O::all() : O::lanes(n);
    const ireg corner = O::iload(p.corner + o);
    for (int64_t dh = 0; dh < s.kh; ++dh) {
      const mask row = p.padded ? O::both(live, O::below(O::iadd(O::iload(p.row0 + o), static_cast<int32_t>(dh)), s.h))
                                : live;
      for (int64_t dw = 0; dw < s.kw; ++dw) {
        const mask m = p.padded ? O::both(row, O::below(O::iadd(O::iload(p.col0 + o), static_cast<int32_t>(dw)), s.w))
                                : row;
        const ireg pos = O::iadd(corner, static_cast<int32_t>(dh * s.w + dw));
        f(O::gather(xp, pos, m, fill), pos);
      }
    }
  }

  // The same for n (<= W) outputs from flat position o, all in one output row with windows inside
  // the image's columns, stride_w 1 or 2: each offset is a contiguous load (stride 2: two loads
  // and the even lanes), the common k2 s2 case without gathers; loads stop at the last value used
  // (masked), so they never pass the end of x. Rows outside the image are skipped.
  template <class F>
  static void row_window(const PoolPlan& p, const float* xp, int64_t o, int64_t n, F&& f) {
    const Pool2dShape& s = *p.s;
    const ireg corner = O::iload(p.corner + o);
    const int64_t r0 = p.row0[o], c0 = p.col0[o];
    const int64_t used = s.stride_w == 1 ? n : 2 * n - 1;  // input columns read per offset
    const int64_t n0 = used < W ? used : W, n1 = used - n0;
    for (int64_t dh = 0; dh < s.kh; ++dh) {
      if (r0 + dh < 0 || r0 + dh >= s.h) continue;
      const float* src = xp + (r0 + dh) * s.w + c0;
      for (int64_t dw = 0; dw < s.kw; ++dw) {
        const ireg pos = O::iadd(corner, static_cast<int32_t>(dh * s.w + dw));
        const reg a = n0 == W ? V::load(src + dw) : V::load_n(src + dw, n0);
        if (s.stride_w == 1) {
          f(a, pos);
          continue;
        }
        // A whole second load where its unused last lane stays in the row: AVX-512 masked loads
        // ran 2x slower than plain ones on a 25 MB input (Zen 5).
        const reg b = c0 + dw + 2 * W <= s.w ? V::load(src + dw + W) : V::load_n(src + dw + W, n1);
        f(O::evens(a, b), pos);
      }
    }
  }

  // One output o's window, clipped to the image, value by value in the scalar order (the edge
  // columns of the row-by-row mode).
  template <class F>
  static void edge_window(const PoolPlan& p, const float* xp, int64_t o, F&& f) {
    const Pool2dShape& s = *p.s;
    const int64_t r0 = p.row0[o], c0 = p.col0[o];
    const int64_t h0 = r0 < 0 ? 0 : r0, h1 = r0 + s.kh < s.h ? r0 + s.kh : s.h;
    const int64_t w0 = c0 < 0 ? 0 : c0, w1 = c0 + s.kw < s.w ? c0 + s.kw : s.w;
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) f(xp[ih * s.w + iw], ih * s.w + iw);
  }

  // Pools one plane through block(o, n, mode), which writes outputs [o, o+n). Where a row holds
  // half a vector or more of outputs whose windows lie inside the columns and stride_w <= 2 (part
  // vectors of contiguous loads beat whole gathers: 28x28 k3 s2 ran 3x faster), it goes row by row:
  // contiguous blocks over those columns, and the few edge columns one by one (kEdge: a gather
  // costs the same for 1 lane as for all). Otherwise (narrow planes such as 8x8 -> 4x4) it
  // gathers over the flattened outputs, whole vectors.
  enum Mode { kGather, kRow, kEdge };
  template <class Block>
  static void plane(const PoolPlan& p, Block&& block) {
    const Pool2dShape& s = *p.s;
    const int64_t OH = s.out_h(), OW = s.out_w();
    // Columns j in [jlo, jhi] have their window in the image: j*sw - pw >= 0, j*sw - pw + kw <= w.
    const int64_t jlo = (s.pad_w + s.stride_w - 1) / s.stride_w, jhi = (s.w + s.pad_w - s.kw) / s.stride_w;
    if (s.stride_w > 2 || 2 * (jhi - jlo + 1) < W) {
      for (int64_t o = 0; o < p.outs; o += W) block(o, p.outs - o < W ? p.outs - o : W, kGather);
      return;
    }
    for (int64_t i = 0; i < OH; ++i) {
      const int64_t row = i * OW;
      for (int64_t j = 0; j < jlo; ++j) block(row + j, 1, kEdge);
      for (int64_t j = jlo; j <= jhi; j += W) block(row + j, jhi + 1 - j < W ? jhi + 1 - j : W, kRow);
      for (int64_t j = jhi + 1; j < OW; ++j) block(row + j, 1, kEdge);
    }
  }

  static void max_planes(const PoolPlan& p, const float* x, float* y, int64_t* indices, int64_t begin, int64_t end) {
    const reg ninf = V::set1(-__builtin_inff());
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * p.s->h * p.s->w;
      float* yp = y + pl * p.outs;
      int64_t* ip = indices + pl * p.outs;
      plane(p, [&](int64_t o, int64_t n, Mode mode) {
        if (mode == kEdge) {
          float best = -__builtin_inff();
          int64_t arg = p.first[o];
          edge_window(p, xp, o, [&](float v, int64_t pos) {
            if (v > best || v != v) best = v, arg = pos;
          });
          yp[o] = best;
          ip[o] = arg;
          return;
        }
        reg best = ninf;
        ireg arg = O::iload(p.first + o);
        const auto take = [&](reg v, ireg pos) {  // v > best or v is NaN: the scalar path's test
          const mask t = O::take(v, best);
          best = O::blend(t, best, v);
          arg = O::iblend(t, arg, pos);
        };
        if (mode == kRow)
          row_window(p, xp, o, n, take);
        else
          gather_window(p, xp, o, n, ninf, take);
        n == W ? V::store(yp + o, best) : V::store_n(yp + o, best, n);
        O::store_idx64(ip + o, arg, n);
      });
    }
  }

  static void avg_planes(const PoolPlan& p, const float* x, float* y, int64_t begin, int64_t end) {
    const reg zero = V::zero();
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * p.s->h * p.s->w;
      float* yp = y + pl * p.outs;
      plane(p, [&](int64_t o, int64_t n, Mode mode) {
        if (mode == kEdge) {
          float sum = 0.0f;
          edge_window(p, xp, o, [&](float v, int64_t) { sum += v; });
          yp[o] = sum / p.divisor[o];
          return;
        }
        reg sum = zero;
        const auto add = [&](reg v, ireg) { sum = V::add(sum, v); };
        if (mode == kRow)
          row_window(p, xp, o, n, add);
        else
          gather_window(p, xp, o, n, zero, add);
        const reg avg = V::div(sum, V::load(p.divisor + o));
        n == W ? V::store(yp + o, avg) : V::store_n(yp + o, avg, n);
      });
    }
  }

  // dx row += g spread over window column dw: dx[j*sw - pw + dw] += g[j] for the j whose column
  // lies in [0, w); vectors over j for stride_w 1 or 2, and one by one where a vector would leave
  // the row. dx + 0 = dx exactly (dx is never -0: it starts at +0), so stride 2 adds zeros between.
  static void add_spread(const Pool2dShape& s, const float* g, int64_t OW, int64_t dw, float* dx) {
    const int64_t off = dw - s.pad_w;                                        // column of j = 0
    int64_t j = off >= 0 ? 0 : (-off + s.stride_w - 1) / s.stride_w;         // first column >= 0
    if (off >= s.w) return;                                                 // no column in the row
    const int64_t jend_raw = (s.w - 1 - off) / s.stride_w + 1;               // columns < w
    const int64_t jend = jend_raw < OW ? jend_raw : OW;
    if (s.stride_w == 1)
      for (; j + W <= jend; j += W) V::store(dx + j + off, V::add(V::load(dx + j + off), V::load(g + j)));
    else if (s.stride_w == 2)
      for (; j + W <= jend && 2 * (j + W) + off <= s.w; j += W) {
        float* d = dx + 2 * j + off;
        reg lo, hi;
        O::spread(V::load(g + j), lo, hi);
        V::store(d, V::add(V::load(d), lo));
        V::store(d + W, V::add(V::load(d + W), hi));
      }
    for (; j < jend; ++j) dx[j * s.stride_w + off] += g[j];
  }

  // Average pooling's backward over planes [begin, end), in the scalar path's order per cell
  // (outputs (i, j) ascending): rows i ascending; each input row of window i gets window columns
  // dw descending, which is j ascending within a cell. scratch holds OW floats.
  static void avg_backward_planes(const PoolPlan& p, const float* dy, float* dx, float* scratch, int64_t begin,
                                  int64_t end) {
    const Pool2dShape& s = *p.s;
    const int64_t OH = s.out_h(), OW = s.out_w(), HW = s.h * s.w;
    for (int64_t pl = begin; pl < end; ++pl) {
      float* dxp = dx + pl * HW;
      const float* dyp = dy + pl * p.outs;
      int64_t k = 0;
      for (; k + W <= HW; k += W) V::store(dxp + k, V::zero());
      for (; k < HW; ++k) dxp[k] = 0.0f;
      for (int64_t i = 0; i < OH; ++i) {
        int64_t j = 0;
        for (; j + W <= OW; j += W)
          V::store(scratch + j, V::div(V::load(dyp + i * OW + j), V::load(p.divisor + i * OW + j)));
        for (; j < OW; ++j) scratch[j] = dyp[i * OW + j] / p.divisor[i * OW + j];
        for (int64_t dh = 0; dh < s.kh; ++dh) {
          const int64_t ih = i * s.stride_h - s.pad_h + dh;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t dw = s.kw - 1; dw >= 0; --dw) add_spread(s, scratch, OW, dw, dxp + ih * s.w);
        }
      }
    }
  }

  static PoolKernels table() { return {&max_planes, &avg_planes, &avg_backward_planes}; }
};

}  // namespace grimoire::pool_detail
