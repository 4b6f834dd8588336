// The activation family's microkernels, templated on the vector type of simd_vec.h (instantiated
// by activation_avx2.cpp and activation_avx512.cpp).
#pragma once

#include "activation_kernels.h"
#include "simd_vec.h"

namespace grimoire::activation_detail {

template <class V>
struct ActivationSimd {
  using reg = typename V::reg;

  // Phi(x), and e = exp(-x^2/2) = phi(x) sqrt(2 pi): erfc(|z|), z = x / sqrt 2, is
  // t (a1 + t (a2 + ... + t a5)) exp(-z^2), t = 1 / (1 + p |z|) (A&S 7.1.26); the same exp(-z^2)
  // is the pdf's.
  static void phi(reg x, reg& cdf, reg& e) {
    const reg a = V::mul(V::abs(x), V::set1(0.70710678118654752f));
    const reg t = V::div(V::set1(1.0f), V::fmadd(a, V::set1(0.3275911f), V::set1(1.0f)));
    reg y = V::fmadd(V::set1(1.061405429f * 0.5f), t, V::set1(-1.453152027f * 0.5f));
    y = V::fmadd(y, t, V::set1(1.421413741f * 0.5f));
    y = V::fmadd(y, t, V::set1(-0.284496736f * 0.5f));
    y = V::fmadd(y, t, V::set1(0.254829592f * 0.5f));
    y = V::mul(y, t);
    e = V::exp(V::mul(V::mul(a, a), V::set1(-1.0f)));
    // erf(|z|) / 2 = 1/2 - erfc(|z|) / 2 (the coefficients are halved); Phi = 1/2 + sign(x) erf(|z|) / 2
    const reg half_erf = V::fnmadd(y, e, V::set1(0.5f));
    cdf = V::add(V::set1(0.5f), V::copysign(half_erf, x));
  }

  static void gelu(const ActivationParams& p, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i += V::width) {
      const int64_t m = end - i < V::width ? end - i : V::width;
      const reg x = m == V::width ? V::load(p.x + i) : V::load_n(p.x + i, m);
      reg cdf, e;
      phi(x, cdf, e);
      const reg y = V::mul(x, cdf);
      if (m == V::width) V::store(p.out + i, y);
      else V::store_n(p.out + i, y, m);
    }
  }

  static void gelu_backward(const ActivationParams& p, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i += V::width) {
      const int64_t m = end - i < V::width ? end - i : V::width;
      const bool full = m == V::width;
      const reg x = full ? V::load(p.x + i) : V::load_n(p.x + i, m);
      const reg g = full ? V::load(p.grad + i) : V::load_n(p.grad + i, m);
      reg cdf, e;
      phi(x, cdf, e);
      const reg slope = V::fmadd(V::mul(x, V::set1(0.39894228040143268f)), e, cdf);  // Phi + x phi
      const reg gx = V::mul(g, slope);
      if (full) V::store(p.out + i, gx);
      else V::store_n(p.out + i, gx, m);
    }
  }

  static ActivationKernels table() { return {&gelu, &gelu_backward}; }
};

}  // namespace grimoire::activation_detail
