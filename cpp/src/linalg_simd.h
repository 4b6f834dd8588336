// The linalg family's microkernels written once on simd_vec.h's float64 vector V; the
// linalg_<isa>.cpp sources instantiate LinalgSimd<V>::table(). No std:: templates here (see
// simd_vec.h: they would be shared symbols across ISAs).
#pragma once

#include "linalg_kernels.h"
#include "simd_vec.h"

namespace grimoire::linalg_detail {

template <class V>
struct LinalgSimd {
  using reg = typename V::reg;
  static constexpr int64_t W = V::width;

  static double dot(const double* x, const double* y, int64_t n) {
    reg s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {  // four chains hide the FMA latency
      s0 = V::fmadd(V::load(x + i), V::load(y + i), s0);
      s1 = V::fmadd(V::load(x + i + W), V::load(y + i + W), s1);
      s2 = V::fmadd(V::load(x + i + 2 * W), V::load(y + i + 2 * W), s2);
      s3 = V::fmadd(V::load(x + i + 3 * W), V::load(y + i + 3 * W), s3);
    }
    for (; i + W <= n; i += W) s0 = V::fmadd(V::load(x + i), V::load(y + i), s0);
    if (i < n) s1 = V::fmadd(V::load_n(x + i, n - i), V::load_n(y + i, n - i), s1);
    return V::hsum(V::add(V::add(s0, s1), V::add(s2, s3)));
  }

  static void axpy(double alpha, const double* x, double* y, int64_t n) {
    const reg a = V::set1(alpha);
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(y + i, V::fmadd(a, V::load(x + i), V::load(y + i)));
    if (i < n) V::store_n(y + i, V::fmadd(a, V::load_n(x + i, n - i), V::load_n(y + i, n - i)), n - i);
  }

