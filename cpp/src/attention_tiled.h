// Private to the attention family: the tiled FlashAttention-2 kernels (forward, decode step,
// deterministic backward), written once over a simd_vec.h vector type V and instantiated into
// one table per ISA (attention_kernels.h) by attention_avx2.cpp (V = simd::Avx2, 8 floats) and
// attention_avx512.cpp (V = simd::Avx512, 16 floats). Include it only from those files.
//
// Everything here sits in an anonymous namespace, so each ISA gets its own copy built with its
// own -m flags; the products run on the GEMM family's microkernel (gemm_simd.h). No std
// containers or other shared inline library code is used here: the linker may
// merge such functions across translation units and hand the scalar build an AVX-512 copy.
//
// Tiles: kBr (forward: kFwdBr) query rows x kBc keys. Per thread the extra memory is a few
// tiles of rows x head_dim and rows x kBc floats (under 0.5 MiB at head_dim 256), plus, in the
// fused backward, dK/dV accumulators for one key/value head, dQ for one query head and that
// head's packed query tiles ((2 k_len + 5 q_len) x head_dim floats): linear in the sequence,
// never q_len x k_len. Each pass names its per-thread buffers in a struct (ForwardBuffers, ...).
#pragma once

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "attention_kernels.h"
#include "gemm_simd.h"
#include "grimoire/parallel.h"
#include "simd_vec.h"

