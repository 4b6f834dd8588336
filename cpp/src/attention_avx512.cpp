// Attention, AVX-512F: the tiled kernels of attention_tiled.h over 16-float registers. The
// traits map one to one onto AVX2's (attention_avx2.cpp); everything else is shared code.
// GCC 12 reports its own _mm512_undefined_* placeholders inside the AVX-512 intrinsics as
// "may be used uninitialized" (a known false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#define GRIMOIRE_ATTENTION_TILED_IMPL
#include "attention_tiled.h"

namespace grimoire::attention_tiled {
namespace {

struct V512 {
  using reg = __m512;
  static constexpr int W = 16;
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg x) { _mm512_storeu_ps(p, x); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }   // a * b + c
  static reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a * b
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg round(reg x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 127], from the exponent bits.
  static reg pow2(reg n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  // y where x >= lo (or NaN), 0 where x < lo.
  static reg zero_where_less(reg y, reg x, float lo) {
    const __mmask16 below = _mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_LT_OQ);
    return _mm512_mask_mov_ps(y, below, _mm512_setzero_ps());
  }
  static reg inf_where_greater(reg y, reg x, float hi) {
    const __mmask16 above = _mm512_cmp_ps_mask(x, _mm512_set1_ps(hi), _CMP_GT_OQ);
    return _mm512_mask_mov_ps(y, above, _mm512_set1_ps(__builtin_inff()));
  }
  static float hsum(reg x) { return _mm512_reduce_add_ps(x); }
  static float hmax(reg x) { return _mm512_reduce_max_ps(x); }
};

}  // namespace

void forward_avx512(const AttentionParams& p) { forward<V512>(p); }
void backward_avx512(const AttentionParams& p) { backward<V512>(p); }

}  // namespace grimoire::attention_tiled
