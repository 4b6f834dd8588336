// The quant spans written once over a vector type V (simd_vec.h), instantiated into the tables of
// quant_avx2.cpp (V = simd::Avx2) and quant_avx512.cpp (V = simd::Avx512). The integer-heavy
// encoders (int8 narrowing, fp8, bf16) stay per ISA in those files.
#pragma once

#include <cstdint>

#include "quant_kernels.h"
#include "simd_vec.h"

namespace grimoire::quant_simd {

template <class V>
struct QuantSimd {
  using reg = typename V::reg;
  static constexpr int64_t W = V::width;

  // V::min(v, l) is v < l ? v : l, the scalar fold's own comparison (signed zeros too). A lane
  // of v - v is 0 for a finite v and NaN for inf or NaN, and a NaN stays in the running sum: one
  // check at the end finds any non-finite value.
  static bool min_max(const float* x, int64_t n, float* lo, float* hi) {
    reg l = V::set1(*lo), h = V::set1(*hi), bad = V::zero();
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const reg v = V::load(x + i);
      l = V::min(v, l);
      h = V::max(v, h);
      bad = V::add(bad, V::sub(v, v));
    }
    const float b = V::hsum(bad);
    if (b != b) return false;
    *lo = V::hmin(l);
    *hi = V::hmax(h);
    return scalar::min_max(x + i, n - i, lo, hi);
  }
};

}  // namespace grimoire::quant_simd