namespace grimoire::attention_tiled {
namespace {

constexpr int64_t kBr = 64;      // query rows per tile (backward)
constexpr int64_t kFwdBr = 128;  // query rows per tile (forward: each key/value tile serves more queries)
constexpr int64_t kFwdBc = 128;  // keys per tile (forward: longer products, fewer rescalings of O)
constexpr int64_t kBc = 64;      // keys per tile
constexpr int64_t kSplit = 512;  // keys per partial result in the decode step (q_len == 1)
constexpr float kInf = __builtin_inff();

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t clamp64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : (x > hi ? hi : x); }
inline bool any_nan(const float* x, int64_t n) {
  bool nan = false;
  for (int64_t t = 0; t < n; ++t) nan |= x[t] != x[t];
  return nan;
}

// One thread's scratch buffer (64-byte aligned).
struct Scratch {
  float* data = nullptr;
  explicit Scratch(int64_t n) {
    data = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(round_up(max64(n, 1) * 4, 64))));
    if (data == nullptr) throw std::bad_alloc();
  }
  ~Scratch() { std::free(data); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// Hands out a thread's buffers one after another (16-float aligned). Run with a null base it
// only counts, which is how ThreadArena sizes a thread's share from the same carve function.
class Carver {
 public:
  explicit Carver(float* base) : base_(base) {}
  float* take(int64_t n) {
    float* p = base_ == nullptr ? nullptr : base_ + used_;
    used_ += round_up(max64(n, 1), 16);
    return p;
  }
  int64_t used() const { return used_; }

 private:
  float* base_;
  int64_t used_ = 0;
};

// Every thread's buffers of one pass, carved from one allocation made before the parallel
// region, so that running out of memory raises in the caller (MemoryError in Python), never in
// a thread. carve(Carver&) returns the pass's buffer struct; it is called once to count.
template <class Carve>
class ThreadArena {
 public:
  ThreadArena(int threads, Carve carve) : carve_(carve), per_(count(carve)), pool_(threads * per_) {}
  auto get(int thread) const {
    Carver c(pool_.data + thread * per_);
    return carve_(c);
  }

 private:
  static int64_t count(Carve carve) {
    Carver c(nullptr);
    carve(c);
    return c.used();
  }
  Carve carve_;
  int64_t per_;
  Scratch pool_;
};

int threads_for(const AttentionParams& p, int64_t items) {
  const int64_t t = p.num_threads == 1 ? 1 : num_threads();
  return static_cast<int>(clamp64(min64(t, items), 1, 1 << 20));
}

// ---------------------------------------------------------------------------------------------
// Vector primitives over V (V::width floats a register).
// ---------------------------------------------------------------------------------------------
template <class V>
struct Ops {
  static constexpr int64_t W = V::width;
  using R = typename V::reg;

  // C (M x N) = or += A (M x K; A(r, k) at A[r * lda + k * acs]) B (K x N, row stride ldb);
  // N a multiple of W. acs != 1 reads a transposed A in place. The tiles are the GEMM family's
  // microkernel (gemm_simd.h), reading both operands in place as the GEMM's small path does:
  // 6 rows x 2 vectors, and 6 x 1 for a last odd vector.
  static void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, int64_t acs, const float* B,
                   int64_t ldb, float* C, int64_t ldc, bool accumulate) {
    using Wide = gemm_detail::Microkernel<V, 6, 2>;
    using Narrow = gemm_detail::Microkernel<V, 6, 1>;
    const float beta = accumulate ? 1.0f : 0.0f;
    for (int64_t j = 0; j < N; j += 2 * W) {
      const int64_t nr = min64(2 * W, N - j);
      for (int64_t i = 0; i < M; i += 6) {
        const int mr = static_cast<int>(min64(6, M - i));
        const float* a = A + i * lda;
        float* c = C + i * ldc + j;
        if (nr == 2 * W) Wide::template tile<false>(mr, K, a, lda, acs, B + j, ldb, nr, c, ldc, 1, 1.0f, beta);
        else Narrow::template tile<false>(mr, K, a, lda, acs, B + j, ldb, nr, c, ldc, 1, 1.0f, beta);
      }
    }
  }

  static void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                   float* C, int64_t ldc, bool accumulate) {
    gemm(M, N, K, A, lda, 1, B, ldb, C, ldc, accumulate);
  }

  static inline R exp(R x) { return V::exp(x); }  // simd_vec.h's, through the traits

  // max of x[0:n], n a multiple of W.
  static float max(const float* x, int64_t n) {
    R m = V::set1(-kInf);
    for (int64_t t = 0; t < n; t += W) m = V::max(V::load(x + t), m);
    return V::hmax(m);
  }

  // x = exp(x - m) and return the sum; n a multiple of W.
  static float exp_sub_sum(float* x, int64_t n, float m) {
    const R mv = V::set1(m);
    R s = V::zero();
    for (int64_t t = 0; t < n; t += W) {
      const R e = exp(V::sub(V::load(x + t), mv));
      V::store(x + t, e);
      s = V::add(s, e);
    }
    return V::hsum(s);
  }

  // x = exp(x - m); n a multiple of W.
  static void exp_sub(float* x, int64_t n, float m) {
    const R mv = V::set1(m);
    for (int64_t t = 0; t < n; t += W) V::store(x + t, exp(V::sub(V::load(x + t), mv)));
  }

  // x[t] = exp(x[t] - m[t]); n a multiple of W.
  static void exp_sub(float* x, int64_t n, const float* m) {
    for (int64_t t = 0; t < n; t += W) V::store(x + t, exp(V::sub(V::load(x + t), V::load(m + t))));
  }

  // One key tile of the online softmax in the transposed frame: st (cols x rp) holds the masked
  // scores S^T, one column per query. Per query u: m_new = max(m, max_t S^T[t][u]),
  // S^T[t][u] = exp(S^T[t][u] - m_new), alpha[u] = exp(m - m_new), l = l alpha + sum_t P^T[t][u].
  // A query with nothing visible yet (m_new = -inf) subtracts -FLT_MAX instead, so its P and
  // alpha are 0, not NaN; NaN scores stay NaN (the max skips them, the exp does not).
  static void online_update(float* st, int64_t cols, int64_t rp, float* m, float* l, float* alpha) {
    for (int64_t u = 0; u < rp; u += W) {
      const R m_old = V::load(m + u);
      R mx = m_old;
      for (int64_t t = 0; t < cols; ++t) mx = V::max(V::load(st + t * rp + u), mx);
      const R msub = V::max(mx, V::set1(-3.4028234663852886e38f));
      R sum = V::zero();
      for (int64_t t = 0; t < cols; ++t) {
        const R e = exp(V::sub(V::load(st + t * rp + u), msub));
        V::store(st + t * rp + u, e);
        sum = V::add(sum, e);
      }
      const R a = exp(V::sub(m_old, msub));
      V::store(alpha + u, a);
      V::store(l + u, V::fmadd(V::load(l + u), a, sum));
      V::store(m + u, mx);
    }
  }

  static float dot(const float* a, const float* b, int64_t n) {
    R s0 = V::zero(), s1 = V::zero();
    int64_t c = 0;
    for (; c + 2 * W <= n; c += 2 * W) {
      s0 = V::fmadd(V::load(a + c), V::load(b + c), s0);
      s1 = V::fmadd(V::load(a + c + W), V::load(b + c + W), s1);
    }
    for (; c + W <= n; c += W) s0 = V::fmadd(V::load(a + c), V::load(b + c), s0);
    float s = V::hsum(V::add(s0, s1));
    for (; c < n; ++c) s += a[c] * b[c];
    return s;
  }
};

// ---------------------------------------------------------------------------------------------
// Packing and score epilogues (plain loops: the compiler vectorises them with this file's flags).
// ---------------------------------------------------------------------------------------------
inline const float* at(const float* base, const int64_t* s, int64_t b, int64_t h, int64_t i) {
  return base + b * s[0] + h * s[1] + i * s[2];
}

// dst (d x np): dst[c * np + t] = src[t * rs + c] for t < n, 0 for n <= t < np (a transposed tile).
inline void pack_transposed(const float* src, int64_t rs, int64_t n, int64_t d, float* dst, int64_t np) {
  for (int64_t c = 0; c < d; ++c) {
    float* out = dst + c * np;
    for (int64_t t = 0; t < n; ++t) out[t] = src[t * rs + c];
    for (int64_t t = n; t < np; ++t) out[t] = 0.0f;
  }
}

