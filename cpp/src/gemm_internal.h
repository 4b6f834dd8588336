// GEMM internals shared by the driver (gemm.cpp) and the SIMD paths (gemm_avx2.cpp, gemm_avx512.cpp).
//
// The fast paths follow BLIS: five loops around a register-blocked microkernel.
//
//   for jc in n, step NC            B block  op(B)[pc:pc+KC, jc:jc+NC] packed once, shared (L3)
//     for pc in k, step KC
//       pack B block into NR-column micro-panels (kc x NR each, zero padded)
//       for ic in m, step MC         (threads)   A block op(A)[ic:ic+MC, pc:pc+KC] packed per thread (L2)
//         pack A block into MR-row micro-panels (kc x MR each, zero padded)
//         for jr in nc, step NR      (threads)   one B micro-panel stays in L1
//           for ir in mc, step MR
//             microkernel: C[ir:ir+MR, jr:jr+NR] = alpha * Apanel @ Bpanel + beta' * C
//
// beta' is the caller's beta for the first k block and 1 after. Two shortcuts, both needing rows
// of op(B) to be contiguous:
//   - skinny (m <= kSkinnyRows = 8, e.g. a vector-matrix product): no packing; op(B) is streamed
//     a row at a time into accumulator rows that stay in L1 (Skinny below);
//   - small (B within a quarter of L2, m <= 256): no packing; the microkernel reads A and B in
//     place (strides ars/acs and ldb), since both stay in cache and packing would cost as much.
// With a single A block (m <= MC) the next B block is prefetched while the current one is used.
//
// The driver template below is compiled once per ISA file, inside a namespace named by that
// file (GRIMOIRE_GEMM_DRIVER), so the AVX-512 instantiation can never be linked into the AVX2 path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "grimoire/gemm.h"

namespace grimoire::gemm_detail {

// Cache blocking for a microkernel of mr x nr elements of `elem_size` bytes (from the cache sizes
// sysconf reports, clamped to sane values).
struct Blocking {
  int64_t mc, nc, kc;
  int64_t l2;  // bytes of L2 per core
};
Blocking blocking(int mr, int nr, int elem_size);

// Per-thread, 64-byte aligned scratch that is kept and reused across calls (grows only).
// slot 0: packed A, slot 1: packed B, slot 2: a B edge panel.
void* scratch(int slot, size_t bytes);

// Threads for one call: p.num_threads (0: grimoire::num_threads()), reduced for small products.
int threads_for(int requested, int64_t m, int64_t n, int64_t k);

// C = beta * C over the whole of C (beta == 0 writes zeros without reading): k == 0 or alpha == 0.
template <typename T>
void scale_only(const GemmParams<T>& p);

// The SIMD paths (defined in gemm_avx2.cpp / gemm_avx512.cpp).
void gemm_avx2(const GemmParams<float>& p);
void gemm_avx2(const GemmParams<double>& p);
void gemm_avx512(const GemmParams<float>& p);
void gemm_avx512(const GemmParams<double>& p);

// CPU seconds this thread takes for `iterations` x 12 independent 8-lane (16-lane) FMAs
// (fma_peak_flops).
double fma_peak_avx2(int64_t iterations);
double fma_peak_avx512(int64_t iterations);

}  // namespace grimoire::gemm_detail

#ifdef GRIMOIRE_GEMM_DRIVER
#include <omp.h>

