// Low-precision GEMMs: the scalar reference and the BLIS-style driver of the int8 GEMM (A packed
// into MR-row panels, B into NR-column panels per slice of k, an MR x NR register-blocked
// microkernel per ISA, blocks of C shared among threads), the quantised linear layer, the int8
// convolution (the same driver on patches of channels-last codes), and the fp8/bf16 GEMMs (decode
// to float32, then the float32 GEMM). Microkernels: gemm_int8_avx2.cpp,
// gemm_int8_avx512vnni.cpp.
#include "grimoire/gemm_int8.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "gemm_int8_kernels.h"
#include "grimoire/cpu.h"
#include "grimoire/gemm.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

namespace kern = gemm_int8_kernels;

// The VNNI kernel is the family's avx512 path; it exists only where the CPU has AVX512_VNNI
// (cpu.h's Isa has no separate VNNI level, so the family lists avx512 only then).
std::vector<Isa> int8_paths() {
  std::vector<Isa> paths = {Isa::scalar, Isa::avx2};
  if (cpu_features().avx512vnni) paths.push_back(Isa::avx512);
  return paths;
}
const std::vector<Isa>& paths() {
  static const std::vector<Isa> p = int8_paths();
  return p;
}
// gemm_fp8 / gemm_bf16 are not families of their own: they are the fp8 / bf16 decoders followed
// by the float32 gemm, and `grimoire info` reports those.
const bool registered = (register_family("gemm_int8", paths()), true);

int threads_for(const GemmInt8Params& p) { return p.num_threads == 1 ? 1 : num_threads(); }

// ---- scalar reference ----------------------------------------------------------------------

void reference_rows(const GemmInt8Params& p, int64_t row_begin, int64_t row_end) {
  std::vector<int64_t> acc(p.n);
  for (int64_t i = row_begin; i < row_end; ++i) {
    std::fill(acc.begin(), acc.end(), 0);
    for (int64_t q = 0; q < p.k; ++q) {
      const int64_t a_iq = p.a[i * p.a_row_stride + q * p.a_col_stride];
      const int8_t* b_row = p.b + q * p.b_row_stride;
      for (int64_t j = 0; j < p.n; ++j) acc[j] += a_iq * b_row[j * p.b_col_stride];
    }
    // int64 -> int32 keeps the low 32 bits: the int32 result modulo 2^32.
    for (int64_t j = 0; j < p.n; ++j) p.c[i * p.c_row_stride + j] = static_cast<int32_t>(static_cast<uint32_t>(acc[j]));
  }
}

// ---- the packed driver ---------------------------------------------------------------------

struct Avx2Traits {
  using AT = int16_t;
  using BT = int16_t;
  static constexpr int MR = kern::kAvx2MR, NR = kern::kAvx2NR, KG = kern::kAvx2KG;
  static constexpr int a_offset = 0;
  static void kernel(int64_t kg, const AT* a, const BT* b, int32_t* c, int64_t ldc, int mr, int nr) {
    kern::avx2_kernel(kg, a, b, c, ldc, mr, nr);
  }
  static void colsum(int64_t, const BT*, int32_t*) {}  // no offset, no correction
};

struct VnniTraits {
  using AT = uint8_t;
  using BT = int8_t;
  static constexpr int MR = kern::kVnniMR, NR = kern::kVnniNR, KG = kern::kVnniKG;
  static constexpr int a_offset = 128;
  static void kernel(int64_t kg, const AT* a, const BT* b, int32_t* c, int64_t ldc, int mr, int nr) {
    kern::vnni_kernel(kg, a, b, c, ldc, mr, nr);
  }
  static void colsum(int64_t kg, const BT* b, int32_t* sums) { kern::vnni_colsum(kg, b, sums); }
};

// The VNNI layouts and offset with a scalar stand-in for vpdpbusd, so that the VNNI packing and
// the colsum correction are tested on CPUs without AVX512_VNNI (gemm_int8_vnni_emulated).
struct VnniEmulatedTraits : VnniTraits {
  static void kernel(int64_t kg, const AT* a, const BT* b, int32_t* c, int64_t ldc, int mr, int nr) {
    uint32_t acc[MR][NR] = {};
    for (int64_t g = 0; g < kg; ++g, a += MR * KG, b += NR * KG)
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NR; ++j)
          for (int t = 0; t < KG; ++t)
            acc[r][j] += static_cast<uint32_t>(static_cast<int32_t>(a[r * KG + t]) * b[j * KG + t]);
    for (int r = 0; r < mr; ++r)
      for (int j = 0; j < nr; ++j)
        c[r * ldc + j] = static_cast<int32_t>(static_cast<uint32_t>(c[r * ldc + j]) + acc[r][j]);
  }
  static void colsum(int64_t kg, const BT* b, int32_t* sums) {
    for (int64_t g = 0; g < kg; ++g, b += NR * KG)
      for (int j = 0; j < NR; ++j)
        for (int t = 0; t < KG; ++t)  // modulo 2^32, as vpdpbusd sums
          sums[j] = static_cast<int32_t>(static_cast<uint32_t>(sums[j]) + static_cast<uint32_t>(b[j * KG + t]));
  }
};

