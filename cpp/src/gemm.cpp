// GEMM driver. The scalar reference path lives here; the packed, cache-blocked SIMD paths are
// one GemmKernels table per ISA (gemm_avx2.cpp, gemm_avx512.cpp, written once in gemm_simd.h),
// picked at run time by isa_for(). This file also holds what those paths share: the cache
// blocking, the per-thread packing buffers and the thread count.
#include "grimoire/gemm.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <vector>

#include "gemm_internal.h"
#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace gemm_detail {

namespace {

int64_t cache_bytes(int name, int64_t fallback, int64_t lo, int64_t hi) {
  const long v = sysconf(name);
  return std::clamp<int64_t>(v > 0 ? v : fallback, lo, hi);
}

}  // namespace

Blocking blocking(int mr, int nr, int elem_size) {
  // Defaults are Zen 3's: 32 KiB L1d, 512 KiB L2 per core, 32 MiB L3 (sysconf may report the
  // whole socket's L3, hence the clamp).
  static const int64_t l1 = cache_bytes(_SC_LEVEL1_DCACHE_SIZE, 32 << 10, 16 << 10, 64 << 10);
  static const int64_t l2 = cache_bytes(_SC_LEVEL2_CACHE_SIZE, 512 << 10, 128 << 10, 2 << 20);
  static const int64_t l3 = cache_bytes(_SC_LEVEL3_CACHE_SIZE, 32 << 20, 2 << 20, 32 << 20);
  Blocking b;
  b.l1 = l1;
  b.l2 = l2;
  // kc: the C tile is read and written once per kc steps, so kc is as long as the A micro-panel
  // (mr x kc) can be while it fits in ~60% of L1, at most 512. Zen 5 (48 KiB L1d, 1 MiB L2),
  // 1 thread, 1024^3 / 2048^3 float32: the AVX-512 path at kc 192 (B micro-panel in half of L1,
  // the rule before) ran ~190 GFLOP/s, at kc 512 ~207; AVX2 (6 x 16) was flat from 256 to 512.
  b.kc = std::clamp<int64_t>(l1 * 3 / 5 / (mr * elem_size), 128, 512) & ~int64_t{7};
  // The packed A block (mc x kc) fills about half of L2; the other half takes the B micro-panels
  // and C tiles streaming through (mc 812 at kc 512 ran 2-5% slower than 252 on Zen 5).
  b.mc = std::max<int64_t>(mr, (l2 / 2 / (b.kc * elem_size)) / mr * mr);
  // The packed B block (kc x nc) about a quarter of L3.
  b.nc = std::max<int64_t>(nr, (l3 / 4 / (b.kc * elem_size)) / nr * nr);
  return b;
}

namespace {

struct Scratch {
  void* ptr[3] = {nullptr, nullptr, nullptr};
  size_t size[3] = {0, 0, 0};
  ~Scratch() {
    for (void* p : ptr) std::free(p);
  }
};

}  // namespace

void* scratch(int slot, size_t bytes) {
  thread_local Scratch s;
  if (bytes > s.size[slot]) {
    std::free(s.ptr[slot]);
    const size_t want = (std::max(bytes, s.size[slot] * 3 / 2) + 63) & ~size_t{63};
    s.ptr[slot] = std::aligned_alloc(64, want);
    if (s.ptr[slot] == nullptr) {
      s.size[slot] = 0;
      throw std::bad_alloc();
    }
    s.size[slot] = want;
  }
  return s.ptr[slot];
}

int threads_for(int requested, int64_t m, int64_t n, int64_t k) {
  const int want = requested > 0 ? requested : num_threads();
  if (want <= 1) return 1;
  // About 2^18 multiply-adds (a 64^3 product) per thread pays for waking it.
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const double per_thread = 262144.0;
  return static_cast<int>(std::clamp<double>(work / per_thread, 1.0, want));
}

}  // namespace gemm_detail

namespace {

template <typename T>
void scale_c(const GemmParams<T>& p, int64_t row_begin, int64_t row_end) {
  for (int64_t i = row_begin; i < row_end; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      T& cij = p.c[i * p.c_row_stride + j * p.c_col_stride];
      cij = p.beta == T(0) ? T(0) : p.beta * cij;
    }
}

// Rows [row_begin, row_end) of C: C = beta*C, then C += alpha * A[i,:] * B, accumulating each
// row in i-p-j order so the inner loop walks a row of B and a row of C.
template <typename T>
void reference_rows(const GemmParams<T>& p, int64_t row_begin, int64_t row_end) {
  scale_c(p, row_begin, row_end);
  if (p.alpha == T(0)) return;
  for (int64_t i = row_begin; i < row_end; ++i) {
    T* c_row = p.c + i * p.c_row_stride;
    for (int64_t q = 0; q < p.k; ++q) {
      const T a_iq = p.alpha * p.a[i * p.a_row_stride + q * p.a_col_stride];
      const T* b_row = p.b + q * p.b_row_stride;
      for (int64_t j = 0; j < p.n; ++j) c_row[j * p.c_col_stride] += a_iq * b_row[j * p.b_col_stride];
    }
  }
}

template <typename T>
void reference(const GemmParams<T>& p) {
  if (p.m <= 0 || p.n <= 0) return;
  const int threads = p.num_threads > 0 ? p.num_threads : num_threads();
  if (threads == 1) {
    reference_rows(p, 0, p.m);
    return;
  }
  const int64_t flops_per_row = p.n * (p.k + 1);
  parallel_for(p.m, std::max<int64_t>(1, 65536 / std::max<int64_t>(flops_per_row, 1)),
               [&](int64_t b, int64_t e) { reference_rows(p, b, e); });
}

const std::vector<Isa>& gemm_paths() {
  static const std::vector<Isa> paths = {Isa::scalar, Isa::avx2, Isa::avx512};
  return paths;
}

// The SIMD table of an ISA, null for the scalar reference.
const gemm_detail::GemmKernels* kernels_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return &gemm_detail::kernels_avx512;
    case Isa::avx2: return &gemm_detail::kernels_avx2;
    default: return nullptr;
  }
}