// dst (np x dp): row t = src row t (first d columns, zero to dp) for t < n; zero rows to np.
inline void pack_rows(const float* src, int64_t rs, int64_t n, int64_t d, float* dst, int64_t np, int64_t dp) {
  for (int64_t t = 0; t < np; ++t) {
    float* out = dst + t * dp;
    int64_t c = 0;
    if (t < n)
      for (; c < d; ++c) out[c] = src[t * rs + c];
    for (; c < dp; ++c) out[c] = 0.0f;
  }
}

// s[t] (t < n) holds q_i . k_j for the pairs (i, j) = (i0 + t * di, j0 + t * dj): one query
// against consecutive keys (di = 0, dj = 1) or consecutive queries against one key (di = 1,
// dj = 0). Scale, add the mask, and set -inf wherever the query may not attend (mask, causal
// rule, padding t in [n, np)).
inline void epilogue(const AttentionParams& p, float* s, int64_t n, int64_t np, int64_t b, int64_t h, int64_t i0,
                     int64_t j0, int64_t di, int64_t dj) {
  const float scale = p.scale;
  for (int64_t t = 0; t < n; ++t) s[t] *= scale;
  if (p.mask_kind != AttentionMask::none) {
    const int64_t* ms = p.mask_stride;
    const int64_t base = b * ms[0] + h * ms[1] + i0 * ms[2] + j0 * ms[3], step = di * ms[2] + dj * ms[3];
    if (p.mask_kind == AttentionMask::additive) {
      const float* m = static_cast<const float*>(p.mask) + base;
      for (int64_t t = 0; t < n; ++t) s[t] += m[t * step];
    } else {
      const uint8_t* m = static_cast<const uint8_t*>(p.mask) + base;
      for (int64_t t = 0; t < n; ++t)
        if (m[t * step] == 0) s[t] = -kInf;
    }
  }
  int64_t lo = 0, hi = n;  // causal: key j is visible to query i iff j <= i + off
  if (p.causal) {
    const int64_t off = p.k_len - p.q_len;
    if (dj == 1) hi = clamp64(i0 + off - j0 + 1, 0, n);  // keys j0 + t, t < hi
    else lo = clamp64(j0 - off - i0, 0, n);              // queries i0 + t, t >= lo
  }
  for (int64_t t = 0; t < lo; ++t) s[t] = -kInf;
  for (int64_t t = hi; t < np; ++t) s[t] = -kInf;
}

// ---------------------------------------------------------------------------------------------
// Forward: one work item is (b, h, a block of kFwdBr query rows); the key blocks stream through
// with the online softmax. S = scale Q K^T + mask; m = rowmax, l = rowsum exp(S - m),
// O = sum exp(S - m) V, rescaled by exp(m_old - m_new) when the maximum grows.
// It runs in the transposed frame, one column per query: S^T = K Q^T reads K in place against
// Q^T packed once per block, and O^T += V^T P^T reads V in place (a strided A operand), so no
// key or value is ever copied, and the softmax reductions run down the columns in registers.
// ---------------------------------------------------------------------------------------------
// A forward thread's buffers: Q^T of its query block (d x rp), S^T then P^T of one key tile
// (cols x rp), the O^T accumulator (d x rp), and per query the running max m, running sum l and
// this tile's rescale factor alpha.
struct ForwardBuffers {
  float *qt, *st, *ot, *m, *l, *alpha;
  static ForwardBuffers carve(Carver& c, int64_t d) {
    return {c.take(d * kFwdBr), c.take(kFwdBc * kFwdBr), c.take(d * kFwdBr), c.take(kFwdBr), c.take(kFwdBr),
            c.take(kFwdBr)};
  }
};

template <class V>
void forward_block(const AttentionParams& p, int64_t b, int64_t h, int64_t i0, int64_t rows,
                   const ForwardBuffers& buf) {
  using O = Ops<V>;
  const int64_t d = p.head_dim, rp = round_up(rows, V::width), hk = h / (p.heads / p.kv_heads);
  const int64_t off = p.k_len - p.q_len;
  const int64_t j_end = p.causal ? clamp64(i0 + rows + off, 0, p.k_len) : p.k_len;
  float *qt = buf.qt, *st = buf.st, *ot = buf.ot, *m = buf.m, *l = buf.l, *alpha = buf.alpha;
  pack_transposed(at(p.q, p.q_stride, b, h, i0), p.q_stride[2], rows, d, qt, rp);
  for (int64_t x = 0; x < d * rp; ++x) ot[x] = 0.0f;
  for (int64_t u = 0; u < rp; ++u) m[u] = -kInf, l[u] = 0.0f;
  for (int64_t j0 = 0; j0 < j_end; j0 += kFwdBc) {
    const int64_t cols = min64(kFwdBc, j_end - j0);
    O::gemm(cols, rp, d, at(p.k, p.k_stride, b, hk, j0), p.k_stride[2], qt, rp, st, rp, false);  // S^T
    for (int64_t t = 0; t < cols; ++t) epilogue(p, st + t * rp, rows, rp, b, h, i0, j0 + t, 1, 0);
    O::online_update(st, cols, rp, m, l, alpha);
    bool rescale = false;  // once the row maxima settle, alpha is 1 and O need not be touched
    for (int64_t u = 0; u < rp; ++u) rescale |= alpha[u] != 1.0f;
    if (rescale)
      for (int64_t c = 0; c < d; ++c) {
        float* orow = ot + c * rp;
        for (int64_t u = 0; u < rp; ++u) orow[u] *= alpha[u];
      }
    // O^T (d x rp) += V^T (d x cols, V read in place: element (c, t) at v[t * stride + c]) P^T
    O::gemm(d, rp, cols, at(p.v, p.v_stride, b, hk, j0), 1, p.v_stride[2], st, rp, ot, rp, true);
  }
  for (int64_t u = 0; u < rows; ++u) {
    float* out = p.out + b * p.out_stride[0] + h * p.out_stride[1] + (i0 + u) * p.out_stride[2];
    float* lse = p.lse + (b * p.heads + h) * p.q_len + i0 + u;
    if (l[u] == 0.0f) {  // attends to nothing: 0, and lse = -inf
      for (int64_t c = 0; c < d; ++c) out[c] = 0.0f;
      *lse = -kInf;
    } else {
      const float inv = 1.0f / l[u];
      for (int64_t c = 0; c < d; ++c) out[c] = ot[c * rp + u] * inv;
      *lse = m[u] + std::log(l[u]);
    }
  }
}

