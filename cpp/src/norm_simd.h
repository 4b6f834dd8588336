// The norm family's SIMD microkernels, written once over a vector type V (simd_vec.h) and
// instantiated by norm_avx2.cpp (V = simd::Avx2) and norm_avx512.cpp (V = simd::Avx512).
// Every row loop runs whole vectors and then one masked partial vector for the tail.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "norm_kernels.h"
#include "simd_vec.h"

namespace grimoire::norm_detail {

template <class V>
struct NormSimd {
  using reg = typename V::reg;
  static constexpr int64_t W = V::width;

  // sum_i (x_i - c)^p for p = 1 (Square = false) or 2, over x[0:n], two accumulators.
  template <bool Square>
  static float sum_dev(const float* x, int64_t n, float c) {
    const reg vc = V::set1(c);
    reg a0 = V::zero(), a1 = V::zero();
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      const reg d0 = V::sub(V::load(x + i), vc), d1 = V::sub(V::load(x + i + W), vc);
      a0 = Square ? V::fmadd(d0, d0, a0) : V::add(a0, d0);
      a1 = Square ? V::fmadd(d1, d1, a1) : V::add(a1, d1);
    }
    for (; i + W <= n; i += W) {
      const reg d = V::sub(V::load(x + i), vc);
      a0 = Square ? V::fmadd(d, d, a0) : V::add(a0, d);
    }
    if (i < n) {
      // Inactive lanes load as c, so they contribute (c - c) = 0.
      const reg d = V::sub(V::load_n(x + i, n - i, c), vc);
      a1 = Square ? V::fmadd(d, d, a1) : V::add(a1, d);
    }
    return V::hsum(V::add(a0, a1));
  }