constexpr int64_t kKC = 512;   // k per packed slice (a multiple of every KG)
constexpr int64_t kNCB = 256;  // columns of C per task (a multiple of every NR)
constexpr int64_t kChunkRows = 256;  // rows of C per task at most: 256 x kNCB int32 = 256 KiB

// One panel of R rows of A (or R columns of B) over kc values of k -> [kg][R][KG], each value
// + OFF, zero padded (rows past `count`, k past kc). src(r, q) = src[r * r_stride + q * k_stride].
// The loops follow whichever stride is 1, so both layouts (and B given as (n, k)) pack at memory
// speed rather than by one strided byte at a time.
template <typename T, int R, int KG, int OFF>
void pack_panel(const int8_t* src, int64_t r_stride, int64_t k_stride, int64_t count, int64_t kc, T* dst) {
  const int64_t kg = (kc + KG - 1) / KG;
  if (count < R || kc % KG != 0) std::fill(dst, dst + kg * R * KG, T(0));
  const int64_t full = kc / KG;  // whole groups of KG
  if (k_stride == 1) {
    for (int64_t r = 0; r < count; ++r) {
      const int8_t* s = src + r * r_stride;
      for (int64_t g = 0; g < full; ++g)
        for (int t = 0; t < KG; ++t) dst[(g * R + r) * KG + t] = static_cast<T>(s[g * KG + t] + OFF);
      for (int64_t q = full * KG; q < kc; ++q) dst[(full * R + r) * KG + (q - full * KG)] = static_cast<T>(s[q] + OFF);
    }
  } else {
    for (int64_t q = 0; q < kc; ++q) {
      const int8_t* s = src + q * k_stride;
      T* d = dst + (q / KG) * R * KG + q % KG;
      if (r_stride == 1 && count == R)
        for (int r = 0; r < R; ++r) d[r * KG] = static_cast<T>(s[r] + OFF);
      else
        for (int64_t r = 0; r < count; ++r) d[r * KG] = static_cast<T>(s[r * r_stride] + OFF);
    }
  }
}

// The shape of one product, blocked: k in slices of kKC (kg(s) groups of KG each), A in MR-row
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
    n_slices = (k + kKC - 1) / kKC;
    a_panel = kg(0) * Tr::MR * Tr::KG;
    // Row chunks: enough tasks to share among the threads even when n is small, and at most
    // kChunkRows rows, so that a task's int32 block of C (rows x kNCB) stays in L2 across slices.
    const int64_t m_chunks = std::max<int64_t>(
        {int64_t{1}, std::min<int64_t>(m_panels, (2 * threads + n_blocks - 1) / n_blocks),
         (m_panels * Tr::MR + kChunkRows - 1) / kChunkRows});
    chunk_panels = (m_panels + m_chunks - 1) / m_chunks;
    tasks = n_blocks * ((m_panels + chunk_panels - 1) / chunk_panels);
  }
  int64_t kg(int64_t s) const { return (std::min(k, (s + 1) * kKC) - s * kKC + Tr::KG - 1) / Tr::KG; }
  int64_t b_panel(int64_t s) const { return kg(s) * Tr::NR * Tr::KG; }
  // Elements of B packed whole ([slice][B panel]) and where slice s starts.
  int64_t b_slice_start(int64_t s) const { return s * n_panels * (kKC / Tr::KG) * Tr::NR * Tr::KG; }
  int64_t b_size() const { return b_slice_start(n_slices - 1) + n_panels * b_panel(n_slices - 1); }
};

// One MR-row panel of A, every slice: `rows` (<= MR) rows from a(r, q) = a[r * rs + q * cs].
template <typename Tr>
void pack_a(const Plan<Tr>& plan, const int8_t* a, int64_t rs, int64_t cs, int64_t rows, typename Tr::AT* dst) {
  for (int64_t s = 0; s < plan.n_slices; ++s) {
    const int64_t k0 = s * kKC, kc = std::min(plan.k, k0 + kKC) - k0;
    pack_panel<typename Tr::AT, Tr::MR, Tr::KG, Tr::a_offset>(a + k0 * cs, rs, cs, rows, kc, dst + s * plan.a_panel);
  }
}

