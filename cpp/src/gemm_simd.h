// The GEMM's SIMD paths, written once over simd_vec.h's vector traits and instantiated by one file
// per ISA (gemm_avx2.cpp: V = simd::Avx2 / Avx2F64, gemm_avx512.cpp: simd::Avx512 / Avx512F64)
// into its GemmKernels table (GemmSimd::table below). Every template here takes the vector type,
// so an AVX-512 instantiation can never be linked into the AVX2 path (see simd_vec.h).
//
// The fast paths follow BLIS: five loops around a register-blocked microkernel.
//
//   for jc in n, step NC            B block  op(B)[pc:pc+KC, jc:jc+NC] packed once (L3)
//     for pc in k, step KC
//       pack B block into NR-column micro-panels (kc x NR each, zero padded)
//       for ic in m, step MC         (threads)   A block op(A)[ic:ic+MC, pc:pc+KC] packed per thread (L2)
//         pack A block into MR-row micro-panels (kc x MR each, zero padded)
//         for jr in nc, step NR      (threads)   one B micro-panel stays in L1   } macrokernel
//           for ir in mc, step MR                                                 }
//             microkernel: C[ir:ir+mr, jr:jr+nr] = alpha * Apanel @ Bpanel + beta' * C
//
// beta' is the caller's beta for the first k block and 1 after. The microkernel writes the
// mr x nr edge tiles itself (masked stores), so C is never staged in a temporary tile. Two
// shortcuts, both needing rows of op(B) to be contiguous:
//   - skinny (m <= kSkinnyRows = 8, e.g. a vector-matrix product): no packing; op(B) is streamed
//     a row at a time into accumulator rows that stay in L1 (Skinny below);
//   - small (B within a quarter of L2, m <= 256): no packing; the microkernel reads A and B in
//     place (strides ars/acs and ldb), since both stay in cache and packing would cost as much.
// With a single A block (m <= MC) the next B block is prefetched while the current one is used.
//
// Tried on Zen 5 (1 thread, 1024^3 / 4096^3 float32, A/B builds alternated) and left out, no gain
// beyond the +-2% noise: huge pages (2 MiB aligned, MADV_HUGEPAGE) on the packing buffers; the
// ir-outer / jr-inner macrokernel order (A micro-panel kept in L1) with nc 128..384, mc 1008;
// a software prefetch of the A stream 1 KiB ahead in the k loop; the C prefetch into L2 only;
// kc 1024; packing row-major A a cache line of k steps at a time (3% slower).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "gemm_internal.h"
#include "simd_vec.h"

namespace grimoire::gemm_detail {

inline constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A register-blocked MR x (NV * V::width) microkernel. The MR x NV accumulators live in registers
// (the loops are fully unrolled); any tile of mr <= MR rows (compile-time ROWS) and nr <= NR
// columns is written straight into C.
template <class V, int MR_, int NV>
struct Microkernel {
  using T = typename V::value;
  using R = typename V::reg;
  using Vec = V;
  static constexpr int L = static_cast<int>(V::width), MR = MR_, NR = NV * L;

