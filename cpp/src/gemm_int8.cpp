// Low-precision GEMMs: the scalar reference and the BLIS-style driver of the int8 GEMM (A packed
// into MR-row panels, B into NR-column panels per slice of k, an MR x NR register-blocked
// microkernel per ISA, blocks of C shared among threads), the quantised linear layer, and the
// fp8/bf16 GEMMs (decode to float32, then the float32 GEMM). Microkernels: gemm_int8_avx2.cpp,
// gemm_int8_avx512vnni.cpp.
#include "grimoire/gemm_int8.h"

#include <algorithm>
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
};

struct VnniTraits {
  using AT = uint8_t;
  using BT = int8_t;
  static constexpr int MR = kern::kVnniMR, NR = kern::kVnniNR, KG = kern::kVnniKG;
  static constexpr int a_offset = 128;
  static void kernel(int64_t kg, const AT* a, const BT* b, int32_t* c, int64_t ldc, int mr, int nr) {
    kern::vnni_kernel(kg, a, b, c, ldc, mr, nr);
  }
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
};

constexpr int64_t kKC = 512;   // k per packed slice (a multiple of every KG)
constexpr int64_t kNCB = 256;  // columns of C per task (a multiple of every NR)

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

template <typename Tr>
void pack_a_panel(const GemmInt8Params& p, int64_t i0, int64_t k0, int64_t k1, typename Tr::AT* dst) {
  pack_panel<typename Tr::AT, Tr::MR, Tr::KG, Tr::a_offset>(p.a + i0 * p.a_row_stride + k0 * p.a_col_stride,
                                                            p.a_row_stride, p.a_col_stride,
                                                            std::min<int64_t>(Tr::MR, p.m - i0), k1 - k0, dst);
}

template <typename Tr>
void pack_b_panel(const GemmInt8Params& p, int64_t j0, int64_t k0, int64_t k1, typename Tr::BT* dst) {
  pack_panel<typename Tr::BT, Tr::NR, Tr::KG, 0>(p.b + j0 * p.b_col_stride + k0 * p.b_row_stride, p.b_col_stride,
                                                 p.b_row_stride, std::min<int64_t>(Tr::NR, p.n - j0), k1 - k0, dst);
}

// The driver. A is packed once, whole (every k slice, every MR panel), by all threads; then
// each task owns a block of C (a range of MR panels x kNCB columns): it starts the block, and
// for each k slice packs its own B block (kc x kNCB, kept in L2) and runs the microkernel with
// an A micro-panel in L1. One barrier per call (after packing A), not per k slice: on a shared
// machine a thread that loses its core stalls every barrier.
template <typename Tr>
void packed(const GemmInt8Params& p) {
  using AT = typename Tr::AT;
  using BT = typename Tr::BT;
  // Small products stay on one thread: a parallel region costs more than it saves.
  const int threads = p.m * p.n * p.k < (int64_t{1} << 22) ? 1 : threads_for(p);
  const int64_t m_panels = (p.m + Tr::MR - 1) / Tr::MR, n_blocks = (p.n + kNCB - 1) / kNCB;
  const int64_t n_slices = (p.k + kKC - 1) / kKC;
  const int64_t kg_max = (std::min(kKC, p.k) + Tr::KG - 1) / Tr::KG;
  const int64_t a_panel = kg_max * Tr::MR * Tr::KG, b_panel = kg_max * Tr::NR * Tr::KG;
  // Row chunks: enough tasks to share among the threads even when n is small.
  const int64_t m_chunks = std::max<int64_t>(1, std::min<int64_t>(m_panels, (2 * threads + n_blocks - 1) / n_blocks));
  const int64_t chunk_panels = (m_panels + m_chunks - 1) / m_chunks;
  const int64_t tasks = n_blocks * ((m_panels + chunk_panels - 1) / chunk_panels);

  // C starts at 0, or at -128 * colsum(B) when A is packed as a + 128 (VNNI). Unsigned
  // arithmetic: the correction may wrap exactly as the accumulation does.
  std::vector<uint32_t> init(p.n, 0);
  if (Tr::a_offset != 0) {
    auto b_at = [&](int64_t q, int64_t j) {
      return static_cast<uint32_t>(static_cast<int32_t>(p.b[q * p.b_row_stride + j * p.b_col_stride]));
    };
    if (p.b_row_stride == 1)  // B given as (n, k): each column is contiguous
      for (int64_t j = 0; j < p.n; ++j)
        for (int64_t q = 0; q < p.k; ++q) init[j] -= static_cast<uint32_t>(Tr::a_offset) * b_at(q, j);
    else
      for (int64_t q = 0; q < p.k; ++q)
        for (int64_t j = 0; j < p.n; ++j) init[j] -= static_cast<uint32_t>(Tr::a_offset) * b_at(q, j);
  }

  std::vector<AT> apack(n_slices * m_panels * a_panel);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
#pragma omp for schedule(static)
    for (int64_t idx = 0; idx < n_slices * m_panels; ++idx) {
      const int64_t s = idx / m_panels, ip = idx % m_panels, k0 = s * kKC;
      pack_a_panel<Tr>(p, ip * Tr::MR, k0, std::min(p.k, k0 + kKC), apack.data() + idx * a_panel);
    }
    std::vector<BT> bbuf((kNCB / Tr::NR) * b_panel);
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t bj = task % n_blocks, chunk = task / n_blocks;
      const int64_t ip_begin = chunk * chunk_panels, ip_end = std::min(m_panels, ip_begin + chunk_panels);
      const int64_t j_begin = bj * kNCB, j_end = std::min(p.n, j_begin + kNCB);
      const int64_t i_begin = ip_begin * Tr::MR, i_end = std::min(p.m, ip_end * Tr::MR);
      for (int64_t i = i_begin; i < i_end; ++i)
        for (int64_t j = j_begin; j < j_end; ++j) p.c[i * p.c_row_stride + j] = static_cast<int32_t>(init[j]);
      for (int64_t s = 0; s < n_slices; ++s) {
        const int64_t k0 = s * kKC, k1 = std::min(p.k, k0 + kKC), kg = (k1 - k0 + Tr::KG - 1) / Tr::KG;
        for (int64_t j = j_begin; j < j_end; j += Tr::NR)
          pack_b_panel<Tr>(p, j, k0, k1, bbuf.data() + ((j - j_begin) / Tr::NR) * b_panel);
        for (int64_t ip = ip_begin; ip < ip_end; ++ip) {
          const int64_t i = ip * Tr::MR;
          const int mr = static_cast<int>(std::min<int64_t>(Tr::MR, p.m - i));
          const AT* ap = apack.data() + (s * m_panels + ip) * a_panel;
          for (int64_t j = j_begin; j < j_end; j += Tr::NR) {
            const int nr = static_cast<int>(std::min<int64_t>(Tr::NR, p.n - j));
            Tr::kernel(kg, ap, bbuf.data() + ((j - j_begin) / Tr::NR) * b_panel, p.c + i * p.c_row_stride + j,
                       p.c_row_stride, mr, nr);
          }
        }
      }
    }
  }
}

}  // namespace