// B = W^T for W (n, k) C-contiguous: panel jp of slice s.
template <typename Tr>
void pack_w_panel(const Plan<Tr>& plan, const int8_t* w, int64_t s, int64_t jp, typename Tr::BT* dst) {
  const int64_t j0 = jp * Tr::NR, k0 = s * kKC;
  pack_panel<typename Tr::BT, Tr::NR, Tr::KG, 0>(w + j0 * plan.k + k0, plan.k, 1, std::min<int64_t>(Tr::NR, plan.n - j0),
                                                 std::min(plan.k, k0 + kKC) - k0, dst);
}

// Where a task's B panels come from: packed by the task itself, slice by slice, from strided B
// (gemm_int8, linear_int8), or prepacked (linear_int8_packed). Either gives, per slice, the
// panels of the task's columns back to back, and after the last slice the value each column of C
// starts from (-128 * colsum(B) mod 2^32 for the VNNI offset; null when there is none).
template <typename Tr>
class PackPerCall {
 public:
  PackPerCall(const Plan<Tr>& plan, const int8_t* b, int64_t row_stride, int64_t col_stride)
      : plan_(plan), b_(b), rs_(row_stride), cs_(col_stride),
        buf_((kNCB / Tr::NR) * plan.b_panel(0)), sums_(kNCB), start_(kNCB) {}

  void begin_task() { std::fill(sums_.begin(), sums_.end(), 0); }

  const typename Tr::BT* slice(int64_t s, int64_t j_begin, int64_t j_end) {
    const int64_t k0 = s * kKC, kc = std::min(plan_.k, k0 + kKC) - k0, stride = plan_.b_panel(s);
    for (int64_t j = j_begin; j < j_end; j += Tr::NR) {
      typename Tr::BT* dst = buf_.data() + ((j - j_begin) / Tr::NR) * stride;
      pack_panel<typename Tr::BT, Tr::NR, Tr::KG, 0>(b_ + j * cs_ + k0 * rs_, cs_, rs_,
                                                     std::min<int64_t>(Tr::NR, plan_.n - j), kc, dst);
      if (Tr::a_offset != 0) Tr::colsum(plan_.kg(s), dst, sums_.data() + (j - j_begin));
    }
    return buf_.data();
  }

  const uint32_t* start(int64_t j_begin, int64_t j_end) {
    if (Tr::a_offset == 0) return nullptr;
    for (int64_t j = 0; j < j_end - j_begin; ++j)
      start_[j] = 0u - static_cast<uint32_t>(Tr::a_offset) * static_cast<uint32_t>(sums_[j]);
    return start_.data() - j_begin;  // indexed by the column of C
  }

 private:
  const Plan<Tr>& plan_;
  const int8_t* b_;
  int64_t rs_, cs_;
  std::vector<typename Tr::BT, CacheAligned<typename Tr::BT>> buf_;
  std::vector<int32_t> sums_;
  std::vector<uint32_t> start_;
};

template <typename Tr>
class Prepacked {
 public:
  Prepacked(const Plan<Tr>& plan, const typename Tr::BT* panels, const uint32_t* col_start)
      : plan_(plan), panels_(panels), col_start_(col_start) {}
  void begin_task() {}
  const typename Tr::BT* slice(int64_t s, int64_t j_begin, int64_t) const {
    return panels_ + plan_.b_slice_start(s) + (j_begin / Tr::NR) * plan_.b_panel(s);
  }
  const uint32_t* start(int64_t, int64_t) const { return Tr::a_offset != 0 ? col_start_ : nullptr; }

 private:
  const Plan<Tr>& plan_;
  const typename Tr::BT* panels_;
  const uint32_t* col_start_;
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
      for (int64_t i = 0; i < i_end - i_begin; ++i) std::fill(c + i * ldc, c + i * ldc + (j_end - j_begin), 0);
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
      finish(i_begin, i_end, j_begin, j_end, static_cast<const int32_t*>(c), ldc, bsrc.start(j_begin, j_end));
    }
  }
}

// gemm_int8 on a packed path: C is the output, finished by adding the column starts.
template <typename Tr>
void packed(const GemmInt8Params& p) {
  const Plan<Tr> plan(p.m, p.n, p.k, p.num_threads);
  drive(
      plan, [&] { return PackPerCall<Tr>(plan, p.b, p.b_row_stride, p.b_col_stride); },
      [&](int64_t ip, typename Tr::AT* dst) {
        const int64_t i0 = ip * Tr::MR;
        pack_a(plan, p.a + i0 * p.a_row_stride, p.a_row_stride, p.a_col_stride, std::min<int64_t>(Tr::MR, p.m - i0), dst);
      },
      [&](int64_t i_begin, int64_t, int64_t j_begin, int64_t) {
        return std::pair<int32_t*, int64_t>(p.c + i_begin * p.c_row_stride + j_begin, p.c_row_stride);
      },
      [&](int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end, const int32_t*, int64_t,
          const uint32_t* start) {
        if (start == nullptr) return;
        for (int64_t i = i_begin; i < i_end; ++i) {
          int32_t* row = p.c + i * p.c_row_stride;
          for (int64_t j = j_begin; j < j_end; ++j)
            row[j] = static_cast<int32_t>(static_cast<uint32_t>(row[j]) + start[j]);
        }
      });
}