namespace grimoire::gemm_detail::GRIMOIRE_GEMM_DRIVER {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Pack rows [0, mc) x cols [0, kc) of op(A) (a points at its (0, 0)) into MR-row micro-panels:
// panel r holds out[p * MR + i] = op(A)[r*MR + i, p], rows past mc zero.
template <typename T, int MR>
void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* out) {
  for (int64_t r = 0; r < mc; r += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - r);
    const T* ar = a + r * rs;
    if (mr == MR && rs == 1) {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(out + p * MR, ar + p * cs, MR * sizeof(T));
    } else if (mr == MR && cs == 1) {
      // Row-major A: each k step reads one value from each of the MR row streams and writes one
      // contiguous MR-value step of the panel (writing a row at a time instead, MR floats apart,
      // cost ~5 cycles a value: 11% of a 1024^3 product on Zen 5).
      const T* rows[MR];
      for (int i = 0; i < MR; ++i) rows[i] = ar + i * rs;
      for (int64_t p = 0; p < kc; ++p) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) out[p * MR + i] = rows[i][p];
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        int i = 0;
        for (; i < mr; ++i) out[p * MR + i] = ar[i * rs + p * cs];
        for (; i < MR; ++i) out[p * MR + i] = T(0);
      }
    }
    out += MR * kc;
  }
}

// Pack one NR-column micro-panel of op(B): out[p * NR + j] = op(B)[p, j] for j < nr, zero after.
template <typename T, int NR>
void pack_b_panel(int64_t kc, int64_t nr, const T* b, int64_t rs, int64_t cs, T* out) {
  if (nr == NR && cs == 1) {
    for (int64_t p = 0; p < kc; ++p) std::memcpy(out + p * NR, b + p * rs, NR * sizeof(T));
  } else if (nr == NR && rs == 1) {
    for (int j = 0; j < NR; ++j) {
      const T* col = b + j * cs;
      for (int64_t p = 0; p < kc; ++p) out[p * NR + j] = col[p];
    }
  } else {
    for (int64_t p = 0; p < kc; ++p) {
      int j = 0;
      for (; j < nr; ++j) out[p * NR + j] = b[p * rs + j * cs];
      for (; j < NR; ++j) out[p * NR + j] = T(0);
    }
  }
}

// A register-blocked MR x (NV * V::L) microkernel over a SIMD vector type V that provides
// reg, L (lanes), zero(), load(p), bcast(p), fma(a, b, c), mul(a, b), store(p, r).
// The MR x NV accumulators live in registers (the loops are fully unrolled).
template <typename T, typename V, int MR_, int NV>
struct Microkernel {
  static constexpr int MR = MR_, NR = NV * V::L;
  using R = typename V::reg;
  using Vec = V;

  // A is a packed micro-panel (a[p * MR + i]) or, unpacked, read in place: a[i * ars + p * acs].
  template <int ROWS, bool PACKED>
  static inline void compute(int64_t kc, const T* a, int64_t ars, int64_t acs, const T* b, int64_t ldb, T* c,
                             int64_t rs, int64_t cs,
                             T alpha, T beta) {
    // The C tile is touched only at the end: start bringing it in now, so its lines are in L1
    // by then (a power-of-two row stride makes them collide in one L1 set, and miss).
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      __builtin_prefetch(c + i * rs, 1, 3);
      __builtin_prefetch(c + i * rs + (NR - 1) * cs, 1, 3);
    }
    R acc[ROWS][NV];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      R bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * V::L);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        const R ai = V::bcast(PACKED ? a + i : a + i * ars);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
      }
      a += PACKED ? MR : acs;
      b += ldb;
    }
    const R va = V::bcast(&alpha);
    if (cs == 1) {
      const R vb = V::bcast(&beta);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          T* ci = c + i * rs + v * V::L;
          V::store(ci, beta == T(0) ? V::mul(va, acc[i][v]) : V::fma(vb, V::load(ci), V::mul(va, acc[i][v])));
        }
      return;
    }
    alignas(64) T tmp[ROWS * NR];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) V::store(tmp + i * NR + v * V::L, V::mul(va, acc[i][v]));
    for (int i = 0; i < ROWS; ++i)
      for (int j = 0; j < NR; ++j) {
        T& cij = c[i * rs + j * cs];
        cij = beta == T(0) ? tmp[i * NR + j] : tmp[i * NR + j] + beta * cij;
      }
  }

  template <bool PACKED>
  static void full(int64_t kc, const T* a, int64_t ars, int64_t acs, const T* b, int64_t ldb, T* c, int64_t rs,
                   int64_t cs, T alpha, T beta) {
    compute<MR, PACKED>(kc, a, ars, acs, b, ldb, c, rs, cs, alpha, beta);
  }

  template <bool PACKED, int ROWS = 1>
  static inline void rows_from(int mr, int64_t kc, const T* a, int64_t ars, int64_t acs, const T* b, int64_t ldb,
                               T* c, int64_t rs, int64_t cs, T alpha, T beta) {
    if constexpr (ROWS < MR) {
      if (mr == ROWS) compute<ROWS, PACKED>(kc, a, ars, acs, b, ldb, c, rs, cs, alpha, beta);
      else rows_from<PACKED, ROWS + 1>(mr, kc, a, ars, acs, b, ldb, c, rs, cs, alpha, beta);
    }
  }
  template <bool PACKED>
  static void rows(int mr, int64_t kc, const T* a, int64_t ars, int64_t acs, const T* b, int64_t ldb, T* c,
                   int64_t rs, int64_t cs, T alpha, T beta) {
    rows_from<PACKED, 1>(mr, kc, a, ars, acs, b, ldb, c, rs, cs, alpha, beta);
  }
};

