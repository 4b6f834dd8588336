// The softmax family's SIMD microkernels, written once over a vector type V (simd_vec.h) and
// instantiated by softmax_avx2.cpp and softmax_avx512.cpp. Tails use masked partial vectors
// (inactive lanes load as -inf for the max and contribute exp(-inf) = 0 to the sums).
#pragma once

#include "simd_vec.h"
#include "softmax_kernels.h"

namespace grimoire::softmax_detail {

template <class V>
struct SoftmaxSimd {
  using reg = typename V::reg;
  static constexpr int64_t W = V::width;
  static constexpr float kNegInf = -__builtin_inff();

  static reg load(const float* p, int64_t n) { return n == W ? V::load(p) : V::load_n(p, n); }
  static reg load(const float* p, int64_t n, float fill) { return n == W ? V::load(p) : V::load_n(p, n, fill); }
  static void store(float* p, reg v, int64_t n) {
    if (n == W) V::store(p, v);
    else V::store_n(p, v, n);
  }
  static int64_t lanes(int64_t d, int64_t i) { return d - i < W ? d - i : W; }

  // Row max. It need not see NaN: a NaN element makes exp(NaN - m) NaN, so the sum and then
  // every output of the row are NaN anyway.
  static float row_max(const float* x, int64_t d) {
    reg m0 = V::set1(kNegInf), m1 = V::set1(kNegInf);
    int64_t i = 0;
    for (; i + 2 * W <= d; i += 2 * W) {
      m0 = V::max(m0, V::load(x + i));
      m1 = V::max(m1, V::load(x + i + W));
    }
    for (; i < d; i += W) m0 = V::max(m0, load(x + i, lanes(d, i), kNegInf));
    return V::hmax(V::max(m0, m1));
  }

  static void softmax_rows(const SoftmaxParams& p, int64_t begin, int64_t end) {
    const int64_t d = p.dim;
    for (int64_t r = begin; r < end; ++r) {
      const float* x = p.x + r * d;
      float* y = p.out + r * d;
      const reg m = V::set1(row_max(x, d));
      reg s = V::zero();
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = lanes(d, i);
        const reg e = V::exp(V::sub(load(x + i, n, kNegInf), m));
        s = V::add(s, e);
        store(y + i, e, n);
      }
      const reg inv = V::set1(1.0f / V::hsum(s));
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = lanes(d, i);
        store(y + i, V::mul(load(y + i, n), inv), n);
      }
    }
  }

  static void log_softmax_rows(const SoftmaxParams& p, int64_t begin, int64_t end) {
    const int64_t d = p.dim;
    for (int64_t r = begin; r < end; ++r) {
      const float* x = p.x + r * d;
      float* y = p.out + r * d;
      const reg m = V::set1(row_max(x, d));
      reg s = V::zero();
      for (int64_t i = 0; i < d; i += W) s = V::add(s, V::exp(V::sub(load(x + i, lanes(d, i), kNegInf), m)));
      const reg lse = V::set1(__builtin_logf(V::hsum(s)));
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = lanes(d, i);
        store(y + i, V::sub(V::sub(load(x + i, n), m), lse), n);
      }
    }
  }

  static void softmax_backward_rows(const SoftmaxParams& p, int64_t begin, int64_t end) {
    const int64_t d = p.dim;
    for (int64_t r = begin; r < end; ++r) {
      const float* gy = p.x + r * d;
      const float* y = p.y + r * d;
      float* gx = p.out + r * d;
      reg s = V::zero();
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = lanes(d, i);
        s = V::fmadd(load(gy + i, n), load(y + i, n), s);
      }
      const reg dot = V::set1(V::hsum(s));
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = lanes(d, i);
        store(gx + i, V::mul(load(y + i, n), V::sub(load(gy + i, n), dot)), n);
      }
    }
  }

  static void log_softmax_backward_rows(const SoftmaxParams& p, int64_t begin, int64_t end) {
    const int64_t d = p.dim;
    for (int64_t r = begin; r < end; ++r) {
      const float* gy = p.x + r * d;
      const float* y = p.y + r * d;
      float* gx = p.out + r * d;
      reg s = V::zero();
      for (int64_t i = 0; i < d; i += W) s = V::add(s, load(gy + i, lanes(d, i)));
      const reg sum = V::set1(V::hsum(s));
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = lanes(d, i);
        store(gx + i, V::fnmadd(V::exp(load(y + i, n, kNegInf)), sum, load(gy + i, n)), n);
      }
    }
  }

  static float cross_entropy_row(const float* x, int64_t c, int64_t t, float eps, float scale, float* grad) {
    if (t < 0) {
      if (grad)
        for (int64_t i = 0; i < c; i += W) store(grad + i, V::zero(), lanes(c, i));
      return 0.0f;
    }
    const float mx = row_max(x, c);
    const reg m = V::set1(mx);
    reg s = V::zero(), sx = V::zero();
    for (int64_t i = 0; i < c; i += W) {
      const int64_t n = lanes(c, i);
      const reg xm = V::sub(load(x + i, n, kNegInf), m);
      const reg e = V::exp(xm);
      s = V::add(s, e);
      if (eps != 0.0f) sx = V::add(sx, V::sub(load(x + i, n, mx), m));  // sum of (x - m), tail adds 0
      if (grad) store(grad + i, e, n);
    }
    const float sum = V::hsum(s);
    const float log_s = __builtin_logf(sum);
    const float xt = x[t] - mx;
    float loss = log_s - (1.0f - eps) * xt;
    if (eps != 0.0f) loss -= eps * (V::hsum(sx) / static_cast<float>(c));
    if (grad) {
      const reg k = V::set1(scale / sum), off = V::set1(scale * eps / static_cast<float>(c));
      for (int64_t i = 0; i < c; i += W) {
        const int64_t n = lanes(c, i);
        store(grad + i, V::sub(V::mul(load(grad + i, n), k), off), n);
      }
      grad[t] -= scale * (1.0f - eps);
    }
    return loss;
  }

  static constexpr SoftmaxKernels table() {
    return SoftmaxKernels{&softmax_rows, &log_softmax_rows, &softmax_backward_rows, &log_softmax_backward_rows,
                          &cross_entropy_row};
  }
};

}  // namespace grimoire::softmax_detail