// ---- the linear layer ----------------------------------------------------------------------

// y[i, j] = (s_x[i] * s_w[j]) * acc[i, j] + bias[j] for a block of rows and columns; acc(i, j) =
// c[(i - i_begin) * ldc + (j - j_begin)] (+ start[j]). The one epilogue of every linear_int8 path.
void linear_epilogue(const float* x_scale, const float* w_scale, const float* bias, float* y, int64_t n,
                     int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end, const int32_t* c, int64_t ldc,
                     const uint32_t* start) {
  for (int64_t i = i_begin; i < i_end; ++i) {
    const float sx = x_scale[i];
    const int32_t* a_row = c + (i - i_begin) * ldc - j_begin;
    float* y_row = y + i * n;
    for (int64_t j = j_begin; j < j_end; ++j) {
      const int32_t acc = start ? static_cast<int32_t>(static_cast<uint32_t>(a_row[j]) + start[j]) : a_row[j];
      const float v = static_cast<float>(acc) * (sx * w_scale[j]);
      y_row[j] = bias ? v + bias[j] : v;
    }
  }
}

// The scalar path: x quantised whole, the reference GEMM against W (n, k), then the epilogue.
bool linear_reference(const float* x, int64_t m, int64_t n, int64_t k, const int8_t* w, const float* w_scale,
                      const float* bias, float* y) {
  std::vector<float> x_scale(m);
  std::vector<int8_t> xq(m * k);
  std::vector<char> ok(m, 1);
  parallel_for(m, std::max<int64_t>(1, 65536 / std::max<int64_t>(k, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) ok[i] = quantize_rows_symmetric_int8(x + i * k, 1, k, xq.data() + i * k, &x_scale[i]);
  });
  if (std::find(ok.begin(), ok.end(), 0) != ok.end()) return false;
  std::vector<int32_t> acc(m * n);
  GemmInt8Params g;
  g.m = m; g.n = n; g.k = k;
  g.a = xq.data(); g.a_row_stride = k; g.a_col_stride = 1;
  g.b = w; g.b_row_stride = 1; g.b_col_stride = k;  // B = W^T
  g.c = acc.data(); g.c_row_stride = n;
  gemm_int8_reference(g);
  parallel_for(m, std::max<int64_t>(1, 65536 / n), [&](int64_t b, int64_t e) {
    linear_epilogue(x_scale.data(), w_scale, bias, y, n, b, e, 0, n, acc.data() + b * n, n, nullptr);
  });
  return true;
}

// A task's int32 block of C when the output is not int32: a per-thread buffer of rows x kNCB.
std::pair<int32_t*, int64_t> thread_block(int64_t rows) {
  thread_local std::vector<int32_t, CacheAligned<int32_t>> cbuf;
  if (static_cast<int64_t>(cbuf.size()) < rows * kNCB) cbuf.resize(rows * kNCB);
  return {cbuf.data(), kNCB};
}

// A packed path: each A panel's rows are quantised (on the thread that packs them) and packed;
// each task's int32 block lives in a per-thread buffer and goes through the epilogue at once.
template <typename Tr, typename MakeB>
bool linear_packed(const float* x, int64_t m, int64_t n, int64_t k, MakeB&& make_b, const float* w_scale,
                   const float* bias, float* y) {
  const Plan<Tr> plan(m, n, k, 0);
  std::vector<float> x_scale(plan.m_panels * Tr::MR);
  std::vector<char> ok(plan.m_panels, 1);
  const int64_t block_rows = plan.chunk_panels * Tr::MR;
  drive(
      plan, make_b,
      [&](int64_t ip, typename Tr::AT* dst) {
        thread_local std::vector<int8_t> xq;
        const int64_t i0 = ip * Tr::MR, rows = std::min<int64_t>(Tr::MR, m - i0);
        xq.resize(Tr::MR * k);
        ok[ip] = quantize_rows_symmetric_int8(x + i0 * k, rows, k, xq.data(), x_scale.data() + i0);
        pack_a(plan, xq.data(), k, 1, rows, dst);
      },
      [&](int64_t, int64_t, int64_t, int64_t) { return thread_block(block_rows); },
      [&](int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end, const int32_t* c, int64_t ldc,
          const uint32_t* start) {
        linear_epilogue(x_scale.data(), w_scale, bias, y, n, i_begin, i_end, j_begin, j_end, c, ldc, start);
      });
  // A non-finite x is found while packing; y is then garbage and the caller raises.
  return std::find(ok.begin(), ok.end(), 0) == ok.end();
}

}  // namespace