  // C[i, j] = alpha * sum_p A[i, p] * B[p, j] + beta * C[i, j] for i < ROWS, j < nr (beta == 0:
  // C not read). A is a packed micro-panel (a[p * MR + i]) or, unpacked, a[i * ars + p * acs];
  // B is b[p * ldb + j], readable for all NR columns.
  template <int ROWS, bool PACKED>
  static inline void compute(int64_t kc, const T* a, int64_t ars, int64_t acs, const T* b, int64_t ldb,
                             int64_t nr, T* c, int64_t rs, int64_t cs, T alpha, T beta) {
    // The C tile is touched only at the end: start bringing it in now, so its lines are in L1
    // by then (a power-of-two row stride makes them collide in one L1 set, and miss).
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      __builtin_prefetch(c + i * rs, 1, 3);
      __builtin_prefetch(c + i * rs + (nr - 1) * cs, 1, 3);
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
      for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * L);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        const R ai = V::bcast(PACKED ? a + i : a + i * ars);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = V::fmadd(ai, bv[v], acc[i][v]);
      }
      a += PACKED ? MR : acs;
      b += ldb;
    }
    if (cs == 1) store_rows<ROWS>(acc, nr, c, rs, alpha, beta);
    else store_strided<ROWS>(acc, nr, c, rs, cs, alpha, beta);
  }

  // The stores are forced inline and their loops unrolled: called out of line, or indexing acc
  // with a run-time index, they make acc addressable, and the compiler then keeps the
  // accumulators in memory through the k loop (AVX2: 111 -> 60 GFLOP/s).
  // C rows of contiguous columns: whole vectors, then the last partial one masked.
  template <int ROWS>
  [[gnu::always_inline]] static inline void store_rows(R (&acc)[ROWS][NV], int64_t nr, T* c, int64_t rs, T alpha, T beta) {
    const R va = V::set1(alpha), vb = V::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        T* ci = c + i * rs + v * L;
        const int64_t n = nr - v * L;
        const R ab = V::mul(va, acc[i][v]);
        if (n >= L) V::store(ci, beta == T(0) ? ab : V::fmadd(vb, V::load(ci), ab));
        else if (n > 0) V::store_n(ci, beta == T(0) ? ab : V::fmadd(vb, V::load_n(ci, n), ab), n);
      }
  }

  // C with a column stride: each vector goes out lane by lane.
  template <int ROWS>
  [[gnu::always_inline]] static inline void store_strided(R (&acc)[ROWS][NV], int64_t nr, T* c, int64_t rs, int64_t cs, T alpha,
                                   T beta) {
    alignas(64) T lane[L];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        V::store(lane, V::mul(V::set1(alpha), acc[i][v]));
        for (int64_t j = 0; j < std::min<int64_t>(L, nr - v * L); ++j) {
          T& cij = c[i * rs + (v * L + j) * cs];
          cij = beta == T(0) ? lane[j] : lane[j] + beta * cij;
        }
      }
  }

  template <bool PACKED, int ROWS = MR>
  static inline void tile(int mr, int64_t kc, const T* a, int64_t ars, int64_t acs, const T* b, int64_t ldb,
                          int64_t nr, T* c, int64_t rs, int64_t cs, T alpha, T beta) {
    if constexpr (ROWS > 1) {
      if (mr < ROWS) return tile<PACKED, ROWS - 1>(mr, kc, a, ars, acs, b, ldb, nr, c, rs, cs, alpha, beta);
    }
    compute<ROWS, PACKED>(kc, a, ars, acs, b, ldb, nr, c, rs, cs, alpha, beta);
  }
};

// Skinny path for op(A) with at most kSkinnyRows rows and op(B) with contiguous rows (m = 1 is a
// vector-matrix product): op(B) is streamed a row at a time, as it lies in memory, and each of its
// elements is used by all m rows while it is in L1. Columns go in chunks whose m accumulator rows
// (a contiguous buffer) fill about half of L1; C = alpha * acc + beta * C at the end of a chunk.
constexpr int kSkinnyRows = 8;