// Decode step (q_len == 1): each (b, h) row splits its keys into kSplit-long ranges, each range
// gives a partial (m, l, o) with the online softmax, and the partials merge by log-sum-exp:
// M = max m_s, L = sum l_s e^(m_s - M), out = sum e^(m_s - M) o_s / L. The ranges are fixed by
// the shape alone, so the result does not depend on the thread count; a few rows over a long
// cache still spread over every thread.
template <class V>
void decode(const AttentionParams& p) {
  using O = Ops<V>;
  const int64_t d = p.head_dim, dp = round_up(d, V::width), group = p.heads / p.kv_heads;
  const int64_t splits = max64(1, (p.k_len + kSplit - 1) / kSplit), rows = p.batch * p.heads;
  const int64_t items = rows * splits, stride = dp + 2;
  Scratch part(items * stride);
  const int threads = threads_for(p, items);
  ThreadArena scores(threads, [](Carver& c) { return c.take(kBc); });  // one key tile's scores
#pragma omp parallel num_threads(threads)
  {
    float* s = scores.get(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)  // a descheduled thread does not hold the others up
    for (int64_t it = 0; it < items; ++it) {
      const int64_t r = it / splits, sp = it % splits, b = r / p.heads, h = r % p.heads, hk = h / group;
      float* pm = part.data + it * stride;
      float* o = pm + 2;
      float m = -kInf, l = 0.0f;
      for (int64_t c = 0; c < d; ++c) o[c] = 0.0f;
      const float* q = at(p.q, p.q_stride, b, h, 0);
      const int64_t j_end = min64(p.k_len, (sp + 1) * kSplit);
      for (int64_t j0 = sp * kSplit; j0 < j_end; j0 += kBc) {
        const int64_t n = min64(kBc, j_end - j0), np = round_up(n, V::width);
        const float* k = at(p.k, p.k_stride, b, hk, j0);
        for (int64_t t = 0; t < n; ++t) s[t] = O::dot(q, k + t * p.k_stride[2], d);
        epilogue(p, s, n, np, b, h, 0, j0, 0, 1);
        const float mt = O::max(s, np);
        const float m_new = mt > m ? mt : m;
        if (m_new == -kInf) {  // nothing visible (or only NaN, which the max skips)
          if (any_nan(s, np)) l = __builtin_nanf("");
          continue;
        }
        const float alpha = m == -kInf ? 0.0f : std::exp(m - m_new);
        l = l * alpha + O::exp_sub_sum(s, np, m_new);
        if (alpha != 1.0f)
          for (int64_t c = 0; c < d; ++c) o[c] *= alpha;
        m = m_new;
        const float* v = at(p.v, p.v_stride, b, hk, j0);
        const int64_t vs = p.v_stride[2];
        int64_t t = 0;
        for (; t + 4 <= n; t += 4) {
          const float w0 = s[t], w1 = s[t + 1], w2 = s[t + 2], w3 = s[t + 3];
          const float *v0 = v + t * vs, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs;
          for (int64_t c = 0; c < d; ++c) o[c] += w0 * v0[c] + w1 * v1[c] + w2 * v2[c] + w3 * v3[c];
        }
        for (; t < n; ++t) {
          const float w = s[t], *vt = v + t * vs;
          for (int64_t c = 0; c < d; ++c) o[c] += w * vt[c];
        }
      }
      pm[0] = m;
      pm[1] = l;
    }
  }
  // Merge the partials on the calling thread (rows x splits x d: small beside the keys read).
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = part.data + r * splits * stride;
    float M = -kInf;
    for (int64_t sp = 0; sp < splits; ++sp) M = pr[sp * stride] > M ? pr[sp * stride] : M;
    const int64_t b = r / p.heads, h = r % p.heads;
    float* out = p.out + b * p.out_stride[0] + h * p.out_stride[1];
    bool nan = false;  // a range of only NaN scores has m = -inf and l = NaN
    for (int64_t sp = 0; sp < splits; ++sp) nan |= pr[sp * stride + 1] != pr[sp * stride + 1];
    if (M == -kInf || nan) {
      for (int64_t c = 0; c < d; ++c) out[c] = nan ? __builtin_nanf("") : 0.0f;
      p.lse[r] = nan ? __builtin_nanf("") : -kInf;
      continue;
    }
    float L = 0.0f;
    for (int64_t c = 0; c < d; ++c) out[c] = 0.0f;
    for (int64_t sp = 0; sp < splits; ++sp) {
      const float* ps = pr + sp * stride;
      if (ps[0] == -kInf) continue;
      const float w = std::exp(ps[0] - M);
      L += w * ps[1];
      for (int64_t c = 0; c < d; ++c) out[c] += w * ps[2 + c];
    }
    const float inv = 1.0f / L;
    for (int64_t c = 0; c < d; ++c) out[c] *= inv;
    p.lse[r] = M + std::log(L);
  }
}