void gemm_int8_reference(const GemmInt8Params& p) {
  if (p.m <= 0 || p.n <= 0) return;
  const int threads = threads_for(p);
  if (threads == 1) return reference_rows(p, 0, p.m);
  parallel_for(p.m, std::max<int64_t>(1, 65536 / std::max<int64_t>(p.n * (p.k + 1), 1)),
               [&](int64_t b, int64_t e) { reference_rows(p, b, e); });
}

Isa int8_isa() { return isa_for(paths()); }

void gemm_int8(const GemmInt8Params& p) {
  if (p.m <= 0 || p.n <= 0) return;
  switch (int8_isa()) {
    case Isa::avx512: return packed<VnniTraits>(p);
    case Isa::avx2: return packed<Avx2Traits>(p);
    default: return gemm_int8_reference(p);
  }
}

void gemm_int8_vnni_emulated(const GemmInt8Params& p) {
  if (p.m > 0 && p.n > 0) packed<VnniEmulatedTraits>(p);
}

bool linear_int8(const LinearInt8Params& p) {
  if (p.m <= 0 || p.n <= 0) return true;
  const auto per_call = [&](auto traits) {
    using Tr = decltype(traits);
    const Plan<Tr> plan(p.m, p.n, p.k, 0);
    return linear_packed<Tr>(
        p.x, p.m, p.n, p.k, [&] { return PackPerCall<Tr>(plan, p.w, 1, p.k); }, p.w_scale, p.bias, p.y);
  };
  switch (int8_isa()) {
    case Isa::avx512: return per_call(VnniTraits{});
    case Isa::avx2: return per_call(Avx2Traits{});
    default: return linear_reference(p.x, p.m, p.n, p.k, p.w, p.w_scale, p.bias, p.y);
  }
}

namespace {

template <typename Tr, typename Vec>
void pack_weight(const int8_t* w, PackedInt8Weight& out, Vec& panels) {
  const Plan<Tr> plan(1, out.n, out.k, 0);
  panels.assign(plan.b_size(), 0);
  std::vector<int32_t> sums(plan.n_panels * Tr::NR, 0);
  parallel_for(plan.n_panels, std::max<int64_t>(1, 65536 / std::max<int64_t>(out.k * Tr::NR, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t jp = b; jp < e; ++jp)
                   for (int64_t s = 0; s < plan.n_slices; ++s) {
                     typename Tr::BT* dst = panels.data() + plan.b_slice_start(s) + jp * plan.b_panel(s);
                     pack_w_panel(plan, w, s, jp, dst);
                     if (Tr::a_offset != 0) Tr::colsum(plan.kg(s), dst, sums.data() + jp * Tr::NR);
                   }
               });
  if (Tr::a_offset != 0) {
    out.col_start.resize(out.n);
    for (int64_t j = 0; j < out.n; ++j)
      out.col_start[j] = 0u - static_cast<uint32_t>(Tr::a_offset) * static_cast<uint32_t>(sums[j]);
  }
}

}  // namespace

PackedInt8Weight pack_int8_weight(const int8_t* w, int64_t n, int64_t k) {
  PackedInt8Weight out;
  out.isa = int8_isa();
  out.n = n;
  out.k = k;
  if (n <= 0) return out;
  out.raw.assign(w, w + n * k);
  switch (out.isa) {
    case Isa::avx512: pack_weight<VnniTraits>(w, out, out.panels8); break;
    case Isa::avx2: pack_weight<Avx2Traits>(w, out, out.panels16); break;
    default: break;
  }
  return out;
}

bool linear_int8_packed(const float* x, int64_t m, const PackedInt8Weight& w, const float* w_scale,
                        const float* bias, float* y) {
  if (m <= 0 || w.n <= 0) return true;
  const auto prepacked = [&](auto traits, const auto& panels) {
    using Tr = decltype(traits);
    const Plan<Tr> plan(m, w.n, w.k, 0);
    return linear_packed<Tr>(
        x, m, w.n, w.k, [&] { return Prepacked<Tr>(plan, panels.data(), w.col_start.data()); }, w_scale, bias, y);
  };
  const Isa isa = int8_isa();
  if (isa != w.isa) {  // packed for another path: the one in use, packing per call
    LinearInt8Params p;
    p.m = m; p.n = w.n; p.k = w.k;
    p.x = x; p.w = w.raw.data(); p.w_scale = w_scale; p.bias = bias; p.y = y;
    return linear_int8(p);
  }
  switch (isa) {
    case Isa::avx512: return prepacked(VnniTraits{}, w.panels8);
    case Isa::avx2: return prepacked(Avx2Traits{}, w.panels16);
    default: return linear_reference(x, m, w.n, w.k, w.raw.data(), w_scale, bias, y);
  }
}