// Panels [pb, pe) of a row-major op(B) block (nc columns), read a row at a time so memory is
// streamed in order: panel jp gets out[jp*NR*kc + p*NR + j] = op(B)[p, jp*NR + j], zero past nc.
template <typename T, int NR>
void pack_b_rows(int64_t kc, int64_t pb, int64_t pe, int64_t nc, const T* b, int64_t rs, T* out) {
  if (pb >= pe) return;
  const int64_t full_end = std::min(pe, nc / NR);
  constexpr int64_t kAhead = 8;  // rows prefetched ahead: many lines in flight, not one stream
  const int64_t line = 64 / static_cast<int64_t>(sizeof(T));
  for (int64_t p = 0; p < kc; ++p) {
    const T* row = b + p * rs;
    if (p + kAhead < kc)
      for (int64_t j = pb * NR; j < full_end * NR; j += line) __builtin_prefetch(row + kAhead * rs + j, 0, 3);
    for (int64_t jp = pb; jp < full_end; ++jp) {
      std::memcpy(out + jp * NR * kc + p * NR, row + jp * NR, NR * sizeof(T));
    }
  }
  for (int64_t jp = std::max(pb, full_end); jp < pe; ++jp)
    pack_b_panel<T, NR>(kc, std::min<int64_t>(NR, nc - jp * NR), b + jp * NR, rs, 1, out + jp * NR * kc);
}

// Skinny path for op(A) with at most kSkinnyRows rows and op(B) with contiguous rows (m = 1 is a
// vector-matrix product): op(B) is streamed a row at a time, as it lies in memory, and each of its
// elements is used by all m rows while it is in L1. Columns go in chunks whose m accumulator rows
// (a contiguous buffer) fill about half of L1; C = alpha * acc + beta * C at the end of a chunk.
constexpr int kSkinnyRows = 8;

template <typename T, typename V>
struct Skinny {
  using R = typename V::reg;
  static constexpr int L = V::L;

  // acc[i * ld + j] += sum over the 4 rows q of a_q[i] * b_q[j], for j < w (w a multiple of L).
  static inline void quad(int64_t m, int64_t w, const T* a, int64_t ars, int64_t acs, const T* b0, int64_t rsb,
                          T* acc, int64_t ld) {
    const T *b1 = b0 + rsb, *b2 = b1 + rsb, *b3 = b2 + rsb;
    for (int64_t i = 0; i < m; ++i) {
      const T* ai = a + i * ars;
      const R a0 = V::bcast(ai), a1 = V::bcast(ai + acs), a2 = V::bcast(ai + 2 * acs), a3 = V::bcast(ai + 3 * acs);
      T* ci = acc + i * ld;
      for (int64_t j = 0; j < w; j += L) {
        R c = V::load(ci + j);
        c = V::fma(a0, V::load(b0 + j), c);
        c = V::fma(a1, V::load(b1 + j), c);
        c = V::fma(a2, V::load(b2 + j), c);
        c = V::fma(a3, V::load(b3 + j), c);
        V::store(ci + j, c);
      }
    }
  }