template <class V>
void forward(const AttentionParams& p) {
  if (p.batch == 0 || p.heads == 0 || p.q_len == 0) return;
  if (p.q_len == 1) return decode<V>(p);
  const int64_t d = p.head_dim;
  const int64_t nqb = (p.q_len + kFwdBr - 1) / kFwdBr, items = p.batch * p.heads * nqb;
  const int threads = threads_for(p, items);
  ThreadArena arena(threads, [d](Carver& c) { return ForwardBuffers::carve(c, d); });
#pragma omp parallel num_threads(threads)
  {
    const ForwardBuffers buf = arena.get(omp_get_thread_num());
    // Dynamic, last query block first: under the causal mask the last blocks see the most keys.
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t qb = nqb - 1 - it % nqb, bh = it / nqb;
      const int64_t i0 = qb * kFwdBr, rows = min64(kFwdBr, p.q_len - i0);
      forward_block<V>(p, bh / p.heads, bh % p.heads, i0, rows, buf);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Backward, two passes, no atomics (P = exp(S - lse), D_i = rowsum(dO * O)_i):
//   pass 1, one item per (b, kv head, key block): for every query head of the group and every
//     query block below the diagonal, in the transposed frame (rows = keys):
//     S^T = K Q^T, P^T, dP^T = V dO^T, dS^T = P^T (dP^T - D),  dV += P^T dO,  dK += dS^T Q;
//   pass 2, one item per (b, head, query block): S = Q K^T, P, dP = dO V^T, dS,  dQ += dS K.
// When there are at least twice as many (b, kv head) pairs as threads (or a multiple of them),
// one fused pass per pair does both (backward_fused) and skips pass 2's recomputation.
// Every output element is one thread's sum in a fixed order, the same in both schemes:
// deterministic, and independent of the thread count.
// ---------------------------------------------------------------------------------------------
// The four packings of query block [i0, i0 + kBr) of head (b, h) that the dK/dV pass uses:
// Q^T and dO^T (d x rp) for S^T and dP^T, Q and dO (rp x dp) for dK and dV.
struct QueryTiles {
  float *qt, *dot, *qp, *dop;
  static int64_t floats(int64_t d, int64_t dp) { return 2 * d * kBr + 2 * kBr * dp; }
  static QueryTiles carve(Carver& c, int64_t d, int64_t dp) {
    return {c.take(d * kBr), c.take(d * kBr), c.take(kBr * dp), c.take(kBr * dp)};
  }
  // The tiles at t, packed back to back (floats(d, dp) in all): the fused pass keeps one per block.
  static QueryTiles at(float* t, int64_t d, int64_t dp) {
    return {t, t + d * kBr, t + 2 * d * kBr, t + 2 * d * kBr + kBr * dp};
  }
};

// One dK/dV tile's work buffers: S^T then P^T, dP^T then dS^T (cols x rp each), and per query
// the lse (+inf for padding) and D.
struct TileBuffers {
  float *st, *dst, *lse_u, *d_u;
  static TileBuffers carve(Carver& c) { return {c.take(kBc * kBr), c.take(kBc * kBr), c.take(kBr), c.take(kBr)}; }
};

template <class V>
void pack_query_tile(const AttentionParams& p, int64_t b, int64_t h, int64_t i0, const QueryTiles& tiles) {
  const int64_t d = p.head_dim, dp = round_up(d, V::width);
  const int64_t rows = min64(kBr, p.q_len - i0), rp = round_up(rows, V::width);
  const float* q = at(p.q, p.q_stride, b, h, i0);
  const float* go = at(p.grad_out, p.grad_out_stride, b, h, i0);
  pack_transposed(q, p.q_stride[2], rows, d, tiles.qt, rp);
  pack_transposed(go, p.grad_out_stride[2], rows, d, tiles.dot, rp);
  pack_rows(q, p.q_stride[2], rows, d, tiles.qp, rp, dp);
  pack_rows(go, p.grad_out_stride[2], rows, d, tiles.dop, rp, dp);
}

// One tile of the dK/dV pass: key block [j0, j0 + cols) of head (b, hk) against query block
// [i0, i0 + rows) of query head h (packed by pack_query_tile into tiles), accumulated into dk
// and dv (cols x dp). With ds != nullptr the tile's dS is also written there untransposed
// (rows x cp, zero beyond cols) for dQ.
template <class V>
void dkdv_tile(const AttentionParams& p, const float* D, int64_t b, int64_t h, int64_t hk, int64_t i0, int64_t j0,
               int64_t cols, const QueryTiles& tiles, const TileBuffers& buf, float* dk, float* dv, float* ds,
               int64_t cp) {
  using O = Ops<V>;
  const int64_t d = p.head_dim, dp = round_up(d, V::width);
  const float *qt = tiles.qt, *dot = tiles.dot, *qp = tiles.qp, *dop = tiles.dop;
  float *st = buf.st, *dst = buf.dst, *lse_u = buf.lse_u, *d_u = buf.d_u;
  const int64_t rows = min64(kBr, p.q_len - i0), rp = round_up(rows, V::width);
  const float* lse = p.lse + (b * p.heads + h) * p.q_len + i0;
  const float* Di = D + (b * p.heads + h) * p.q_len + i0;
  for (int64_t u = 0; u < rp; ++u) {  // lse +inf makes P = 0 for padding and empty rows
    lse_u[u] = u < rows && lse[u] != -kInf ? lse[u] : kInf;
    d_u[u] = u < rows ? Di[u] : 0.0f;
  }
  O::gemm(cols, rp, d, at(p.k, p.k_stride, b, hk, j0), p.k_stride[2], qt, rp, st, rp, false);  // S^T
  for (int64_t t = 0; t < cols; ++t) {
    epilogue(p, st + t * rp, rows, rp, b, h, i0, j0 + t, 1, 0);
    O::exp_sub(st + t * rp, rp, lse_u);  // P^T
  }
  O::gemm(cols, rp, d, at(p.v, p.v_stride, b, hk, j0), p.v_stride[2], dot, rp, dst, rp, false);  // dP^T
  for (int64_t t = 0; t < cols; ++t) {
    const float* pt = st + t * rp;
    float* dsr = dst + t * rp;
    for (int64_t u = 0; u < rp; ++u) dsr[u] = pt[u] * (dsr[u] - d_u[u]);  // dS^T
  }
  O::gemm(cols, dp, rp, st, rp, dop, dp, dv, dp, true);   // dV += P^T dO
  O::gemm(cols, dp, rp, dst, rp, qp, dp, dk, dp, true);   // dK += dS^T Q
  if (ds != nullptr)
    for (int64_t u = 0; u < rows; ++u) {
      float* row = ds + u * cp;
      for (int64_t t = 0; t < cols; ++t) row[t] = dst[t * rp + u];
      for (int64_t t = cols; t < cp; ++t) row[t] = 0.0f;
    }
}

// The first query block that sees key j0 under the causal rule.
inline int64_t first_query_block(const AttentionParams& p, int64_t j0) {
  return p.causal ? clamp64(j0 - (p.k_len - p.q_len), 0, p.q_len) / kBr * kBr : 0;
}

inline void write_dkdv(const AttentionParams& p, int64_t b, int64_t hk, int64_t j0, int64_t cols, int64_t dp,
                       const float* dk, const float* dv) {
  const int64_t d = p.head_dim, o = ((b * p.kv_heads + hk) * p.k_len + j0) * d;
  for (int64_t t = 0; t < cols; ++t)
    for (int64_t c = 0; c < d; ++c) {
      p.dv[o + t * d + c] = dv[t * dp + c];
      p.dk[o + t * d + c] = dk[t * dp + c] * p.scale;
    }
}

// A dK/dV-pass thread's buffers: one query block's tiles, the tile work buffers, and the dK and
// dV accumulators of its key block (kBc x dp each).
struct DkdvBuffers {
  QueryTiles tiles;
  TileBuffers tile;
  float *dk, *dv;
  static DkdvBuffers carve(Carver& c, int64_t d, int64_t dp) {
    return {QueryTiles::carve(c, d, dp), TileBuffers::carve(c), c.take(kBc * dp), c.take(kBc * dp)};
  }
};

template <class V>
void backward_dkdv_block(const AttentionParams& p, const float* D, int64_t b, int64_t hk, int64_t j0, int64_t cols,
                         const DkdvBuffers& buf) {
  const int64_t dp = round_up(p.head_dim, V::width), group = p.heads / p.kv_heads;
  float *dk = buf.dk, *dv = buf.dv;
  for (int64_t x = 0; x < cols * dp; ++x) dk[x] = dv[x] = 0.0f;
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
    for (int64_t i0 = first_query_block(p, j0); i0 < p.q_len; i0 += kBr) {
      pack_query_tile<V>(p, b, h, i0, buf.tiles);
      dkdv_tile<V>(p, D, b, h, hk, i0, j0, cols, buf.tiles, buf.tile, dk, dv, nullptr, 0);
    }
  write_dkdv(p, b, hk, j0, cols, dp, dk, dv);
}

// The fused backward for one (b, kv head), when there are enough of them to keep every thread
// busy: dQ comes from the same dS tiles, saving the recomputation of S, P and dP (5 products a
// tile instead of 7). The sums run in the same order as in the two passes (dK_j, dV_j over
// heads then query blocks; dQ_i over key blocks), so the two give the same bits.
// The query tiles of one head are packed once (QueryTiles::floats each) and reused by every key block.
// A fused-pass thread's buffers: the tile work buffers, dK and dV of a whole kv head (dkv:
// 2 k_len x dp), dQ of one query head (q_len x dp), one key tile packed by rows (kp: kBc x dp),
// one dS tile (kBr x kBc) and the head's packed query tiles.
struct FusedBuffers {
  TileBuffers tile;
  float *dkv, *dq, *kp, *ds, *packed;
  static FusedBuffers carve(Carver& c, const AttentionParams& p, int64_t dp) {
    const int64_t nqb = (p.q_len + kBr - 1) / kBr;
    return {TileBuffers::carve(c), c.take(2 * p.k_len * dp), c.take(p.q_len * dp), c.take(kBc * dp),
            c.take(kBr * kBc), c.take(nqb * QueryTiles::floats(p.head_dim, dp))};
  }
};

template <class V>
void backward_fused(const AttentionParams& p, const float* D, int64_t b, int64_t hk, const FusedBuffers& buf) {
  using O = Ops<V>;
  const int64_t d = p.head_dim, dp = round_up(d, V::width), group = p.heads / p.kv_heads;
  const int64_t tile = QueryTiles::floats(d, dp);
  float *dkv = buf.dkv, *dq = buf.dq, *kp = buf.kp, *ds = buf.ds, *packed = buf.packed;
  float *dk = dkv, *dv = dkv + p.k_len * dp;
  for (int64_t x = 0; x < 2 * p.k_len * dp; ++x) dkv[x] = 0.0f;
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
    for (int64_t x = 0; x < p.q_len * dp; ++x) dq[x] = 0.0f;
    for (int64_t i0 = 0; i0 < p.q_len; i0 += kBr)
      pack_query_tile<V>(p, b, h, i0, QueryTiles::at(packed + i0 / kBr * tile, d, dp));
    for (int64_t j0 = 0; j0 < p.k_len; j0 += kBc) {
      const int64_t cols = min64(kBc, p.k_len - j0), cp = round_up(cols, V::width);
      pack_rows(at(p.k, p.k_stride, b, hk, j0), p.k_stride[2], cols, d, kp, cp, dp);
      for (int64_t i0 = first_query_block(p, j0); i0 < p.q_len; i0 += kBr) {
        const int64_t rows = min64(kBr, p.q_len - i0);
        const QueryTiles tiles = QueryTiles::at(packed + i0 / kBr * tile, d, dp);
        dkdv_tile<V>(p, D, b, h, hk, i0, j0, cols, tiles, buf.tile, dk + j0 * dp, dv + j0 * dp, ds, cp);
        O::gemm(rows, dp, cp, ds, cp, kp, dp, dq + i0 * dp, dp, true);  // dQ += dS K
      }
    }
    float* out = p.dq + (b * p.heads + h) * p.q_len * d;
    for (int64_t i = 0; i < p.q_len; ++i)
      for (int64_t c = 0; c < d; ++c) out[i * d + c] = dq[i * dp + c] * p.scale;
  }
  for (int64_t j0 = 0; j0 < p.k_len; j0 += kBc)
    write_dkdv(p, b, hk, j0, min64(kBc, p.k_len - j0), dp, dk + j0 * dp, dv + j0 * dp);
}

// A dQ-pass thread's buffers: K^T and V^T of one key tile (d x cp), K by rows (cp x dp), S then
// P and dP then dS of one tile (kBr x kBc each), and the dQ accumulator of its query block.
struct DqBuffers {
  float *kt, *vt, *kp, *s, *ds, *dq;
  static DqBuffers carve(Carver& c, int64_t d, int64_t dp) {
    return {c.take(d * kBc), c.take(d * kBc), c.take(kBc * dp), c.take(kBr * kBc), c.take(kBr * kBc), c.take(kBr * dp)};
  }
};

template <class V>
void backward_dq_block(const AttentionParams& p, const float* D, int64_t b, int64_t h, int64_t i0, int64_t rows,
                       const DqBuffers& buf) {
  using O = Ops<V>;
  const int64_t d = p.head_dim, dp = round_up(d, V::width), hk = h / (p.heads / p.kv_heads), off = p.k_len - p.q_len;
  float *kt = buf.kt, *vt = buf.vt, *kp = buf.kp, *s = buf.s, *ds = buf.ds, *dq = buf.dq;
  for (int64_t x = 0; x < rows * dp; ++x) dq[x] = 0.0f;
  const int64_t j_end = p.causal ? clamp64(i0 + rows + off, 0, p.k_len) : p.k_len;
  const float* q = at(p.q, p.q_stride, b, h, i0);
  const float* go = at(p.grad_out, p.grad_out_stride, b, h, i0);
  const float* lse = p.lse + (b * p.heads + h) * p.q_len + i0;
  const float* Di = D + (b * p.heads + h) * p.q_len + i0;
  for (int64_t j0 = 0; j0 < j_end; j0 += kBc) {
    const int64_t cols = min64(kBc, j_end - j0), cp = round_up(cols, V::width);
    const float* k = at(p.k, p.k_stride, b, hk, j0);
    pack_transposed(k, p.k_stride[2], cols, d, kt, cp);
    pack_transposed(at(p.v, p.v_stride, b, hk, j0), p.v_stride[2], cols, d, vt, cp);
    pack_rows(k, p.k_stride[2], cols, d, kp, cp, dp);
    O::gemm(rows, cp, d, q, p.q_stride[2], kt, cp, s, cp, false);  // S
    for (int64_t r = 0; r < rows; ++r) {
      float* sr = s + r * cp;
      if (lse[r] == -kInf) {
        for (int64_t t = 0; t < cp; ++t) sr[t] = 0.0f;
        continue;
      }
      epilogue(p, sr, cols, cp, b, h, i0 + r, j0, 0, 1);
      O::exp_sub(sr, cp, lse[r]);  // P
    }
    O::gemm(rows, cp, d, go, p.grad_out_stride[2], vt, cp, ds, cp, false);  // dP
    for (int64_t r = 0; r < rows; ++r) {
      const float* pr = s + r * cp;
      float* dsr = ds + r * cp;
      for (int64_t t = 0; t < cp; ++t) dsr[t] = pr[t] * (dsr[t] - Di[r]);  // dS
    }
    O::gemm(rows, dp, cp, ds, cp, kp, dp, dq, dp, true);  // dQ += dS K
  }
  float* out = p.dq + ((b * p.heads + h) * p.q_len + i0) * d;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < d; ++c) out[r * d + c] = dq[r * dp + c] * p.scale;
}

