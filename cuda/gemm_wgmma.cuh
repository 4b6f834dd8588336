// The Hopper (sm_90a) GEMM mainloop for bf16/fp16 operands: warp-group MMA (wgmma.mma_async)
// reading both operands from shared memory through matrix descriptors, float32 accumulators in
// registers. OPT-IN (gemm.cu: GRIMOIRE_CUDA_WGMMA=1 on an sm_90 device) until it has been
// checked against the CPU core on a GPU; it was written and statically checked (SASS has HGMMA,
// no spills) on a machine without one.
//
//   Block tile 128 x 256, 256 threads = two warp groups; warp group w computes rows 64w..64w+63
//   of the tile over all 256 columns with wgmma m64n256k16 (128 fp32 accumulators per thread).
//   k-slices of 64 elements (128 bytes: one 128-byte swizzle row) in a 4-stage shared-memory
//   ring filled by cp.async; per stage A is 128 rows x 128 bytes (16 KiB), B 256 rows x 128
//   bytes (32 KiB): 192 KiB of ring (+1 KiB to align it), within sm_90's 227 KiB.
//
// Operands: both K-major (k contiguous): A(i, p) at a + i * lda + p, B seen as (n, k) with
// B(j, p) at b + j * ldb + p (trans_b of a row-major (n, k) weight). Chunks of 16 bytes past
// the m / n / k edges are zero-filled by cp.async, so any m, n and any k that is a multiple of 8
// work (the host checks k, the leading and batch strides are multiples of 8 elements and the
// bases 16-byte aligned: the same rule as the mma.sync kernel's cp.async path).
//
// Shared-memory layout = the canonical wgmma K-major layout with 128-byte swizzle (PTX ISA,
// "Shared Memory Matrix Layout"; CUTLASS's Swizzle<3,4,3>): row r of a tile occupies bytes
// [128 r, 128 r + 128); its 16-byte chunk c (elements 8c..8c+7 of the slice) lies at chunk
// c ^ (r % 8). The swizzle is a function of the absolute shared address (bits 4-6 ^= bits 7-9),
// so every tile starts on a 1024-byte boundary (8 rows x 128 bytes, the swizzle atom).
//
// Matrix descriptor (64 bits; PTX ISA "Matrix Descriptor Format", cute::GmmaDescriptor):
//   bits  0-13  start address >> 4
//   bits 16-29  leading byte offset >> 4: unused by the swizzled K-major layouts (set to 1)
//   bits 32-45  stride byte offset >> 4: from one group of 8 rows to the next = 1024 bytes
//   bits 49-51  base offset: 0 (tiles are 1024-byte aligned)
//   bits 62-63  layout: 1 = 128-byte swizzle
// The k16 step kk of a slice starts 32 * kk bytes into the rows (the hardware applies the XOR
// to the address it computes, as CUTLASS and DeepGEMM advance their descriptors).
//
// Accumulator fragment of m64nNk16 with f32 (PTX ISA figure "wgmma-64N16-D"): thread `lane` of
// warp `w` (of its warp group) holds d[4j + e] = D(16 w + lane / 4 + 8 (e / 2), 8 j + 2 (lane % 4)
// + e % 2) for j < N / 8: the mma.sync m16n8 C layout repeated along n.
//
// Proxies and ordering: cp.async writes shared memory through the generic proxy, wgmma reads it
// through the async proxy. Each slice: every thread waits for its own cp.async group, issues
// fence.proxy.async.shared::cta (its generic writes become visible to the async proxy), then
// one __syncthreads() publishes the whole stage; wgmma.fence orders the accumulator registers
// before the batch of wgmma, commit_group closes the batch, wait_group 1 lets it run while the
// next slice is issued. A stage is refilled only after every warp group has waited for the
// wgmma that read it (the wait_group<1> of the previous iteration, then the barrier).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "gemm_kernels.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GRIMOIRE_WGMMA_COMPILED 1
#else
#define GRIMOIRE_WGMMA_COMPILED 0
#endif