  static void single(int64_t m, int64_t w, const T* a, int64_t ars, const T* b0, T* acc, int64_t ld) {
    for (int64_t i = 0; i < m; ++i) {
      const R a0 = V::bcast(a + i * ars);
      T* ci = acc + i * ld;
      for (int64_t j = 0; j < w; j += L) V::store(ci + j, V::fma(a0, V::load(b0 + j), V::load(ci + j)));
    }
  }

  // k is summed in blocks of kBlockK rows: one accumulator over all of k (2^26 ones in float32
  // stop growing at 2^24) loses ~k * eps; a block's partial sum is added to a double total.
  static constexpr int64_t kBlockK = 256;

  // acc += the rows [q0, q1) of k (w vector columns).
  static void k_rows(const GemmParams<T>& p, int64_t m, int64_t w, const T* b, int64_t q0, int64_t q1, T* acc,
                     int64_t ld) {
    int64_t q = q0;
    for (; q + 4 <= q1; q += 4)
      quad(m, w, p.a + q * p.a_col_stride, p.a_row_stride, p.a_col_stride, b + q * p.b_row_stride, p.b_row_stride,
           acc, ld);
    for (; q < q1; ++q) single(m, w, p.a + q * p.a_col_stride, p.a_row_stride, b + q * p.b_row_stride, acc, ld);
  }

  // Columns [j_begin, j_end) of C.
  static void columns(const GemmParams<T>& p, int64_t j_begin, int64_t j_end) {
    const int64_t m = p.m, k = p.k;
    const int64_t chunk = std::max<int64_t>(L, (16384 / static_cast<int64_t>(sizeof(T)) / m) / L * L);
    T* acc = static_cast<T*>(scratch(0, sizeof(T) * m * chunk));
    const bool blocked = k > kBlockK;
    double* total = blocked ? static_cast<double*>(scratch(1, sizeof(double) * m * chunk)) : nullptr;
    for (int64_t jc = j_begin; jc < j_end; jc += chunk) {
      const int64_t w_all = std::min(chunk, j_end - jc);
      const int64_t w = w_all / L * L;  // vector part; the last w_all - w columns are done in scalar
      std::memset(acc, 0, sizeof(T) * m * chunk);
      if (blocked) std::memset(total, 0, sizeof(double) * m * chunk);
      const T* b = p.b + jc;
      if (w > 0) {
        for (int64_t q0 = 0; q0 < k; q0 += kBlockK) {
          k_rows(p, m, w, b, q0, std::min(k, q0 + kBlockK), acc, chunk);
          if (!blocked) continue;
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < w; ++j) total[i * chunk + j] += acc[i * chunk + j];
          std::memset(acc, 0, sizeof(T) * m * chunk);
        }
      }
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = w; j < w_all; ++j) {  // the last w_all - w < L columns, summed in double
          double sum = 0.0;
          for (int64_t r = 0; r < k; ++r)
            sum += static_cast<double>(p.a[i * p.a_row_stride + r * p.a_col_stride]) * b[r * p.b_row_stride + j];
          if (blocked) total[i * chunk + j] = sum;
          else acc[i * chunk + j] = static_cast<T>(sum);
        }
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < w_all; ++j) {
          const T v = blocked ? static_cast<T>(total[i * chunk + j]) : acc[i * chunk + j];
          T& cij = p.c[i * p.c_row_stride + (jc + j) * p.c_col_stride];
          cij = p.beta == T(0) ? p.alpha * v : p.alpha * v + p.beta * cij;
        }
    }
  }

  static void run(const GemmParams<T>& p) {
    const int threads = threads_for(p.num_threads, p.m, p.n, p.k);
    const int64_t pieces = ceil_div(p.n, L);
    if (threads <= 1 || pieces < 2) {
      columns(p, 0, p.n);
      return;
    }
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t b = pieces * t / nt * L, e = std::min(p.n, pieces * (t + 1) / nt * L);
      if (b < e) columns(p, b, e);
    }
  }
};

