// GEMM internals shared by the driver (gemm.cpp) and the SIMD paths: the per-ISA kernel table,
// the cache blocking, the per-thread packing buffers and the thread count.
//
// The SIMD paths are written once over a vector type (gemm_simd.h, on simd_vec.h's traits) and
// instantiated by one file per ISA (gemm_avx2.cpp, gemm_avx512.cpp) into a GemmKernels table that
// gemm.cpp picks by ISA, as the norm family does: a new ISA is one file and one table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "grimoire/gemm.h"

namespace grimoire::gemm_detail {

// One ISA's GEMM: the float32 and float64 drivers and its FMA-throughput loop.
struct GemmKernels {
  void (*sgemm)(const GemmParams<float>& p);
  void (*dgemm)(const GemmParams<double>& p);
  void (*sgemm_packer)(const GemmParams<float>& p, const GemmBPacker<float>& b);  // op(B) from a packer
  // CPU seconds this thread takes for `iterations` x 12 independent FMAs of `float_lanes` lanes.
  double (*fma_seconds)(int64_t iterations);
  int float_lanes;
};

extern const GemmKernels kernels_avx2;
extern const GemmKernels kernels_avx512;

// Cache blocking for a microkernel of mr x nr elements of `elem_size` bytes, from the cache sizes
// the CPU reports (sysconf), clamped to sane values. mc, kc, nc as in gemm_simd.h.
struct Blocking {
  int64_t mc, nc, kc;
  int64_t l1, l2;  // bytes of L1d and L2 per core
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

}  // namespace grimoire::gemm_detail
