// Attention, AVX-512F: the tiled kernels of attention_tiled.h over 16-float registers. The
// traits map one to one onto AVX2's (attention_avx2.cpp); everything else is shared code.
// GCC 12 reports its own _mm512_undefined_* placeholders inside the AVX-512 intrinsics as
// "may be used uninitialized" (a known false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#define GRIMOIRE_ATTENTION_TILED_IMPL
#include "attention_tiled.h"
#include "simd_vec.h"

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
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  // exp from the one vector layer (simd_vec.h): Cephes-style, ~2 ulp, 0 below -87.34, NaN kept.
  static reg exp(reg x) { return simd::Avx512::exp(x); }
  static float hsum(reg x) { return _mm512_reduce_add_ps(x); }
  static float hmax(reg x) { return _mm512_reduce_max_ps(x); }
};

}  // namespace

void forward_avx512(const AttentionParams& p) { forward<V512>(p); }
void backward_avx512(const AttentionParams& p) { backward<V512>(p); }

}  // namespace grimoire::attention_tiled