// Kernel must provide:
//   static constexpr int MR, NR;
//   template <bool PACKED> static void full(kc, a, ars, acs, b, ldb, c, rs, cs, alpha, beta);
//   template <bool PACKED> static void rows(mr, ...same...)   // mr < MR valid rows, all NR columns
// Both compute C[i, j] = alpha * sum_p a[p*MR + i] * b[p*ldb + j] + beta * C[i, j] (beta == 0: C not read).
template <typename T, typename Kernel>
struct Driver {
  static constexpr int MR = Kernel::MR, NR = Kernel::NR;

  // One micro-tile, any mr <= MR, nr <= NR.
  template <bool PACKED>
  static inline void tile(int64_t kc, int64_t mr, int64_t nr, const T* a, int64_t ars, int64_t acs, const T* b,
                          int64_t ldb, T* c, int64_t rs, int64_t cs, T alpha, T beta) {
    if (nr == NR) {
      if (mr == MR) Kernel::template full<PACKED>(kc, a, ars, acs, b, ldb, c, rs, cs, alpha, beta);
      else Kernel::template rows<PACKED>(static_cast<int>(mr), kc, a, ars, acs, b, ldb, c, rs, cs, alpha, beta);
      return;
    }
    alignas(64) T tmp[MR * NR] = {};
    if (mr == MR) Kernel::template full<PACKED>(kc, a, ars, acs, b, ldb, tmp, NR, 1, T(1), T(0));
    else Kernel::template rows<PACKED>(static_cast<int>(mr), kc, a, ars, acs, b, ldb, tmp, NR, 1, T(1), T(0));
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < nr; ++j) {
        T& cij = c[i * rs + j * cs];
        cij = beta == T(0) ? alpha * tmp[i * NR + j] : alpha * tmp[i * NR + j] + beta * cij;
      }
  }

  static void run(const GemmParams<T>& p) {
    if (p.m <= 0 || p.n <= 0) return;
    if (p.k <= 0 || p.alpha == T(0)) {
      scale_only(p);
      return;
    }
    const int64_t m = p.m, n = p.n, k = p.k;
    if (m <= kSkinnyRows && p.b_col_stride == 1) {
      Skinny<T, typename Kernel::Vec>::run(p);
      return;
    }
    Blocking blk = blocking(MR, NR, sizeof(T));
    // A small problem (B fits in a quarter of L2, m <= 256, rows of op(B) contiguous) reads
    // A and B in place: packing would cost as much as using them, and they stay in cache anyway.
    const bool direct_b = p.b_col_stride == 1 && m <= 256 &&
                          static_cast<double>(k) * n * sizeof(T) <= static_cast<double>(blk.l2) / 4;
    // A short op(A) is one A block: the B block is used once, so it is kept to about half of L2
    // (it is read from memory once, row segments at a time, and the kernel finds it in L2).
    if (m <= blk.mc) blk.nc = std::min(blk.nc, std::max<int64_t>(NR, blk.l2 / 2 / (blk.kc * sizeof(T)) / NR * NR));
    const int64_t kc_max = std::min(k, blk.kc);
    const int64_t nc_max = direct_b ? n : std::min(n, blk.nc);
    const int threads = threads_for(p.num_threads, m, n, k);
    // One extra panel per thread: without barriers each thread packs into its own region (body).
    T* bpack = direct_b ? nullptr
                        : static_cast<T*>(scratch(1, sizeof(T) * kc_max * (ceil_div(nc_max, NR) + threads) * NR));
    if (threads <= 1) {
      body(p, blk, direct_b, bpack, 0, 1, false);
      return;
    }
#pragma omp parallel num_threads(threads)
    body(p, blk, direct_b, bpack, omp_get_thread_num(), omp_get_num_threads(), true);
  }

  // The work of thread `tid` of `nt`. Threads form a tm x tn grid: tm split the ic blocks, tn
  // split the B micro-panels of each block. Every thread runs the same jc/pc loops, so the
  // barriers around the shared B pack match up.
  static void body(const GemmParams<T>& p, const Blocking& blk, bool direct_b, T* bpack, int tid, int nt,
                   bool sync) {
    const int64_t m = p.m, n = p.n, k = p.k;
    // Threads share out the B micro-panels when there are enough of them: each thread then packs
    // only its own panels, with no barrier (measured: 1024^3 on 2 threads went from 1.0x to 1.8x
    // one thread). Only a narrow op(B) splits the rows of A instead, around a shared B pack.
    int tm = 1;
    if (ceil_div(std::min(n, blk.nc), NR) < 4 * nt)
      for (int d = nt; d >= 1; --d)
        if (nt % d == 0 && m >= static_cast<int64_t>(d) * 4 * MR) {
          tm = d;
          break;
        }
    const int tn = nt / tm;
    // With tm == 1 every thread packs exactly the B micro-panels it then uses, so the packed B
    // block is not shared and needs no barriers (which, on a busy machine, can each cost a
    // scheduling quantum).
    const bool shared_b = sync && tm > 1;
    const int tid_m = tid / tn, tid_n = tid % tn;
    // Balanced A blocks: at most MC rows, a multiple of MR, about m / tm each when m is small.
    const int64_t mc = std::min(blk.mc, ceil_div(ceil_div(m, tm), MR) * MR);
    const int64_t n_ic = ceil_div(m, mc);
    const int64_t nc_step = direct_b ? n : blk.nc;
    const int64_t kc_max = std::min(k, blk.kc);
    T* apack = direct_b ? nullptr : static_cast<T*>(scratch(0, sizeof(T) * mc * kc_max));
    T* edge = direct_b ? static_cast<T*>(scratch(2, sizeof(T) * kc_max * NR)) : nullptr;

    // Without barriers (shared_b false) a thread may pack the next block while another still
    // computes on this one, and panel jp sits at jp * NR * kc, which moves when kc (the last depth
    // block) or the panel split (the last column block) changes. So each thread keeps its panels
    // in a fixed region of its own, sized for the widest block.
    const int64_t region = ceil_div(ceil_div(std::min(n, nc_step), NR), nt) * NR * kc_max;

    for (int64_t jc = 0; jc < n; jc += nc_step) {
      const int64_t nc = std::min(nc_step, n - jc);
      const int64_t panels = ceil_div(nc, NR);
      const int64_t j_begin = panels * tid_n / tn, j_end = panels * (tid_n + 1) / tn;
      for (int64_t pc = 0; pc < k; pc += blk.kc) {
        const int64_t kc = std::min(blk.kc, k - pc);
        const T beta = pc == 0 ? p.beta : T(1);
        const T* b0 = p.b + pc * p.b_row_stride + jc * p.b_col_stride;
        const int64_t pb = panels * tid / nt, pe = panels * (tid + 1) / nt;
        // Panel jp of this block at bblock + jp * NR * kc (pb * NR * kc <= tid * region).
        T* bblock = direct_b || shared_b ? bpack : bpack + tid * region - pb * NR * kc;
        if (!direct_b) {
          if (p.b_col_stride == 1) {
            pack_b_rows<T, NR>(kc, pb, pe, nc, b0, p.b_row_stride, bblock);
          } else {
            for (int64_t jp = pb; jp < pe; ++jp)
              pack_b_panel<T, NR>(kc, std::min<int64_t>(NR, nc - jp * NR), b0 + jp * NR * p.b_col_stride,
                                  p.b_row_stride, p.b_col_stride, bblock + jp * NR * kc);
          }
          if (shared_b) {
#pragma omp barrier
          }
        }
        // With a single A block the packed B block is used once; while it is in use, the rows of
        // the next B block that this thread will pack are prefetched into L2, spread over its
        // micro-panels, so reading op(B) from memory overlaps the arithmetic.
        const bool prefetch_next = !direct_b && n_ic == 1 && p.b_col_stride == 1 && j_end > j_begin;
        const T* next_b = nullptr;
        int64_t next_kc = 0, next_col0 = 0, next_col1 = 0;
        if (prefetch_next) {
          const bool same_jc = pc + blk.kc < k;
          const int64_t jc2 = same_jc ? jc : jc + nc_step, pc2 = same_jc ? pc + blk.kc : 0;
          if (jc2 < n) {
            const int64_t nc2 = std::min(nc_step, n - jc2), panels2 = ceil_div(nc2, NR);
            next_kc = std::min(blk.kc, k - pc2);
            next_col0 = panels2 * tid / nt * NR;
            next_col1 = std::min(nc2, panels2 * (tid + 1) / nt * NR);
            next_b = p.b + pc2 * p.b_row_stride + jc2;
          }
        }
        for (int64_t ib = tid_m; ib < n_ic; ib += tm) {
          const int64_t ic = ib * mc;
          const int64_t mcb = std::min(mc, m - ic);
          const T* a0 = p.a + ic * p.a_row_stride + pc * p.a_col_stride;
          if (!direct_b) pack_a<T, MR>(mcb, kc, a0, p.a_row_stride, p.a_col_stride, apack);
          for (int64_t jp = j_begin; jp < j_end; ++jp) {
            if (next_b != nullptr) {
              const int64_t share = j_end - j_begin, r0 = next_kc * (jp - j_begin) / share,
                            r1 = next_kc * (jp - j_begin + 1) / share;
              for (int64_t r = r0; r < r1; ++r)
                for (int64_t j = next_col0; j < next_col1; j += 64 / static_cast<int64_t>(sizeof(T)))
                  __builtin_prefetch(next_b + r * p.b_row_stride + j, 0, 2);
            }
            const int64_t nr = std::min<int64_t>(NR, nc - jp * NR);
            const T* bp;
            int64_t ldb;
            if (!direct_b) {
              bp = bblock + jp * NR * kc;  // with shared_b false, jp is in this thread's [pb, pe)
              ldb = NR;
            } else if (nr == NR) {
              bp = b0 + jp * NR;
              ldb = p.b_row_stride;
            } else {  // the last, partial panel: copied so the kernel never reads past op(B)
              pack_b_panel<T, NR>(kc, nr, b0 + jp * NR, p.b_row_stride, 1, edge);
              bp = edge;
              ldb = NR;
            }
            T* cj = p.c + ic * p.c_row_stride + (jc + jp * NR) * p.c_col_stride;
            for (int64_t ir = 0; ir < mcb; ir += MR) {
              const int64_t mr = std::min<int64_t>(MR, mcb - ir);
              T* cij = cj + ir * p.c_row_stride;
              if (direct_b)  // a small problem: A is read in place too, all of it sits in L1/L2
                tile<false>(kc, mr, nr, a0 + ir * p.a_row_stride, p.a_row_stride, p.a_col_stride, bp, ldb, cij,
                            p.c_row_stride, p.c_col_stride, p.alpha, beta);
              else
                tile<true>(kc, mr, nr, apack + ir * kc, 1, MR, bp, ldb, cij, p.c_row_stride, p.c_col_stride,
                           p.alpha, beta);
            }
          }
        }
        if (!direct_b && shared_b) {
#pragma omp barrier
        }
      }
    }
  }
};

}  // namespace grimoire::gemm_detail::GRIMOIRE_GEMM_DRIVER
#endif  // GRIMOIRE_GEMM_DRIVER