template <class V>
struct Skinny {
  using T = typename V::value;
  using R = typename V::reg;
  static constexpr int64_t L = V::width;

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
        c = V::fmadd(a0, V::load(b0 + j), c);
        c = V::fmadd(a1, V::load(b1 + j), c);
        c = V::fmadd(a2, V::load(b2 + j), c);
        c = V::fmadd(a3, V::load(b3 + j), c);
        V::store(ci + j, c);
      }
    }
  }

  static void single(int64_t m, int64_t w, const T* a, int64_t ars, const T* b0, T* acc, int64_t ld) {
    for (int64_t i = 0; i < m; ++i) {
      const R a0 = V::bcast(a + i * ars);
      T* ci = acc + i * ld;
      for (int64_t j = 0; j < w; j += L) V::store(ci + j, V::fmadd(a0, V::load(b0 + j), V::load(ci + j)));
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

// The five loops around a Kernel (a Microkernel above): C = alpha * op(A) op(B) + beta * C.
template <class Kernel>
struct Driver {
  using T = typename Kernel::T;
  static constexpr int MR = Kernel::MR, NR = Kernel::NR;

  // Pack rows [0, mc) x cols [0, kc) of op(A) (a points at its (0, 0)) into MR-row micro-panels:
  // panel r holds out[p * MR + i] = op(A)[r*MR + i, p], rows past mc zero.
  static void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* out) {
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
  static void pack_b_panel(int64_t kc, int64_t nr, const T* b, int64_t rs, int64_t cs, T* out) {
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

  // Panels [pb, pe) of a row-major op(B) block (nc columns), read a row at a time so memory is
  // streamed in order: panel jp gets out[jp*NR*kc + p*NR + j] = op(B)[p, jp*NR + j], zero past nc.
  static void pack_b_rows(int64_t kc, int64_t pb, int64_t pe, int64_t nc, const T* b, int64_t rs, T* out) {
    if (pb >= pe) return;
    const int64_t full_end = std::min(pe, nc / NR);
    constexpr int64_t kAhead = 8;  // rows prefetched ahead: many lines in flight, not one stream
    constexpr int64_t line = 64 / static_cast<int64_t>(sizeof(T));
    for (int64_t p = 0; p < kc; ++p) {
      const T* row = b + p * rs;
      if (p + kAhead < kc)
        for (int64_t j = pb * NR; j < full_end * NR; j += line) __builtin_prefetch(row + kAhead * rs + j, 0, 3);
      for (int64_t jp = pb; jp < full_end; ++jp) std::memcpy(out + jp * NR * kc + p * NR, row + jp * NR, NR * sizeof(T));
    }
    for (int64_t jp = std::max(pb, full_end); jp < pe; ++jp)
      pack_b_panel(kc, std::min<int64_t>(NR, nc - jp * NR), b + jp * NR, rs, 1, out + jp * NR * kc);
  }

  // What all threads of one call share.
  struct Plan {
    Blocking blk;
    bool direct_b;  // a small problem: A and B are read in place, nothing is packed
    T* bpack;       // the packed B blocks (null with direct_b)
    const GemmBPacker<T>* packer;  // op(B) gathered by the caller's packer (null: read through p.b)
  };

  // One thread's place in the tm x tn thread grid and its own buffers.
  struct Grid {
    int tid, nt, tm, tn, tid_m, tid_n;
    bool shared_b;        // the packed B block is shared by threads (barriers around it)
    int64_t mc, n_ic;     // rows per A block, A blocks
    int64_t nc_step;      // columns per B block
    int64_t region;       // elements of this thread's own B panel region (shared_b false)
    T* apack;             // the packed A block
    T* edge;              // with direct_b: the last, partial B panel, copied
  };

  // One jc/pc block of op(B) and this thread's micro-panels [j_begin, j_end) of it.
  struct Block {
    int64_t jc, pc, nc, kc, j_begin, j_end;
    const T* b0;  // op(B)[pc, jc]
    T* bblock;    // packed panel jp at bblock + jp * NR * kc
    T beta;       // the caller's beta for the first k block, 1 after
  };

  // Rows of the next B block this thread will pack, prefetched into L2 during this one.
  struct NextB {
    const T* b = nullptr;
    int64_t kc = 0, col0 = 0, col1 = 0;
  };

  // Threads form a tm x tn grid: tm split the ic blocks, tn the B micro-panels of each block.
  static Grid thread_grid(const GemmParams<T>& p, const Plan& plan, int tid, int nt, bool sync) {
    Grid g{};
    g.tid = tid;
    g.nt = nt;
    // Threads share out the B micro-panels when there are enough of them: each thread then packs
    // only its own panels, with no barrier (measured: 1024^3 on 2 threads went from 1.0x to 1.8x
    // one thread). Only a narrow op(B) splits the rows of A instead, around a shared B pack.
    g.tm = 1;
    if (ceil_div(std::min(p.n, plan.blk.nc), NR) < 4 * nt)
      for (int d = nt; d >= 1; --d)
        if (nt % d == 0 && p.m >= static_cast<int64_t>(d) * 4 * MR) {
          g.tm = d;
          break;
        }
    g.tn = nt / g.tm;
    // With tm == 1 every thread packs exactly the B micro-panels it then uses, so the packed B
    // block is not shared and needs no barriers (which, on a busy machine, can each cost a
    // scheduling quantum).
    g.shared_b = sync && g.tm > 1;
    g.tid_m = tid / g.tn;
    g.tid_n = tid % g.tn;
    // Balanced A blocks: at most MC rows, a multiple of MR, and as few as that allows, all about
    // the same height (m = 512 at MC = 252 is three blocks of 182, not 252 + 252 + 8).
    const int64_t rows = ceil_div(p.m, g.tm), blocks = ceil_div(rows, plan.blk.mc);
    g.mc = std::min(plan.blk.mc, ceil_div(ceil_div(rows, blocks), MR) * MR);
    g.n_ic = ceil_div(p.m, g.mc);
    g.nc_step = plan.direct_b ? p.n : plan.blk.nc;
    const int64_t kc_max = std::min(p.k, plan.blk.kc);
    g.apack = plan.direct_b ? nullptr : static_cast<T*>(scratch(0, sizeof(T) * g.mc * kc_max));
    g.edge = plan.direct_b ? static_cast<T*>(scratch(2, sizeof(T) * kc_max * NR)) : nullptr;
    // Without barriers (shared_b false) a thread may pack the next block while another still
    // computes on this one, and panel jp sits at jp * NR * kc, which moves when kc (the last depth
    // block) or the panel split (the last column block) changes. So each thread keeps its panels
    // in a fixed region of its own, sized for the widest block.
    g.region = ceil_div(ceil_div(std::min(p.n, g.nc_step), NR), nt) * NR * kc_max;
    return g;
  }

  // Pack this thread's panels [pb, pe) of the B block.
  static void pack_b_block(const GemmParams<T>& p, const Plan& plan, const Block& b, int64_t pb, int64_t pe) {
    if (plan.packer != nullptr) {
      for (int64_t jp = pb; jp < pe; ++jp)
        plan.packer->pack(plan.packer->ctx, b.pc, b.kc, b.jc + jp * NR, std::min<int64_t>(NR, b.nc - jp * NR), NR,
                          b.bblock + jp * NR * b.kc);
      return;
    }
    if (p.b_col_stride == 1) {
      pack_b_rows(b.kc, pb, pe, b.nc, b.b0, p.b_row_stride, b.bblock);
      return;
    }
    for (int64_t jp = pb; jp < pe; ++jp)
      pack_b_panel(b.kc, std::min<int64_t>(NR, b.nc - jp * NR), b.b0 + jp * NR * p.b_col_stride, p.b_row_stride,
                   p.b_col_stride, b.bblock + jp * NR * b.kc);
  }

  // With a single A block the packed B block is used once; while it is in use, the rows of the
  // next B block that this thread will pack are prefetched into L2, spread over its micro-panels,
  // so reading op(B) from memory overlaps the arithmetic.
  static NextB next_b_block(const GemmParams<T>& p, const Plan& plan, const Grid& g, const Block& b) {
    NextB next;
    if (plan.direct_b || plan.packer || g.n_ic != 1 || p.b_col_stride != 1 || b.j_end <= b.j_begin) return next;
    const bool same_jc = b.pc + plan.blk.kc < p.k;
    const int64_t jc2 = same_jc ? b.jc : b.jc + g.nc_step, pc2 = same_jc ? b.pc + plan.blk.kc : 0;
    if (jc2 >= p.n) return next;
    const int64_t nc2 = std::min(g.nc_step, p.n - jc2), panels2 = ceil_div(nc2, NR);
    next.kc = std::min(plan.blk.kc, p.k - pc2);
    next.col0 = panels2 * g.tid / g.nt * NR;
    next.col1 = std::min(nc2, panels2 * (g.tid + 1) / g.nt * NR);
    next.b = p.b + pc2 * p.b_row_stride + jc2;
    return next;
  }

  // The share of the next B block's rows that goes with micro-panel jp.
  static void prefetch_next(const NextB& next, int64_t ldb, const Block& b, int64_t jp) {
    if (next.b == nullptr) return;
    const int64_t share = b.j_end - b.j_begin, r0 = next.kc * (jp - b.j_begin) / share,
                  r1 = next.kc * (jp - b.j_begin + 1) / share;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = next.col0; j < next.col1; j += 64 / static_cast<int64_t>(sizeof(T)))
        __builtin_prefetch(next.b + r * ldb + j, 0, 2);
  }

  // C[ic:ic+mcb, this thread's panels] over the k block b: every micro-tile, edges included.
  static void macrokernel(const GemmParams<T>& p, const Plan& plan, const Grid& g, const Block& b, int64_t ic,
                          int64_t mcb, const NextB& next) {
    const T* a0 = p.a + ic * p.a_row_stride + b.pc * p.a_col_stride;
    for (int64_t jp = b.j_begin; jp < b.j_end; ++jp) {
      prefetch_next(next, p.b_row_stride, b, jp);
      const int64_t nr = std::min<int64_t>(NR, b.nc - jp * NR);
      const T* bp;
      int64_t ldb = NR;
      if (!plan.direct_b) {
        bp = b.bblock + jp * NR * b.kc;  // with shared_b false, jp is in this thread's panels
      } else if (nr == NR) {
        bp = b.b0 + jp * NR;
        ldb = p.b_row_stride;
      } else {  // the last, partial panel: copied so the kernel never reads past op(B)
        pack_b_panel(b.kc, nr, b.b0 + jp * NR, p.b_row_stride, 1, g.edge);
        bp = g.edge;
      }
      T* cj = p.c + ic * p.c_row_stride + (b.jc + jp * NR) * p.c_col_stride;
      for (int64_t ir = 0; ir < mcb; ir += MR) {
        const int mr = static_cast<int>(std::min<int64_t>(MR, mcb - ir));
        T* cij = cj + ir * p.c_row_stride;
        if (plan.direct_b)  // a small problem: A is read in place too, all of it sits in L1/L2
          Kernel::template tile<false>(mr, b.kc, a0 + ir * p.a_row_stride, p.a_row_stride, p.a_col_stride, bp, ldb,
                                       nr, cij, p.c_row_stride, p.c_col_stride, p.alpha, b.beta);
        else
          Kernel::template tile<true>(mr, b.kc, g.apack + ir * b.kc, 1, MR, bp, ldb, nr, cij, p.c_row_stride,
                                      p.c_col_stride, p.alpha, b.beta);
      }
    }
  }

  // The work of thread `tid` of `nt`. Every thread runs the same jc/pc loops, so the barriers
  // around a shared B pack match up.
  static void body(const GemmParams<T>& p, const Plan& plan, int tid, int nt, bool sync) {
    const Grid g = thread_grid(p, plan, tid, nt, sync);
    for (int64_t jc = 0; jc < p.n; jc += g.nc_step) {
      const int64_t nc = std::min(g.nc_step, p.n - jc), panels = ceil_div(nc, NR);
      for (int64_t pc = 0; pc < p.k; pc += plan.blk.kc) {
        Block b;
        b.jc = jc;
        b.pc = pc;
        b.nc = nc;
        b.kc = std::min(plan.blk.kc, p.k - pc);
        b.j_begin = panels * g.tid_n / g.tn;
        b.j_end = panels * (g.tid_n + 1) / g.tn;
        b.b0 = plan.packer ? nullptr : p.b + pc * p.b_row_stride + jc * p.b_col_stride;
        b.beta = pc == 0 ? p.beta : T(1);
        const int64_t pb = panels * tid / nt, pe = panels * (tid + 1) / nt;
        // Panel jp at bblock + jp * NR * kc (pb * NR * kc <= tid * region).
        b.bblock = plan.direct_b || g.shared_b ? plan.bpack : plan.bpack + (tid * g.region - pb * NR * b.kc);
        if (!plan.direct_b) {
          pack_b_block(p, plan, b, pb, pe);
          if (g.shared_b) {
#pragma omp barrier
          }
        }
        const NextB next = next_b_block(p, plan, g, b);
        for (int64_t ib = g.tid_m; ib < g.n_ic; ib += g.tm) {
          const int64_t ic = ib * g.mc, mcb = std::min(g.mc, p.m - ic);
          if (!plan.direct_b)
            pack_a(mcb, b.kc, p.a + ic * p.a_row_stride + pc * p.a_col_stride, p.a_row_stride, p.a_col_stride,
                   g.apack);
          macrokernel(p, plan, g, b, ic, mcb, next);
        }
        if (!plan.direct_b && g.shared_b) {
#pragma omp barrier
        }
      }
    }
  }

  // packer: op(B) comes from the caller's packer (gemm.h), always through the packed path.
  static void run(const GemmParams<T>& p, const GemmBPacker<T>* packer = nullptr) {
    if (p.m <= 0 || p.n <= 0) return;
    if (p.k <= 0 || p.alpha == T(0)) {
      scale_only(p);
      return;
    }
    const int64_t m = p.m, n = p.n, k = p.k;
    if (m <= kSkinnyRows && p.b_col_stride == 1 && !packer) {
      Skinny<typename Kernel::Vec>::run(p);
      return;
    }
    Plan plan;
    plan.blk = blocking(MR, NR, sizeof(T));
    plan.packer = packer;
    // A small problem (B fits in a quarter of L2, m <= 256, rows of op(B) contiguous) reads
    // A and B in place: packing would cost as much as using them, and they stay in cache anyway.
    plan.direct_b = !packer && p.b_col_stride == 1 && m <= 256 &&
                    static_cast<double>(k) * n * sizeof(T) <= static_cast<double>(plan.blk.l2) / 4;
    // A short op(A) is one A block: the B block is used once, so it is kept to about half of L2
    // (it is read from memory once, row segments at a time, and the kernel finds it in L2).
    if (m <= plan.blk.mc)
      plan.blk.nc = std::min(plan.blk.nc, std::max<int64_t>(NR, plan.blk.l2 / 2 / (plan.blk.kc * sizeof(T)) / NR * NR));
    const int64_t kc_max = std::min(k, plan.blk.kc);
    const int64_t nc_max = plan.direct_b ? n : std::min(n, plan.blk.nc);
    const int threads = threads_for(p.num_threads, m, n, k);
    // One extra panel per thread: without barriers each thread packs into its own region (body).
    plan.bpack = plan.direct_b
                     ? nullptr
                     : static_cast<T*>(scratch(1, sizeof(T) * kc_max * (ceil_div(nc_max, NR) + threads) * NR));
    if (threads <= 1) {
      body(p, plan, 0, 1, false);
      return;
    }
#pragma omp parallel num_threads(threads)
    body(p, plan, omp_get_thread_num(), omp_get_num_threads(), true);
  }
};

// One ISA's table: V (float32 lanes) and VD (float64 lanes) with their microkernel shapes.
template <class V, class VD, int MRF, int MRD, int NV>
struct GemmSimd {
  using KernelF = Microkernel<V, MRF, NV>;
  using KernelD = Microkernel<VD, MRD, NV>;
  static void sgemm(const GemmParams<float>& p) { Driver<KernelF>::run(p); }
  static void dgemm(const GemmParams<double>& p) { Driver<KernelD>::run(p); }
  static void sgemm_packer(const GemmParams<float>& p, const GemmBPacker<float>& b) { Driver<KernelF>::run(p, &b); }
  static constexpr GemmKernels table(double (*fma_seconds)(int64_t)) {
    return GemmKernels{&sgemm, &dgemm, &sgemm_packer, fma_seconds, static_cast<int>(V::width)};
  }
};

}  // namespace grimoire::gemm_detail
