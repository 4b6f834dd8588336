// The blocked driver shared by the low-precision GEMMs (gemm_int8.cpp: int8 on AVX2 / VNNI;
// gemm_bf16.cpp: bf16 pairs on AVX512_BF16): the plan of one product and the task loop. A
// path is a traits struct: AT / BT (packed element types of A and B), CT (the accumulator type
// of C), MR x NR (the microkernel's tile), KG (k values per packed element group), KC (k per
// packed slice, a multiple of KG) and kernel(kg, a, b, c, ldc, mr, nr), which adds an MR x NR
// tile over kg groups to C.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire::lowp {

constexpr int64_t kNCB = 256;        // columns of C per task (a multiple of every NR)
// Rows of C per task (at most this plus MR - 1, a panel's rounding: 12-row panels would otherwise
// split m = 256 into two chunks, and a per-call B would be packed twice): 256 x kNCB x 4 bytes
// = 256 KiB.
constexpr int64_t kChunkRows = 256;

// The shape of one product, blocked: k in slices of Tr::KC (kg(s) groups of KG each), A in MR-row
// panels, B in NR-column panels, C in tasks of a chunk of A panels x kNCB columns.
//   packed A: [A panel][slice][kg][MR][KG], a_panel elements per (panel, slice);
//   B, per slice: consecutive NR-column panels of kg(s) * NR * KG elements each.
template <typename Tr>
struct Plan {
  int64_t m, n, k, m_panels, n_panels, n_blocks, n_slices, a_panel, chunk_panels, tasks;
  int threads;

  Plan(int64_t m_, int64_t n_, int64_t k_, int requested) : m(m_), n(n_), k(k_) {
    // Small products stay on one thread: a parallel region costs more than it saves.
    threads = m * n * k < (int64_t{1} << 22) || requested == 1 ? 1 : num_threads();
    m_panels = (m + Tr::MR - 1) / Tr::MR;
    n_panels = (n + Tr::NR - 1) / Tr::NR;
    n_blocks = (n + kNCB - 1) / kNCB;
    n_slices = (k + Tr::KC - 1) / Tr::KC;
    a_panel = kg(0) * Tr::MR * Tr::KG;
    // Row chunks: enough tasks to share among the threads even when n is small, and at most
    // kChunkRows rows, so that a task's int32 block of C (rows x kNCB) stays in L2 across slices.
    const int64_t m_chunks = std::max<int64_t>(
        {int64_t{1}, std::min<int64_t>(m_panels, (2 * threads + n_blocks - 1) / n_blocks),
         (m + kChunkRows - 1) / kChunkRows});
    chunk_panels = (m_panels + m_chunks - 1) / m_chunks;
    tasks = n_blocks * ((m_panels + chunk_panels - 1) / chunk_panels);
  }
  int64_t kg(int64_t s) const { return (std::min(k, (s + 1) * Tr::KC) - s * Tr::KC + Tr::KG - 1) / Tr::KG; }
  int64_t b_panel(int64_t s) const { return kg(s) * Tr::NR * Tr::KG; }
  // Elements of B packed whole ([slice][B panel]) and where slice s starts.
  int64_t b_slice_start(int64_t s) const { return s * n_panels * (Tr::KC / Tr::KG) * Tr::NR * Tr::KG; }
  int64_t b_size() const { return b_slice_start(n_slices - 1) + n_panels * b_panel(n_slices - 1); }
};