// ---- the int8 convolution ------------------------------------------------------------------

namespace {

// One image row of codes channels-last: dst[w C + c] = src[c hw + w] + OFF, w < width, c < C.
// Arguments by value: a byte store may alias anything, so captured sizes would be reloaded.
template <typename AT, int OFF>
void codes_line(const int8_t* src, int64_t hw, int64_t width, int64_t C, AT* dst) {
  for (int64_t c = 0; c < C; ++c, src += hw) {
    AT* d = dst + c;
    for (int64_t w = 0; w < width; ++w, d += C) *d = static_cast<AT>(src[w] + OFF);
  }
}

// x quantised per tensor (symmetric, *x_scale = max|x| / 127) and laid out channels-last with
// its padding: xc[n][h][w][c] of (N, H + 2 pad_h, W + 2 pad_w, C), each code + OFF in the GEMM's
// A element type (the padding holds OFF, the code of 0). Every patch is then a gather of runs of
// C ready values, which pack_patches copies straight into A panels. False if x is not finite.
template <typename AT, int OFF>
bool channels_last_codes(const Conv2dShape& s, const float* x, float* x_scale, std::vector<AT, CacheAligned<AT>>& xc) {
  QuantInt8Params q;
  q.inner = s.n * s.c_in * s.h * s.w;
  q.qmin = -127;
  q.qmax = 127;
  int32_t zero = 0;
  if (!choose_qparams_int8(x, q, true, x_scale, &zero)) return false;
  q.scale = x_scale;
  q.zero_point = &zero;
  std::vector<int8_t> codes(q.inner);
  quantize_int8(x, codes.data(), q);  // the SIMD quantiser; the transpose below is bytes only
  const int64_t hp = s.h + 2 * s.pad_h, wp = s.w + 2 * s.pad_w, C = s.c_in, hw = s.h * s.w;
  xc.resize(s.n * hp * wp * C);
  const AT zero_code = static_cast<AT>(OFF);
  parallel_for(s.n, std::max<int64_t>(1, 65536 / std::max<int64_t>(C * hp * wp, 1)), [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n)
      for (int64_t hh = 0; hh < hp; ++hh) {
        AT* line = xc.data() + (n * hp + hh) * wp * C;
        const int64_t h = hh - s.pad_h;
        if (h < 0 || h >= s.h) {  // a padding row
          std::fill(line, line + wp * C, zero_code);
          continue;
        }
        std::fill(line, line + s.pad_w * C, zero_code);
        std::fill(line + (s.pad_w + s.w) * C, line + wp * C, zero_code);
        AT* dst = line + s.pad_w * C;
        const int8_t* src = codes.data() + n * C * hw + h * s.w;
        codes_line<AT, OFF>(src, hw, s.w, C, dst);
      }
  });
  return true;
}

// Row i of the im2col matrix (image n = i / (OH OW), output pixel (oh, ow)) starts at this code
// of xc; its value k = (ki KW + kj) C + c is at start[(ki dil_h wp + kj dil_w) C + c].
template <typename AT>
const AT* patch_start(const Conv2dShape& s, const AT* xc, int64_t i) {
  const int64_t ow_n = s.out_w(), p = s.out_h() * ow_n, n = i / p, oh = (i % p) / ow_n, ow = i % ow_n;
  return xc + ((n * (s.h + 2 * s.pad_h) + oh * s.stride_h) * (s.w + 2 * s.pad_w) + ow * s.stride_w) * s.c_in;
}

// Where the values of a patch come from (offsets from patch_start) and where they go in an A
// panel ([slice][kg][MR][KG] as pack_a lays it out, for row 0): the same for every row, so
// computed once per call. With C a multiple of KG a k group never straddles a kernel tap or a
// slice, and the entries are whole groups (KG values each); otherwise single values.
struct PatchMap {
  std::vector<int64_t> src, dst;
  int width = 1;  // values per entry
};

template <typename Tr>
PatchMap patch_map(const Plan<Tr>& plan, const Conv2dShape& s) {
  PatchMap map;
  map.width = s.c_in % Tr::KG == 0 ? Tr::KG : 1;
  const int64_t wp = s.w + 2 * s.pad_w;
  for (int64_t ki = 0, q = 0; ki < s.kh; ++ki)
    for (int64_t kj = 0; kj < s.kw; ++kj)
      for (int64_t c = 0; c < s.c_in; c += map.width, q += map.width) {
        map.src.push_back((ki * s.dil_h * wp + kj * s.dil_w) * s.c_in + c);
        map.dst.push_back((q / kKC) * plan.a_panel + (q % kKC) / Tr::KG * (Tr::MR * Tr::KG) + q % Tr::KG);
      }
  return map;
}