  static void gemv_t(const double* a, int64_t ld, const double* coef, int64_t rows, double* y, int64_t n) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      const double *p0 = a + r * ld, *p1 = p0 + ld, *p2 = p1 + ld, *p3 = p2 + ld;
      const reg c0 = V::set1(coef[r]), c1 = V::set1(coef[r + 1]), c2 = V::set1(coef[r + 2]), c3 = V::set1(coef[r + 3]);
      for (int64_t i = 0; i < n; i += W) {
        const int64_t k = n - i < W ? n - i : W;
        reg acc = V::load_n(y + i, k);
        acc = V::fmadd(c0, V::load_n(p0 + i, k), acc);
        acc = V::fmadd(c1, V::load_n(p1 + i, k), acc);
        acc = V::fmadd(c2, V::load_n(p2 + i, k), acc);
        acc = V::fmadd(c3, V::load_n(p3 + i, k), acc);
        V::store_n(y + i, acc, k);
      }
    }
    for (; r < rows; ++r) axpy(coef[r], a + r * ld, y, n);
  }

  static void gemv_n(const double* a, int64_t ld, const double* p, int64_t n, double* x, int64_t rows) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      const double *p0 = a + r * ld, *p1 = p0 + ld, *p2 = p1 + ld, *p3 = p2 + ld;
      reg s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
      for (int64_t i = 0; i < n; i += W) {
        const int64_t k = n - i < W ? n - i : W;
        const reg pv = V::load_n(p + i, k);
        s0 = V::fmadd(V::load_n(p0 + i, k), pv, s0);
        s1 = V::fmadd(V::load_n(p1 + i, k), pv, s1);
        s2 = V::fmadd(V::load_n(p2 + i, k), pv, s2);
        s3 = V::fmadd(V::load_n(p3 + i, k), pv, s3);
      }
      x[r] = V::hsum(s0), x[r + 1] = V::hsum(s1), x[r + 2] = V::hsum(s2), x[r + 3] = V::hsum(s3);
    }
    for (; r < rows; ++r) x[r] = dot(a + r * ld, p, n);
  }

  static double dot_axpy(const double* row, const double* x, double* y, int64_t n, double alpha) {
    const reg a = V::set1(alpha);
    reg s0 = V::zero(), s1 = V::zero();
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      const reg r0 = V::load(row + i), r1 = V::load(row + i + W);
      s0 = V::fmadd(r0, V::load(x + i), s0);
      s1 = V::fmadd(r1, V::load(x + i + W), s1);
      V::store(y + i, V::fmadd(a, r0, V::load(y + i)));
      V::store(y + i + W, V::fmadd(a, r1, V::load(y + i + W)));
    }
    for (; i < n; i += W) {
      const int64_t k = n - i < W ? n - i : W;
      const reg r0 = V::load_n(row + i, k);
      s0 = V::fmadd(r0, V::load_n(x + i, k), s0);
      V::store_n(y + i, V::fmadd(a, r0, V::load_n(y + i, k)), k);
    }
    return V::hsum(V::add(s0, s1));
  }

  static void dot_axpy4(const double* a, int64_t ld, const double* x, double* y, int64_t n, const double* alpha,
                        double* dots) {
    const double *p0 = a, *p1 = a + ld, *p2 = a + 2 * ld, *p3 = a + 3 * ld;
    const reg c0 = V::set1(alpha[0]), c1 = V::set1(alpha[1]), c2 = V::set1(alpha[2]), c3 = V::set1(alpha[3]);
    reg s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
    for (int64_t i = 0; i < n; i += W) {
      const int64_t k = n - i < W ? n - i : W;
      const reg xv = V::load_n(x + i, k);
      const reg r0 = V::load_n(p0 + i, k), r1 = V::load_n(p1 + i, k), r2 = V::load_n(p2 + i, k), r3 = V::load_n(p3 + i, k);
      s0 = V::fmadd(r0, xv, s0);
      s1 = V::fmadd(r1, xv, s1);
      s2 = V::fmadd(r2, xv, s2);
      s3 = V::fmadd(r3, xv, s3);
      reg yv = V::load_n(y + i, k);
      yv = V::fmadd(c0, r0, yv);
      yv = V::fmadd(c1, r1, yv);
      yv = V::fmadd(c2, r2, yv);
      yv = V::fmadd(c3, r3, yv);
      V::store_n(y + i, yv, k);
    }
    dots[0] = V::hsum(s0), dots[1] = V::hsum(s1), dots[2] = V::hsum(s2), dots[3] = V::hsum(s3);
  }

  // x' = c x + s y, y' = c y - s x on one vector of lanes.
  static void rot(double* x, double* y, reg c, reg s) {
    const reg xv = V::load(x), yv = V::load(y);
    V::store(x, V::fmadd(s, yv, V::mul(c, xv)));
    V::store(y, V::fnmadd(s, xv, V::mul(c, yv)));
  }

  static void rotate(double* x, double* y, int64_t n, double c, double s) {
    const reg cv = V::set1(c), sv = V::set1(-s);
    int64_t i = 0;
    for (; i + W <= n; i += W) rot(x + i, y + i, cv, sv);
    if (i < n) {
      const reg xv = V::load_n(x + i, n - i), yv = V::load_n(y + i, n - i);
      V::store_n(x + i, V::fmadd(sv, yv, V::mul(cv, xv)), n - i);
      V::store_n(y + i, V::fnmadd(sv, xv, V::mul(cv, yv)), n - i);
    }
  }

  // Rotations in a chain share a row with the next one: QL sweeps run (i, i+1), (i-1, i), ...
  // (the next one's b is this one's a), Golub-Kahan sweeps (k, k+1), (k+1, k+2), ... (the next
  // one's a is this one's b). The shared row stays in registers through the chain, so a rotation
  // costs one load and one store per vector instead of two with no store-to-load forwarding on
  // the chain, and the register row enters each result through one FMA (the other product is
  // off the chain). Branch-free loops, so the compiler keeps the NV vectors in registers.
  static constexpr int NV = W == 8 ? 8 : 4;  // AVX-512 has the registers for 8 (64 columns), AVX2 for 4 (16)

  // rots[t + 1].b == rots[t].a: row b is held.
  static void chain_down(double* block, const Rotation* rots, int64_t count) {
    constexpr int64_t w = NV * W;
    reg cur[NV];
    for (int v = 0; v < NV; ++v) cur[v] = V::load(block + rots[0].b * w + v * W);
    for (int64_t t = 0; t < count; ++t) {
      const reg c = V::set1(rots[t].c), s = V::set1(rots[t].s);
      double* xa = block + rots[t].a * w;
      double* yb = block + rots[t].b * w;
      for (int v = 0; v < NV; ++v) {
        const reg x = V::load(xa + v * W);
        V::store(yb + v * W, V::fmsub(c, cur[v], V::mul(s, x)));  // c y - s x
        cur[v] = V::fmadd(s, cur[v], V::mul(c, x));                // c x + s y
      }
    }
    for (int v = 0; v < NV; ++v) V::store(block + rots[count - 1].a * w + v * W, cur[v]);
  }

  // rots[t + 1].a == rots[t].b: row a is held.
  static void chain_up(double* block, const Rotation* rots, int64_t count) {
    constexpr int64_t w = NV * W;
    reg cur[NV];
    for (int v = 0; v < NV; ++v) cur[v] = V::load(block + rots[0].a * w + v * W);
    for (int64_t t = 0; t < count; ++t) {
      const reg c = V::set1(rots[t].c), s = V::set1(rots[t].s);
      double* xa = block + rots[t].a * w;
      double* yb = block + rots[t].b * w;
      for (int v = 0; v < NV; ++v) {
        const reg y = V::load(yb + v * W);
        V::store(xa + v * W, V::fmadd(c, cur[v], V::mul(s, y)));  // c x + s y
        cur[v] = V::fnmadd(s, cur[v], V::mul(c, y));               // c y - s x
      }
    }
    for (int v = 0; v < NV; ++v) V::store(block + rots[count - 1].b * w + v * W, cur[v]);
  }

  static void replay(double* block, int64_t w, const Rotation* rots, int64_t count) {
    if (w != NV * W) {
      for (int64_t r = 0; r < count; ++r) rotate(block + rots[r].a * w, block + rots[r].b * w, w, rots[r].c, -rots[r].s);
      return;
    }
    for (int64_t r = 0; r < count;) {
      int64_t len = 1;
      if (r + 1 < count && rots[r + 1].b == rots[r].a) {
        while (r + len < count && rots[r + len].b == rots[r + len - 1].a) ++len;
        chain_down(block, rots + r, len);
      } else {
        while (r + len < count && rots[r + len].a == rots[r + len - 1].b) ++len;
        chain_up(block, rots + r, len);  // a chain of one when neither pattern holds
      }
      r += len;
    }
  }

  static LinalgKernels table() { return {&dot, &axpy, &gemv_t, &gemv_n, &dot_axpy, &dot_axpy4, &rotate, &replay, NV * W}; }
};

}  // namespace grimoire::linalg_detail