// The driver. Each task owns a block of C (a chunk of A panels x kNCB columns): it zeroes its
// int32 block (c_block gives it: pointer to (i_begin, j_begin) and row stride), makes sure its A
// panels are packed (pack_a_fn(ip, dst) packs panel ip, every slice), and for each k slice takes
// its B panels (kept in L2) and runs the microkernel with an A micro-panel in L1;
// finish(i_begin, i_end, j_begin, j_end, c, ldc, start) then turns the block into the output.
// A panels are packed once, by whichever task needs one first: a thread claims the panels nobody
// has claimed, packs them, and only then waits for those another thread is packing. No barrier
// between packing and computing: on a shared machine a thread that loses its core would stall
// it, the other spinning (measured: 2.4x the CPU time of one thread with a barrier here).
template <typename Tr, typename MakeB, typename PackA, typename CBlock, typename Finish>
void drive(const Plan<Tr>& plan, MakeB&& make_b, PackA&& pack_a_fn, CBlock&& c_block, Finish&& finish) {
  using AT = typename Tr::AT;
  const int64_t a_stride = plan.n_slices * plan.a_panel;  // one A panel, every slice
  std::vector<AT, CacheAligned<AT>> apack(plan.m_panels * a_stride);
  enum : int { kFree = 0, kPacking = 1, kReady = 2 };
  std::unique_ptr<std::atomic<int>[]> state(new std::atomic<int>[plan.m_panels]);
  for (int64_t ip = 0; ip < plan.m_panels; ++ip) state[ip].store(kFree, std::memory_order_relaxed);
  const auto ensure_packed = [&](int64_t ip_begin, int64_t ip_end) {
    for (int64_t ip = ip_begin; ip < ip_end; ++ip) {
      int expected = kFree;
      if (state[ip].load(std::memory_order_acquire) == kFree &&
          state[ip].compare_exchange_strong(expected, kPacking, std::memory_order_acq_rel)) {
        pack_a_fn(ip, apack.data() + ip * a_stride);
        state[ip].store(kReady, std::memory_order_release);
      }
    }
    for (int64_t ip = ip_begin; ip < ip_end; ++ip)
      while (state[ip].load(std::memory_order_acquire) != kReady) std::this_thread::yield();
  };
#pragma omp parallel num_threads(plan.threads) if (plan.threads > 1)
  {
    auto bsrc = make_b();
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < plan.tasks; ++task) {
      const int64_t bj = task % plan.n_blocks, chunk = task / plan.n_blocks;
      const int64_t ip_begin = chunk * plan.chunk_panels, ip_end = std::min(plan.m_panels, ip_begin + plan.chunk_panels);
      const int64_t j_begin = bj * kNCB, j_end = std::min(plan.n, j_begin + kNCB);
      const int64_t i_begin = ip_begin * Tr::MR, i_end = std::min(plan.m, ip_end * Tr::MR);
      ensure_packed(ip_begin, ip_end);
      const auto [c, ldc] = c_block(i_begin, i_end, j_begin, j_end);
      for (int64_t i = 0; i < i_end - i_begin; ++i)
        std::fill(c + i * ldc, c + i * ldc + (j_end - j_begin), typename Tr::CT(0));
      bsrc.begin_task();
      for (int64_t s = 0; s < plan.n_slices; ++s) {
        const int64_t kg = plan.kg(s), b_panel = plan.b_panel(s);
        const typename Tr::BT* bp = bsrc.slice(s, j_begin, j_end);
        for (int64_t ip = ip_begin; ip < ip_end; ++ip) {
          const int64_t i = ip * Tr::MR;
          const int mr = static_cast<int>(std::min<int64_t>(Tr::MR, plan.m - i));
          const AT* ap = apack.data() + ip * a_stride + s * plan.a_panel;
          for (int64_t j = j_begin; j < j_end; j += Tr::NR) {
            const int nr = static_cast<int>(std::min<int64_t>(Tr::NR, plan.n - j));
            Tr::kernel(kg, ap, bp + ((j - j_begin) / Tr::NR) * b_panel, c + (i - i_begin) * ldc + (j - j_begin), ldc,
                       mr, nr);
          }
        }
      }
      finish(i_begin, i_end, j_begin, j_end, static_cast<const typename Tr::CT*>(c), ldc, bsrc.start(j_begin, j_end));
    }
  }
}

}  // namespace grimoire::lowp