  // Over x[0:n]: s1 = sum (x_i - c) and s2 = sum (x_i - c)^2, each block of kBlock elements in
  // float32 vectors and the blocks added in double, so a long row loses no more than one block.
  static constexpr int64_t kBlock = 1024;
  static void sum_dev12(const float* x, int64_t n, float c, double* s1, double* s2) {
    const reg vc = V::set1(c);
    double t1 = 0.0, t2 = 0.0;
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t e = b + kBlock < n ? b + kBlock : n;
      reg a1 = V::zero(), a2 = V::zero();
      int64_t i = b;
      for (; i + W <= e; i += W) {
        const reg d = V::sub(V::load(x + i), vc);
        a1 = V::add(a1, d);
        a2 = V::fmadd(d, d, a2);
      }
      if (i < e) {
        const reg d = V::sub(V::load_n(x + i, e - i, c), vc);  // inactive lanes: c - c = 0
        a1 = V::add(a1, d);
        a2 = V::fmadd(d, d, a2);
      }
      t1 += V::hsum(a1);
      t2 += V::hsum(a2);
    }
    if (!std::isfinite(t2)) {  // squares beyond float32 (|x| > 1.8e19), or NaN/inf in x: in double
      t1 = t2 = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(x[i]) - c;
        t1 += d;
        t2 += d * d;
      }
    }
    *s1 = t1;
    *s2 = t2;
  }

  // y = ((x - c) * a) [* w] [+ b] over one row. (x - c) first: when x is close to the mean c,
  // x * a - c * a would leave the rounding error of c * a, amplified by a = rstd.
  // Stream: the whole vectors go out with non-temporal stores (no read-for-ownership of y's
  // lines, which would cost a third memory stream), after a masked head up to alignment.
  template <bool HasW, bool HasB, bool Stream>
  static void apply_row(const float* x, float* y, int64_t n, float a, float c, float c_lo, const float* w,
                        const float* b) {
    const reg va = V::set1(a), vc = V::set1(c), vlo = V::set1(c_lo);
    // Written with explicit fmadd and no mul feeding an add, so the compiler has nothing to
    // contract differently in the head, body and tail: every element rounds the same way.
    auto value = [&](int64_t i, int64_t r) {
      const bool full = r == W;
      const reg xc = V::sub(V::sub(full ? V::load(x + i) : V::load_n(x + i, r), vc), vlo);
      reg bv = V::zero();
      if (HasB) bv = full ? V::load(b + i) : V::load_n(b + i, r);
      if (HasW) {
        const reg t = V::mul(xc, va), wv = full ? V::load(w + i) : V::load_n(w + i, r);
        return HasB ? V::fmadd(t, wv, bv) : V::mul(t, wv);
      }
      return HasB ? V::fmadd(xc, va, bv) : V::mul(xc, va);
    };
    int64_t i = 0;
    if (Stream) {
      const int64_t mis = static_cast<int64_t>((reinterpret_cast<uintptr_t>(y) / sizeof(float)) % W);
      if (mis != 0) {
        i = W - mis < n ? W - mis : n;
        V::store_n(y, value(0, i), i);
      }
      for (; i + W <= n; i += W) V::stream(y + i, value(i, W));
    } else {
      for (; i + W <= n; i += W) V::store(y + i, value(i, W));
    }
    if (i < n) V::store_n(y + i, value(i, n - i), n - i);
  }

  template <bool Stream>
  static void apply_row_any(const float* x, float* y, int64_t n, float a, float c, float c_lo, const float* w,
                            const float* b) {
    if (w && b) apply_row<true, true, Stream>(x, y, n, a, c, c_lo, w, b);
    else if (w) apply_row<true, false, Stream>(x, y, n, a, c, c_lo, w, b);
    else if (b) apply_row<false, true, Stream>(x, y, n, a, c, c_lo, w, b);
    else apply_row<false, false, Stream>(x, y, n, a, c, c_lo, w, b);
  }

  // c + c_lo is the centre: a float32 mean near 1e4 is only good to ~5e-4, so the correction
  // c_lo (the mean of x - c) is subtracted separately, after x - c (exact when x is near c).
  static void apply_row_any(bool stream, const float* x, float* y, int64_t n, float a, float c, float c_lo,
                            const float* w, const float* b) {
    if (stream) apply_row_any<true>(x, y, n, a, c, c_lo, w, b);
    else apply_row_any<false>(x, y, n, a, c, c_lo, w, b);
  }

  // x is (rows, dim): mean and variance by the corrected two-pass algorithm over the row while it
  // sits in L1/L2: a rough mean m0, then s1 = sum (x - m0) and s2 = sum (x - m0)^2, which do not
  // cancel since x - m0 is small; mean = m0 + s1/d, var = s2/d - (s1/d)^2. (Data offset 1e4 from
  // zero lost three digits with var = sum (x - m0)^2 / d alone.)
  static void layer_norm_rows(const LayerNormParams& p, int64_t begin, int64_t end) {
    const int64_t d = p.dim;
    for (int64_t r = begin; r < end; ++r) {
      const float* x = p.x + r * d;
      float m0 = sum_dev<false>(x, d, 0.0f) / static_cast<float>(d);
      if (!std::isfinite(m0)) m0 = 0.0f;  // the sum overflowed: sum_dev12 then works in double
      double s1, s2;
      sum_dev12(x, d, m0, &s1, &s2);
      const double corr = s1 / static_cast<double>(d);
      const double var = std::max(s2 / static_cast<double>(d) - corr * corr, 0.0);
      const float rstd = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(p.eps)));
      p.mean[r] = static_cast<float>(m0 + corr);
      p.rstd[r] = rstd;
      apply_row_any(p.stream_y, x, p.y + r * d, d, rstd, m0, static_cast<float>(corr), p.weight, p.bias);
    }
    if (p.stream_y) V::fence();
  }

  static void rms_norm_rows(const LayerNormParams& p, int64_t begin, int64_t end) {
    const int64_t d = p.dim;
    for (int64_t r = begin; r < end; ++r) {
      const float* x = p.x + r * d;
      double s1, s2;
      sum_dev12(x, d, 0.0f, &s1, &s2);
      const float rstd = static_cast<float>(1.0 / std::sqrt(s2 / static_cast<double>(d) + static_cast<double>(p.eps)));
      p.rstd[r] = rstd;
      apply_row_any(p.stream_y, x, p.y + r * d, d, rstd, 0.0f, 0.0f, p.weight, nullptr);
    }
    if (p.stream_y) V::fence();
  }

  // grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = grad_y * w,  xhat = (x - mean) * rstd.
  // Centered = false is RMSNorm: mean = 0 and no mean(g) term.
  template <bool Centered>
  static void backward_rows(const LayerNormBackwardParams& p, int64_t begin, int64_t end, float* dw, float* db) {
    const int64_t d = p.dim;
    const float inv_d = 1.0f / static_cast<float>(d);
    for (int64_t r = begin; r < end; ++r) {
      const float* gy = p.grad_y + r * d;
      const float* x = p.x + r * d;
      float* gx = p.grad_x + r * d;
      const float rstd = p.rstd[r];
      const float mean = Centered ? p.mean[r] : 0.0f;
      const reg va = V::set1(rstd), vm = V::set1(mean);
      // Pass 1: sum(g), sum(g * xhat), and the column sums for grad_weight / grad_bias.
      reg sg = V::zero(), sgx = V::zero();
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = d - i < W ? d - i : W;
        const reg vgy = n == W ? V::load(gy + i) : V::load_n(gy + i, n);
        const reg vx = n == W ? V::load(x + i) : V::load_n(x + i, n);
        const reg xhat = V::mul(V::sub(vx, vm), va);
        const reg g = p.weight ? V::mul(vgy, n == W ? V::load(p.weight + i) : V::load_n(p.weight + i, n)) : vgy;
        sg = V::add(sg, g);
        sgx = V::fmadd(g, xhat, sgx);
        if (n == W) {
          if (dw) V::store(dw + i, V::fmadd(vgy, xhat, V::load(dw + i)));
          if (db) V::store(db + i, V::add(vgy, V::load(db + i)));
        } else {
          if (dw) V::store_n(dw + i, V::fmadd(vgy, xhat, V::load_n(dw + i, n)), n);
          if (db) V::store_n(db + i, V::add(vgy, V::load_n(db + i, n)), n);
        }
      }
      const reg mg = V::set1(Centered ? V::hsum(sg) * inv_d : 0.0f);
      const reg mgx = V::set1(V::hsum(sgx) * inv_d);
      // Pass 2 (the row is still in cache): grad_x.
      for (int64_t i = 0; i < d; i += W) {
        const int64_t n = d - i < W ? d - i : W;
        const reg vgy = n == W ? V::load(gy + i) : V::load_n(gy + i, n);
        const reg vx = n == W ? V::load(x + i) : V::load_n(x + i, n);
        const reg xhat = V::mul(V::sub(vx, vm), va);
        const reg g = p.weight ? V::mul(vgy, n == W ? V::load(p.weight + i) : V::load_n(p.weight + i, n)) : vgy;
        const reg t = V::mul(V::fnmadd(xhat, mgx, V::sub(g, mg)), va);
        if (n == W) V::store(gx + i, t);
        else V::store_n(gx + i, t, n);
      }
    }
  }

  static void layer_norm_backward_rows(const LayerNormBackwardParams& p, int64_t b, int64_t e, float* dw, float* db) {
    backward_rows<true>(p, b, e, dw, db);
  }
  static void rms_norm_backward_rows(const LayerNormBackwardParams& p, int64_t b, int64_t e, float* dw) {
    backward_rows<false>(p, b, e, dw, nullptr);
  }

  // ---- BatchNorm ----
  static void block_mean_m2(const float* x, int64_t len, float* mean, float* m2) {
    const float m = sum_dev<false>(x, len, 0.0f) / static_cast<float>(len);
    *mean = m;
    *m2 = sum_dev<true>(x, len, m);
  }

  static void block_dot(const float* dy, const float* x, int64_t len, float mean, float* sum_dy, float* sum_dyx) {
    const reg vm = V::set1(mean);
    reg a = V::zero(), b = V::zero();
    for (int64_t i = 0; i < len; i += W) {
      const int64_t n = len - i < W ? len - i : W;
      const reg g = n == W ? V::load(dy + i) : V::load_n(dy + i, n);
      const reg xc = V::sub(n == W ? V::load(x + i) : V::load_n(x + i, n, mean), vm);
      a = V::add(a, g);
      b = V::fmadd(g, xc, b);
    }
    *sum_dy = V::hsum(a);
    *sum_dyx = V::hsum(b);
  }

  static void block_affine(const float* x, float* y, int64_t len, float mean, float scale, float shift) {
    const reg vm = V::set1(mean), vs = V::set1(scale), vt = V::set1(shift);
    for (int64_t i = 0; i < len; i += W) {
      const int64_t n = len - i < W ? len - i : W;
      if (n == W) V::store(y + i, V::fmadd(V::sub(V::load(x + i), vm), vs, vt));
      else V::store_n(y + i, V::fmadd(V::sub(V::load_n(x + i, n), vm), vs, vt), n);
    }
  }

  static void block_affine2(const float* a, const float* b, float* out, int64_t len, float ka, float kb, float mean,
                            float c) {
    const reg vka = V::set1(ka), vkb = V::set1(kb), vm = V::set1(mean), vc = V::set1(c);
    for (int64_t i = 0; i < len; i += W) {
      const int64_t n = len - i < W ? len - i : W;
      if (n == W) {
        V::store(out + i, V::fmadd(V::load(a + i), vka, V::fmadd(V::sub(V::load(b + i), vm), vkb, vc)));
      } else {
        const reg t = V::fmadd(V::sub(V::load_n(b + i, n), vm), vkb, vc);
        V::store_n(out + i, V::fmadd(V::load_n(a + i, n), vka, t), n);
      }
    }
  }

  static void cols_mean_m2(const float* x, int64_t rows, int64_t ld, int64_t cols, float* mean, float* m2) {
    const reg inv = V::set1(1.0f / static_cast<float>(rows));
    for (int64_t j = 0; j < cols; j += W) {
      const int64_t n = cols - j < W ? cols - j : W;
      reg s = V::zero();
      for (int64_t r = 0; r < rows; ++r) s = V::add(s, n == W ? V::load(x + r * ld + j) : V::load_n(x + r * ld + j, n));
      const reg m = V::mul(s, inv);
      reg q = V::zero();
      for (int64_t r = 0; r < rows; ++r) {
        const reg d = V::sub(n == W ? V::load(x + r * ld + j) : V::load_n(x + r * ld + j, n), m);
        q = V::fmadd(d, d, q);
      }
      if (n == W) {
        V::store(mean + j, m);
        V::store(m2 + j, q);
      } else {
        V::store_n(mean + j, m, n);
        V::store_n(m2 + j, q, n);
      }
    }
  }

  static void cols_dot(const float* dy, const float* x, int64_t rows, int64_t ld, int64_t cols, const float* mean,
                       float* sum_dy, float* sum_dyx) {
    for (int64_t j = 0; j < cols; j += W) {
      const int64_t n = cols - j < W ? cols - j : W;
      const reg m = n == W ? V::load(mean + j) : V::load_n(mean + j, n);
      reg a = V::zero(), b = V::zero();
      for (int64_t r = 0; r < rows; ++r) {
        const float* gp = dy + r * ld + j;
        const float* xp = x + r * ld + j;
        const reg g = n == W ? V::load(gp) : V::load_n(gp, n);
        const reg xc = V::sub(n == W ? V::load(xp) : V::load_n(xp, n), m);
        a = V::add(a, g);
        b = V::fmadd(g, xc, b);
      }
      if (n == W) {
        V::store(sum_dy + j, a);
        V::store(sum_dyx + j, b);
      } else {
        V::store_n(sum_dy + j, a, n);
        V::store_n(sum_dyx + j, b, n);
      }
    }
  }

  static void rows_affine(const float* x, float* y, int64_t rows, int64_t ld, int64_t cols, const float* mean,
                          const float* scale, const float* shift) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * ld;
      float* yr = y + r * ld;
      for (int64_t j = 0; j < cols; j += W) {
        const int64_t n = cols - j < W ? cols - j : W;
        if (n == W) {
          const reg xc = V::sub(V::load(xr + j), V::load(mean + j));
          V::store(yr + j, V::fmadd(xc, V::load(scale + j), V::load(shift + j)));
        } else {
          const reg xc = V::sub(V::load_n(xr + j, n), V::load_n(mean + j, n));
          V::store_n(yr + j, V::fmadd(xc, V::load_n(scale + j, n), V::load_n(shift + j, n)), n);
        }
      }
    }
  }

  static void rows_affine2(const float* a, const float* b, float* out, int64_t rows, int64_t ld, int64_t cols,
                           const float* ka, const float* kb, const float* mean, const float* c) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* ar = a + r * ld;
      const float* br = b + r * ld;
      float* o = out + r * ld;
      for (int64_t j = 0; j < cols; j += W) {
        const int64_t n = cols - j < W ? cols - j : W;
        if (n == W) {
          const reg t = V::fmadd(V::sub(V::load(br + j), V::load(mean + j)), V::load(kb + j), V::load(c + j));
          V::store(o + j, V::fmadd(V::load(ar + j), V::load(ka + j), t));
        } else {
          const reg bc = V::sub(V::load_n(br + j, n), V::load_n(mean + j, n));
          const reg t = V::fmadd(bc, V::load_n(kb + j, n), V::load_n(c + j, n));
          V::store_n(o + j, V::fmadd(V::load_n(ar + j, n), V::load_n(ka + j, n), t), n);
        }
      }
    }
  }

  static constexpr NormKernels table() {
    return NormKernels{&layer_norm_rows, &rms_norm_rows, &layer_norm_backward_rows, &rms_norm_backward_rows,
                       &block_mean_m2,   &block_dot,     &block_affine,             &block_affine2,
                       &cols_mean_m2,    &cols_dot,      &rows_affine,              &rows_affine2};
  }
};

}  // namespace grimoire::norm_detail