void gemm_int8_reference(const GemmInt8Params& p) {
  if (p.m <= 0 || p.n <= 0) return;
  const int threads = threads_for(p);
  if (threads == 1) return reference_rows(p, 0, p.m);
  parallel_for(p.m, std::max<int64_t>(1, 65536 / std::max<int64_t>(p.n * (p.k + 1), 1)),
               [&](int64_t b, int64_t e) { reference_rows(p, b, e); });
}

void gemm_int8(const GemmInt8Params& p) {
  if (p.m <= 0 || p.n <= 0) return;
  switch (isa_for(paths())) {
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
  // x quantised per row: channels = rows, symmetric.
  QuantInt8Params qp;
  qp.outer = 1;
  qp.channels = p.m;
  qp.inner = p.k;
  qp.qmin = -127;
  qp.qmax = 127;
  std::vector<float> x_scale(p.m);
  std::vector<int32_t> x_zp(p.m);
  if (!choose_qparams_int8(p.x, qp, /*symmetric=*/true, x_scale.data(), x_zp.data())) return false;
  qp.scale = x_scale.data();
  qp.zero_point = x_zp.data();
  std::vector<int8_t> xq(p.m * p.k);
  quantize_int8(p.x, xq.data(), qp);

  std::vector<int32_t> acc(p.m * p.n);
  GemmInt8Params g;
  g.m = p.m; g.n = p.n; g.k = p.k;
  g.a = xq.data(); g.a_row_stride = p.k; g.a_col_stride = 1;
  g.b = p.w; g.b_row_stride = 1; g.b_col_stride = p.k;  // B = W^T
  g.c = acc.data(); g.c_row_stride = p.n;
  gemm_int8(g);

  // Epilogue: y = (s_x[i] * s_w[j]) * acc + bias.
  parallel_for(p.m, std::max<int64_t>(1, 65536 / p.n), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float sx = x_scale[i];
      const int32_t* a_row = acc.data() + i * p.n;
      float* y_row = p.y + i * p.n;
      for (int64_t j = 0; j < p.n; ++j) {
        const float v = static_cast<float>(a_row[j]) * (sx * p.w_scale[j]);
        y_row[j] = p.bias ? v + p.bias[j] : v;
      }
    }
  });
  return true;
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