template <class V>
void backward(const AttentionParams& p) {
  const int64_t d = p.head_dim, dp = round_up(d, V::width);
  const int64_t q_rows = p.batch * p.heads * p.q_len;
  Scratch D(q_rows);
  {
    const int threads = threads_for(p, max64(1, q_rows / 256));
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < q_rows; ++r) {
      const int64_t i = r % p.q_len, h = (r / p.q_len) % p.heads, b = r / (p.q_len * p.heads);
      D.data[r] = Ops<V>::dot(at(p.grad_out, p.grad_out_stride, b, h, i), at(p.out, p.out_stride, b, h, i), d);
    }
  }
  const int64_t fused_items = p.batch * p.kv_heads;
  const int64_t max_threads = p.num_threads == 1 ? 1 : num_threads();
  if (fused_items > 0 && (fused_items >= 2 * max_threads || fused_items % max_threads == 0)) {
    const int threads = threads_for(p, fused_items);
    ThreadArena arena(threads, [&p, dp](Carver& c) { return FusedBuffers::carve(c, p, dp); });
#pragma omp parallel num_threads(threads)
    {
      const FusedBuffers buf = arena.get(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
      for (int64_t it = 0; it < fused_items; ++it) backward_fused<V>(p, D.data, it / p.kv_heads, it % p.kv_heads, buf);
    }
    return;
  }
  const int64_t nkb = (p.k_len + kBc - 1) / kBc, kv_items = p.batch * p.kv_heads * nkb;
  if (kv_items > 0) {
    const int threads = threads_for(p, kv_items);
    ThreadArena arena(threads, [d, dp](Carver& c) { return DkdvBuffers::carve(c, d, dp); });
#pragma omp parallel num_threads(threads)
    {
      const DkdvBuffers buf = arena.get(omp_get_thread_num());
      // Under the causal mask the first key blocks are seen by the most queries: they go first.
#pragma omp for schedule(dynamic, 1)
      for (int64_t it = 0; it < kv_items; ++it) {
        const int64_t jb = it % nkb, bk = it / nkb, j0 = jb * kBc;
        backward_dkdv_block<V>(p, D.data, bk / p.kv_heads, bk % p.kv_heads, j0, min64(kBc, p.k_len - j0), buf);
      }
    }
  }
  const int64_t nqb = (p.q_len + kBr - 1) / kBr, q_items = p.batch * p.heads * nqb;
  if (q_items > 0) {
    const int threads = threads_for(p, q_items);
    ThreadArena arena(threads, [d, dp](Carver& c) { return DqBuffers::carve(c, d, dp); });
#pragma omp parallel num_threads(threads)
    {
      const DqBuffers buf = arena.get(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
      for (int64_t it = 0; it < q_items; ++it) {
        const int64_t qb = nqb - 1 - it % nqb, bh = it / nqb, i0 = qb * kBr;
        backward_dq_block<V>(p, D.data, bh / p.heads, bh % p.heads, i0, min64(kBr, p.q_len - i0), buf);
      }
    }
  }
}

}  // namespace
}  // namespace grimoire::attention_tiled