namespace grimoire::cuda::wgmma {

namespace cfg {
constexpr int kBM = 128, kBN = 256;             // block tile
constexpr int kBK = 64;                         // k elements per slice (16-bit: 128 bytes)
constexpr int kRowBytes = kBK * 2;              // one 128-byte swizzle row
constexpr int kThreads = 256;                   // two warp groups
constexpr int kStages = 4;
constexpr int kABytes = kBM * kRowBytes;        // 16 KiB
constexpr int kBBytes = kBN * kRowBytes;        // 32 KiB
constexpr int kStageBytes = kABytes + kBBytes;  // 48 KiB
constexpr int kAtom = 1024;                     // 8 rows x 128 bytes: the swizzle atom
constexpr int kSmemBytes = kStages * kStageBytes + kAtom;  // + slack to align the ring
static_assert(kSmemBytes <= 227 * 1024, "sm_90 shared memory per block");
static_assert(kABytes % kAtom == 0 && kBBytes % kAtom == 0, "every tile starts on a swizzle atom");
static_assert(kBM == 2 * 64, "two warp groups of m64");
}  // namespace cfg

// Byte offset of 16-byte chunk c (0..7) of row r in a 128-byte-swizzled tile.
__device__ __forceinline__ int sw128(int r, int c) { return r * cfg::kRowBytes + ((c ^ (r & 7)) << 4); }

// The descriptor of a K-major, 128-byte-swizzled tile whose k16 block starts at `smem_addr`.
__device__ __forceinline__ uint64_t sw128_desc(uint32_t smem_addr) {
  return static_cast<uint64_t>((smem_addr & 0x3FFFF) >> 4)   // start address
         | (static_cast<uint64_t>(1) << 16)                   // leading byte offset (unused)
         | (static_cast<uint64_t>(cfg::kAtom >> 4) << 32)     // stride byte offset: 1024 B
         | (static_cast<uint64_t>(1) << 62);                  // 128-byte swizzle
}

// One k-slice of an operand (kRows x 64 elements) by cp.async, 8 consecutive threads per row
// (128 coalesced bytes); out-of-range chunks are zero-filled (`src` then only has to be valid).
template <int kRows>
__device__ __forceinline__ void load_slice(const kernels::CpAsyncOperand& op, char* tile, int64_t z, int64_t row0,
                                           int64_t kb0, int tid) {
  static_assert(kRows * 8 % cfg::kThreads == 0, "whole chunks per thread");
  const char* base = op.base + z * op.batch_bytes;
#pragma unroll
  for (int e = 0; e < kRows * 8 / cfg::kThreads; ++e) {
    const int idx = tid + cfg::kThreads * e;
    const int r = idx >> 3, c = idx & 7;
    const int64_t gi = row0 + r, gk = kb0 + c * 16;
    const bool valid = gi < op.rows && gk < op.k_bytes;
    const char* src = valid ? base + gi * op.ld_bytes + gk : op.base;
    mma::cp_async_16(tile + sw128(r, c), src, valid ? 16 : 0);
  }
}

#if GRIMOIRE_WGMMA_COMPILED
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// This thread's generic-proxy shared-memory writes (cp.async) made visible to the async proxy.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// Keeps the compiler from moving accumulator reads/writes across the asynchronous wgmma.
__device__ __forceinline__ void fence_accumulators(float (&d)[128]) {
#pragma unroll
  for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

#define GRIMOIRE_D8(i)                                                                                    \
  "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), \
      "+f"(d[i + 7])
#define GRIMOIRE_WGMMA_M64N256K16(TYPE)                                                                  \
  asm volatile(                                                                                          \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"                                                      \
      "wgmma.mma_async.sync.aligned.m64n256k16.f32." TYPE "." TYPE " {"                                 \
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                           \
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "                 \
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "                 \
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "                 \
      "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "                 \
      "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "                 \
      "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "     \
      "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, " \
      "%128, %129, p, 1, 1, 0, 0;\n}\n"                                                                  \
      : GRIMOIRE_D8(0), GRIMOIRE_D8(8), GRIMOIRE_D8(16), GRIMOIRE_D8(24), GRIMOIRE_D8(32), GRIMOIRE_D8(40),  \
        GRIMOIRE_D8(48), GRIMOIRE_D8(56), GRIMOIRE_D8(64), GRIMOIRE_D8(72), GRIMOIRE_D8(80), GRIMOIRE_D8(88), \
        GRIMOIRE_D8(96), GRIMOIRE_D8(104), GRIMOIRE_D8(112), GRIMOIRE_D8(120)                            \
      : "l"(desc_a), "l"(desc_b), "r"(1))

// d += A (64 x 16, K-major) * B (16 x 256, given as 256 x 16 K-major); scale-d = 1 (accumulate),
// no negation (scale-a = scale-b = 1), no transposes (both K-major).
template <bool kF16>
__device__ __forceinline__ void mma_m64n256k16(float (&d)[128], uint64_t desc_a, uint64_t desc_b) {
  if constexpr (kF16) GRIMOIRE_WGMMA_M64N256K16("f16");
  else GRIMOIRE_WGMMA_M64N256K16("bf16");
}
#undef GRIMOIRE_WGMMA_M64N256K16
#undef GRIMOIRE_D8
#endif  // GRIMOIRE_WGMMA_COMPILED

// The pipeline (see the header comment). Invariant at the top of k-slice s: this thread's
// cp.async groups 0..s are complete (wait_group kStages-3 leaves the one of slice s+1 in
// flight); after the proxy fence and the barrier slice s is visible to both warp groups' wgmma,
// and both have completed the wgmma of slice s-2 (their wait_group 1 at the end of slice s-1),
// so its stage ((s-2) % kStages == (s + kStages - 2) % kStages) is refilled with slice
// s + kStages - 2. One commit per slice (empty past the end) keeps the group count in step.
// Compiles to an empty kernel where wgmma does not exist (the host never launches it there).
template <bool kF16, class Out>
__global__ void __launch_bounds__(cfg::kThreads, 1)
    wgmma_gemm_kernel(kernels::CpAsyncOperand a, kernels::CpAsyncOperand b, Out out, kernels::GemmShape sh) {
#if GRIMOIRE_WGMMA_COMPILED
  using namespace cfg;
  // Declared 16-byte aligned only, so that the rounding up to the swizzle atom below is really
  // computed (kSmemBytes has the 1 KiB of slack) rather than assumed by the compiler.
  extern __shared__ __align__(16) char smem_raw[];
  const uint32_t raw = mma::smem_addr(smem_raw);
  char* ring = smem_raw + ((kAtom - raw % kAtom) % kAtom);
  const uint32_t ring_addr = mma::smem_addr(ring);
  const int tid = threadIdx.x, wg = tid / 128, warp = (tid % 128) / 32, lane = tid % 32;
  const int64_t slices = (sh.k + kBK - 1) / kBK;
  const int64_t tiles = static_cast<int64_t>(sh.tiles_m) * sh.tiles_n;
  for (int64_t z = blockIdx.y; z < sh.batch; z += gridDim.y) {
    for (int64_t pid = blockIdx.x; pid < tiles; pid += gridDim.x) {
      int tm, tn;
      kernels::tile_coords(pid, sh.tiles_m, sh.tiles_n, tm, tn);
      const int64_t m0 = static_cast<int64_t>(tm) * kBM, n0 = static_cast<int64_t>(tn) * kBN;
      float acc[128];
#pragma unroll
      for (int i = 0; i < 128; ++i) acc[i] = 0.0f;
      // Both warp groups have waited for all their wgmma of the previous tile (wait_group 0
      // before its epilogue): the ring may be refilled.
      __syncthreads();
#pragma unroll
      for (int s = 0; s < kStages - 2; ++s) {
        if (s < slices) {
          char* stage = ring + s * kStageBytes;
          load_slice<kBM>(a, stage, z, m0, static_cast<int64_t>(s) * kRowBytes, tid);
          load_slice<kBN>(b, stage + kABytes, z, n0, static_cast<int64_t>(s) * kRowBytes, tid);
        }
        mma::cp_async_commit();
      }
      for (int64_t s = 0; s < slices; ++s) {
        mma::cp_async_wait<kStages - 3>();
        fence_proxy_async();
        __syncthreads();
        const int64_t next = s + kStages - 2;
        if (next < slices) {
          char* stage = ring + (next % kStages) * kStageBytes;
          load_slice<kBM>(a, stage, z, m0, next * kRowBytes, tid);
          load_slice<kBN>(b, stage + kABytes, z, n0, next * kRowBytes, tid);
        }
        mma::cp_async_commit();
        const uint32_t stage = ring_addr + static_cast<uint32_t>(s % kStages) * kStageBytes;
        const uint32_t tile_a = stage + wg * 64 * kRowBytes;  // this warp group's 64 rows (8 atoms)
        const uint32_t tile_b = stage + kABytes;
        fence_accumulators(acc);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < kBK / 16; ++kk)
          mma_m64n256k16<kF16>(acc, sw128_desc(tile_a + kk * 32), sw128_desc(tile_b + kk * 32));
        wgmma_commit();
        wgmma_wait<1>();
        fence_accumulators(acc);
      }
      wgmma_wait<0>();
      fence_accumulators(acc);
      mma::cp_async_wait<0>();  // only empty groups are left; keeps the count at zero per tile
      const int64_t row = m0 + wg * 64 + warp * 16 + lane / 4;
      const int64_t col = n0 + 2 * (lane % 4);
#pragma unroll
      for (int j = 0; j < kBN / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int64_t i = row + (e >= 2 ? 8 : 0), jj = col + 8 * j + (e & 1);
          if (i < sh.m && jj < sh.n) out(z, i, jj, acc[4 * j + e]);
        }
    }
  }
#endif
}

// Launch on a grid of 128 x 256 tiles (grouped order along x, the batch along y). The caller
// has checked the operands (K-major, 16-byte rule) and that the device is sm_90.
template <bool kF16, class Out>
cudaError_t launch(const kernels::CpAsyncOperand& a, const kernels::CpAsyncOperand& b, const Out& out,
                   kernels::GemmShape sh, cudaStream_t stream) {
  const int64_t tm = (sh.m + cfg::kBM - 1) / cfg::kBM, tn = (sh.n + cfg::kBN - 1) / cfg::kBN;
  if (tm > INT32_MAX || tn > INT32_MAX || tm * tn > INT32_MAX) return cudaErrorInvalidValue;
  sh.tiles_m = static_cast<int>(tm);
  sh.tiles_n = static_cast<int>(tn);
  const dim3 grid(static_cast<unsigned>(tm * tn), static_cast<unsigned>(sh.batch < 65535 ? sh.batch : 65535));
  auto kernel = wgmma_gemm_kernel<kF16, Out>;
  const cudaError_t opted =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, cfg::kSmemBytes);
  if (opted != cudaSuccess) return opted;
  kernel<<<grid, cfg::kThreads, cfg::kSmemBytes, stream>>>(a, b, out, sh);
  return cudaGetLastError();
}

}  // namespace grimoire::cuda::wgmma