// The A panel of im2col rows [i0, i0 + rows), every slice, copied from the channels-last codes.
template <typename Tr>
void pack_patches(const Plan<Tr>& plan, const Conv2dShape& s, const PatchMap& map, const typename Tr::AT* xc,
                  int64_t i0, int64_t rows, typename Tr::AT* dst) {
  using AT = typename Tr::AT;
  if (rows < Tr::MR || map.width == 1) std::fill(dst, dst + plan.n_slices * plan.a_panel, AT(0));
  const int64_t ow_n = s.out_w(), entries = static_cast<int64_t>(map.src.size());
  const int64_t* src = map.src.data();
  const int64_t* to = map.dst.data();
  const int64_t step = s.stride_w * s.c_in;  // from one patch to the next along a row
  int64_t ow = i0 % ow_n;
  const AT* base = patch_start(s, xc, i0);
  for (int64_t r = 0; r < rows; ++r) {
    if (r > 0 && ++ow == ow_n) {  // the next output row (or image): start again from i
      ow = 0;
      base = patch_start(s, xc, i0 + r);
    } else if (r > 0) {
      base += step;
    }
    AT* row = dst + r * Tr::KG;
    if (map.width == Tr::KG)
      for (int64_t e = 0; e < entries; ++e) std::memcpy(row + to[e], base + src[e], Tr::KG * sizeof(AT));
    else
      for (int64_t e = 0; e < entries; ++e) row[to[e]] = base[src[e]];
  }
}

// y[n, o, oh, ow] = (s_x s_w[o]) acc(i, o) + bias[o] (then max(., 0) with relu) for im2col rows
// i = (n, oh, ow) in [i_begin, i_end) and channels o in [j_begin, j_end); acc(i, o) =
// c[(i - i_begin) ldc + o - j_begin] (+ start[o]). Written NCHW: contiguous runs of pixels.
void conv_epilogue(const Conv2dInt8Params& p, float x_scale, int64_t i_begin, int64_t i_end, int64_t j_begin,
                   int64_t j_end, const int32_t* c, int64_t ldc, const uint32_t* start) {
  const int64_t P = p.shape.out_h() * p.shape.out_w(), O = p.shape.c_out;
  for (int64_t i = i_begin; i < i_end;) {
    const int64_t n = i / P, stop = std::min(i_end, (n + 1) * P);
    for (int64_t o = j_begin; o < j_end; ++o) {
      const float scale = x_scale * p.w_scale[o], b = p.bias ? p.bias[o] : 0.0f;
      const uint32_t add = start ? start[o] : 0u;
      const int32_t* col = c + (i - i_begin) * ldc + (o - j_begin);
      float* y = p.y + (n * O + o) * P - n * P;  // indexed by i
      for (int64_t t = i; t < stop; ++t, col += ldc) {
        const float v = static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(*col) + add)) * scale + b;
        y[t] = p.relu ? std::max(v, 0.0f) : v;
      }
    }
    i = stop;
  }
}

// The scalar path: im2col of the codes, the reference GEMM against W (O, KH KW C), the epilogue.
bool conv_reference(const Conv2dInt8Params& p, const PackedInt8Weight& w) {
  const Conv2dShape& s = p.shape;
  const int64_t m = s.n * s.out_h() * s.out_w(), k = w.k, C = s.c_in, wp = s.w + 2 * s.pad_w;
  float x_scale = 1.0f;
  std::vector<int8_t, CacheAligned<int8_t>> xc;
  if (!channels_last_codes<int8_t, 0>(s, p.x, &x_scale, xc)) return false;
  std::vector<int8_t> cols(m * k);
  for (int64_t i = 0; i < m; ++i) {
    const int8_t* base = patch_start(s, xc.data(), i);
    for (int64_t ki = 0, q = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj)
        for (int64_t c = 0; c < C; ++c, ++q) cols[i * k + q] = base[(ki * s.dil_h * wp + kj * s.dil_w) * C + c];
  }
  std::vector<int32_t> acc(m * w.n);
  GemmInt8Params g;
  g.m = m; g.n = w.n; g.k = k;
  g.a = cols.data(); g.a_row_stride = k; g.a_col_stride = 1;
  g.b = w.raw.data(); g.b_row_stride = 1; g.b_col_stride = k;  // B = W^T
  g.c = acc.data(); g.c_row_stride = w.n;
  gemm_int8_reference(g);
  conv_epilogue(p, x_scale, 0, m, 0, w.n, acc.data(), w.n, nullptr);
  return true;
}

