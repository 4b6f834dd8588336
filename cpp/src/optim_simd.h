// The optim family's SIMD microkernels, written once over a vector type V (simd_vec.h) and
// instantiated by optim_avx2.cpp and optim_avx512.cpp. One pass: every element of param,
// grad, m, v is loaded once and param, m, v stored once.
#pragma once

#include "optim_kernels.h"
#include "simd_vec.h"

namespace grimoire::optim_detail {

template <class V>
struct OptimSimd {
  using reg = typename V::reg;
  static constexpr int64_t W = V::width;

  static reg load(const float* p, int64_t n) { return n == W ? V::load(p) : V::load_n(p, n); }
  static void store(float* p, reg v, int64_t n) {
    if (n == W) V::store(p, v);
    else V::store_n(p, v, n);
  }

  template <bool Ams>
  static void adam_loop(const AdamConsts& c, float* param, const float* grad, float* m, float* v, float* max_v,
                        int64_t begin, int64_t end) {
    const reg b1c = V::set1(c.one_minus_beta1), b2 = V::set1(c.beta2), b2c = V::set1(c.one_minus_beta2);
    const reg step = V::set1(c.neg_step_size), bc2 = V::set1(c.bc2_sqrt), eps = V::set1(c.eps);
    const reg decay = V::set1(c.decay), l2 = V::set1(c.l2);
    for (int64_t i = begin; i < end; i += W) {
      const int64_t n = end - i < W ? end - i : W;
      reg p = load(param + i, n), g = load(grad + i, n);
      if (c.l2 != 0.0f) g = V::fmadd(p, l2, g);
      if (c.decay != 1.0f) p = V::mul(p, decay);
      const reg mi = V::fmadd(b1c, V::sub(g, load(m + i, n)), load(m + i, n));
      const reg vi = V::fmadd(V::mul(b2c, g), g, V::mul(load(v + i, n), b2));
      reg vd = vi;
      if (Ams) {
        vd = V::max_nan(load(max_v + i, n), vi);  // a NaN in max_v or v stays, as in the scalar path
        store(max_v + i, vd, n);
      }
      const reg denom = V::add(V::div(V::sqrt(vd), bc2), eps);
      p = V::add(p, V::div(V::mul(step, mi), denom));
      store(m + i, mi, n);
      store(v + i, vi, n);
      store(param + i, p, n);
    }
  }

  static void adam(const AdamConsts& c, float* param, const float* grad, float* m, float* v, float* max_v,
                   int64_t begin, int64_t end) {
    if (max_v) adam_loop<true>(c, param, grad, m, v, max_v, begin, end);
    else adam_loop<false>(c, param, grad, m, v, max_v, begin, end);
  }

  static void sgd(const SgdConsts& c, float* param, const float* grad, float* buf, int64_t begin, int64_t end) {
    const reg lr = V::set1(c.neg_lr), mom = V::set1(c.momentum), damp = V::set1(c.one_minus_dampening);
    const reg wd = V::set1(c.weight_decay);
    for (int64_t i = begin; i < end; i += W) {
      const int64_t n = end - i < W ? end - i : W;
      const reg p = load(param + i, n);
      reg g = load(grad + i, n);
      if (c.weight_decay != 0.0f) g = V::fmadd(p, wd, g);
      if (c.use_momentum) {
        const reg b = c.first_step ? g : V::fmadd(g, damp, V::mul(load(buf + i, n), mom));
        store(buf + i, b, n);
        g = c.nesterov ? V::fmadd(b, mom, g) : b;
      }
      store(param + i, V::fmadd(g, lr, p), n);
    }
  }

  static double sum_pow(const float* x, int64_t n, int kind) {
    if (kind == 0) return max_abs(x, n);
    // Blocks of kBlock elements summed in float32 vectors, the blocks in double: a long
    // reduction loses no more than one block does.
    constexpr int64_t kBlock = 1024;
    double total = 0.0;
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t len = n - b < kBlock ? n - b : kBlock;
      const float* xb = x + b;
      reg a0 = V::zero(), a1 = V::zero();
      int64_t i = 0;
      for (; i + 2 * W <= len; i += 2 * W) {
        const reg u = V::load(xb + i), w = V::load(xb + i + W);
        a0 = kind == 2 ? V::fmadd(u, u, a0) : V::add(a0, V::abs(u));
        a1 = kind == 2 ? V::fmadd(w, w, a1) : V::add(a1, V::abs(w));
      }
      for (; i < len; i += W) {
        const reg u = load(xb + i, len - i < W ? len - i : W);  // inactive lanes are 0
        a0 = kind == 2 ? V::fmadd(u, u, a0) : V::add(a0, V::abs(u));
      }
      total += static_cast<double>(V::hsum(V::add(a0, a1)));
    }
    return total;
  }

  // max |x|, NaN if any x is NaN.
  static double max_abs(const float* x, int64_t n) {
    reg a0 = V::zero(), a1 = V::zero(), flag = V::zero();
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      const reg u = V::load(x + i), w = V::load(x + i + W);
      a0 = V::max(a0, V::abs(u));
      a1 = V::max(a1, V::abs(w));
      flag = V::add(flag, V::add(V::mul(u, V::zero()), V::mul(w, V::zero())));
    }
    for (; i < n; i += W) {
      const reg u = load(x + i, n - i < W ? n - i : W);  // inactive lanes are 0
      a0 = V::max(a0, V::abs(u));
      flag = V::add(flag, V::mul(u, V::zero()));
    }
    const float f = V::hsum(flag);
    if (f == f) return static_cast<double>(V::hmax(V::max(a0, a1)));
    // Some element was NaN or +-inf (x * 0 is NaN for both): settle it element by element.
    float mx = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      if (x[j] != x[j]) return static_cast<double>(x[j]);
      const float ax = x[j] < 0.0f ? -x[j] : x[j];
      mx = ax > mx ? ax : mx;
    }
    return static_cast<double>(mx);
  }

  static void scale(float* x, int64_t n, float c) {
    const reg k = V::set1(c);
    for (int64_t i = 0; i < n; i += W) {
      const int64_t w = n - i < W ? n - i : W;
      store(x + i, V::mul(load(x + i, w), k), w);
    }
  }

  static constexpr OptimKernels table() { return OptimKernels{&adam, &sgd, &sum_pow, &scale}; }
};

}  // namespace grimoire::optim_detail