void dispatch(const GemmParams<float>& p) {
  const gemm_detail::GemmKernels* k = kernels_for(isa_for(gemm_paths()));
  if (k != nullptr) k->sgemm(p);
  else reference(p);
}

void dispatch(const GemmParams<double>& p) {
  const gemm_detail::GemmKernels* k = kernels_for(isa_for(gemm_paths()));
  if (k != nullptr) k->dgemm(p);
  else reference(p);
}

// op(B) from a packer: the SIMD paths pack it panel by panel; the reference asks for all of it at
// once (one kc x n panel, ld = n) and runs on that.
void dispatch(const GemmParams<float>& p, const GemmBPacker<float>& b) {
  const gemm_detail::GemmKernels* k = kernels_for(isa_for(gemm_paths()));
  if (k != nullptr) {
    k->sgemm_packer(p, b);
    return;
  }
  if (p.m <= 0 || p.n <= 0) return;
  std::vector<float> full(static_cast<size_t>(std::max<int64_t>(p.k, 0) * p.n));
  if (p.k > 0) b.pack(b.ctx, 0, p.k, 0, p.n, p.n, full.data());
  GemmParams<float> q = p;
  q.b = full.data();
  q.b_row_stride = p.n;
  q.b_col_stride = 1;
  reference(q);
}

// Small products each on one thread, spread over the batch; large ones one after another, each
// using all threads.
template <typename T>
void batched(const GemmParams<T>& p, const GemmBatch<T>& batch) {
  auto one = [&](int64_t i, int threads) {
    GemmParams<T> q = p;
    q.a += i * batch.a_batch_stride;
    q.b += i * batch.b_batch_stride;
    q.c += i * batch.c_batch_stride;
    q.num_threads = threads;
    dispatch(q);
  };
  const int threads = p.num_threads > 0 ? p.num_threads : num_threads();
  const int per_product = gemm_detail::threads_for(threads, p.m, p.n, p.k);
  if (threads <= 1 || per_product >= threads || batch.batch < 2) {
    for (int64_t i = 0; i < batch.batch; ++i) one(i, p.num_threads);
    return;
  }
  const int64_t work = std::max<int64_t>(1, p.m * p.n * std::max<int64_t>(p.k, 1));
  const int64_t grain = std::max<int64_t>(1, 262144 / work);
  const int64_t chunks = std::max<int64_t>(1, batch.batch / grain);
  const int team = static_cast<int>(std::min<int64_t>(threads, chunks));
  if (team <= 1) {
    for (int64_t i = 0; i < batch.batch; ++i) one(i, 1);
    return;
  }
#pragma omp parallel for num_threads(team) schedule(static)
  for (int64_t i = 0; i < batch.batch; ++i) one(i, 1);
}

const bool registered = (register_family("gemm", gemm_paths()), true);

}  // namespace

namespace gemm_detail {

template <typename T>
void scale_only(const GemmParams<T>& p) {
  if (p.m <= 0 || p.n <= 0) return;
  scale_c(p, 0, p.m);
}
template void scale_only(const GemmParams<float>&);
template void scale_only(const GemmParams<double>&);

}  // namespace gemm_detail

void gemm_reference(const GemmParams<float>& p) { reference(p); }
void gemm_reference(const GemmParams<double>& p) { reference(p); }
void gemm(const GemmParams<float>& p) { dispatch(p); }
void gemm(const GemmParams<double>& p) { dispatch(p); }
void gemm(const GemmParams<float>& p, const GemmBPacker<float>& b) { dispatch(p, b); }
double fma_peak_flops(int64_t iterations) {
  if (iterations <= 0) return 0.0;
  // The vector width of the path gemm takes: a core that runs 512-bit FMAs at full width (Zen 5)
  // has twice the AVX2 peak, one that splits them in two (Zen 4) the same.
  const gemm_detail::GemmKernels* k = kernels_for(isa_for(gemm_paths()));
  if (k == nullptr) return 0.0;
  const double seconds = k->fma_seconds(iterations);
  return seconds > 0 ? 12.0 * k->float_lanes * 2.0 * static_cast<double>(iterations) / seconds : 0.0;
}
void gemm_batched(const GemmParams<float>& p, const GemmBatch<float>& b) { batched(p, b); }
void gemm_batched(const GemmParams<double>& p, const GemmBatch<double>& b) { batched(p, b); }

}  // namespace grimoire