// A packed path: the prepacked W as B, A panels gathered from the codes by the thread that
// first needs them, each task's int32 block through the epilogue at once.
template <typename Tr>
bool conv_packed(const Conv2dInt8Params& p, const PackedInt8Weight& w, const typename Tr::BT* panels) {
  using AT = typename Tr::AT;
  const Conv2dShape& s = p.shape;
  float x_scale = 1.0f;
  std::vector<AT, CacheAligned<AT>> xc;
  if (!channels_last_codes<AT, Tr::a_offset>(s, p.x, &x_scale, xc)) return false;
  const int64_t m = s.n * s.out_h() * s.out_w();
  const Plan<Tr> plan(m, w.n, w.k, 0);
  const int64_t block_rows = plan.chunk_panels * Tr::MR;
  const PatchMap map = patch_map(plan, s);
  drive(
      plan, [&] { return Prepacked<Tr>(plan, panels, w.col_start.data()); },
      [&](int64_t ip, AT* dst) {
        pack_patches(plan, s, map, xc.data(), ip * Tr::MR, std::min<int64_t>(Tr::MR, m - ip * Tr::MR), dst);
      },
      [&](int64_t, int64_t, int64_t, int64_t) { return thread_block(block_rows); },
      [&](int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end, const int32_t* c, int64_t ldc,
          const uint32_t* start) { conv_epilogue(p, x_scale, i_begin, i_end, j_begin, j_end, c, ldc, start); });
  return true;
}

}  // namespace

PackedInt8Weight pack_int8_conv_weight(const int8_t* w, int64_t o, int64_t c, int64_t kh, int64_t kw) {
  std::vector<int8_t> hwc(o * kh * kw * c);  // (O, C, KH, KW) -> (O, KH, KW, C)
  for (int64_t j = 0; j < o; ++j)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < kh * kw; ++t) hwc[(j * kh * kw + t) * c + ch] = w[(j * c + ch) * kh * kw + t];
  PackedInt8Weight out = pack_int8_weight(hwc.data(), o, kh * kw * c);
  out.c = c;
  out.kh = kh;
  out.kw = kw;
  return out;
}

bool conv2d_int8(const Conv2dInt8Params& p) {
  const PackedInt8Weight& w = *p.w;
  if (p.shape.n <= 0 || w.n <= 0) return true;
  const Isa isa = int8_isa();
  if (isa != w.isa) {  // packed for another path (set_isa): pack for this one, for this call
    PackedInt8Weight again = pack_int8_weight(w.raw.data(), w.n, w.k);
    again.c = w.c;
    again.kh = w.kh;
    again.kw = w.kw;
    Conv2dInt8Params q = p;
    q.w = &again;
    return conv2d_int8(q);
  }
  switch (isa) {
    case Isa::avx512: return conv_packed<VnniTraits>(p, w, w.panels8.data());
    case Isa::avx2: return conv_packed<Avx2Traits>(p, w, w.panels16.data());
    default: return conv_reference(p, w);
  }
}

namespace {

// C = alpha * A @ B on float32 copies of the operands (the float32 GEMM does the tiling).
void gemm_decoded(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float alpha, float* c) {
  GemmParams<float> g;
  g.m = m; g.n = n; g.k = k;
  g.a = a; g.a_row_stride = k; g.a_col_stride = 1;
  g.b = b; g.b_row_stride = n; g.b_col_stride = 1;
  g.c = c; g.c_row_stride = n; g.c_col_stride = 1;
  g.alpha = alpha;
  g.beta = 0.0f;
  gemm(g);
}

}  // namespace

void gemm_fp8(int64_t m, int64_t n, int64_t k, const uint8_t* a, const uint8_t* b, float scale_a, float scale_b,
              Fp8Format fmt_a, Fp8Format fmt_b, float* c) {
  if (m <= 0 || n <= 0) return;
  std::vector<float> af(m * k), bf(k * n);
  from_fp8(a, af.data(), m * k, fmt_a);
  from_fp8(b, bf.data(), k * n, fmt_b);
  gemm_decoded(m, n, k, af.data(), bf.data(), scale_a * scale_b, c);
}

void gemm_bf16(int64_t m, int64_t n, int64_t k, const uint16_t* a, const uint16_t* b, float* c) {
  if (m <= 0 || n <= 0) return;
  std::vector<float> af(m * k), bf(k * n);
  from_bf16(a, af.data(), m * k);
  from_bf16(b, bf.data(), k * n);
  gemm_decoded(m, n, k, af.data(), bf.data(), 1.0f, c);
}

}  // namespace grimoire
