// The two GEMM mainloops every GEMM-shaped family instantiates (gemm.cu, gemm_lowp.cu, conv.cu):
//
//   simt_gemm_kernel   float32 FMAs on the CUDA cores, for any operand the caller can index:
//                      128x128 block tile, 8 x 8 register block per thread (256 threads),
//                      k-slices of 8 double-buffered in shared memory (one barrier per slice),
//                      the next slice read into registers while the current one is multiplied.
//   tc_gemm_kernel     mma.sync on tensor cores: 128x128 block tile, 8 warps of 64x32, k-slices
//                      of 64 bytes (32 bf16/f16, 64 int8/fp8), a 4-stage shared-memory ring
//                      filled by cp.async (or by a gathering loader, for convolutions),
//                      ldmatrix from XOR-swizzled rows (bank-conflict free), fp32/int32
//                      accumulators in registers.
//
// Both take their operands through small policy objects, so the same loop serves a strided
// GEMM and an implicit-GEMM convolution (whose loaders compute input coordinates):
//   A(z, i, p): element (i, p) of op(A) of batch z, i < m, p < k;  B(z, j, p): element (p, j) of op(B)
//   Out(z, i, j, acc): writes C(i, j) (i < m, j < n) from the accumulator.
// The m / n / k sizes and the batch are int64; tile indices fit int32 (checked by the host).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "tensor_core.cuh"

namespace grimoire::cuda::kernels {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  int tiles_m = 0, tiles_n = 0;  // ceil(m / 128), ceil(n / 128)
};

// Grouped tile order (8 tile-rows at a time): consecutive blocks share A row-panels and sweep a
// band of B, so a wave's operands stay in L2.
__device__ __forceinline__ void tile_coords(int64_t pid, int tiles_m, int tiles_n, int& tm, int& tn) {
  constexpr int kGroup = 8;
  const int64_t width = static_cast<int64_t>(kGroup) * tiles_n;
  const int64_t first_m = (pid / width) * kGroup;
  const int64_t group_rows = min(static_cast<int64_t>(tiles_m) - first_m, static_cast<int64_t>(kGroup));
  tm = static_cast<int>(first_m + (pid % width) % group_rows);
  tn = static_cast<int>((pid % width) / group_rows);
}

// Element loads as float (the SIMT kernel converts on the way into shared memory).
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(uint16_t bf16_bits) { return __uint_as_float(static_cast<uint32_t>(bf16_bits) << 16); }

// ============================================================================================
// SIMT
// ============================================================================================
namespace simt {
constexpr int kTile = 128, kDepth = 8, kThreads = 256, kPad = 4;  // pad: see store_slice
}

// Operand slices of 128 x 8 (rows x k) are read as 4 elements per thread. `k_fast` operands (k
// has stride 1) are read along k by consecutive threads (8 of them cover a 32-byte sector),
// the others along the row index, so both layouts read whole sectors.
template <class Op>
__device__ __forceinline__ void simt_load_slice(const Op& op, int64_t z, int64_t row0, int64_t rows, int64_t k0,
                                                int64_t k, int tid, float (&reg)[4]) {
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const int idx = tid + simt::kThreads * e;
    const int i = op.k_fast ? idx / simt::kDepth : idx % simt::kTile;
    const int q = op.k_fast ? idx % simt::kDepth : idx / simt::kTile;
    const int64_t gi = row0 + i, gq = k0 + q;
    reg[e] = (gi < rows && gq < k) ? op(z, gi, gq) : 0.0f;
  }
}

// Stored transposed ([k][row]) so the compute loop reads 4 consecutive rows as one float4. The
// row pitch is 132 floats: along k (the k_fast store order) 8 consecutive threads hit banks
// 4q + i, distinct across a warp's 4 rows x 8 k; the pitch stays a multiple of 16 bytes.
template <class Op>
__device__ __forceinline__ void simt_store_slice(const Op& op, float (*tile)[simt::kTile + simt::kPad], int tid,
                                                 const float (&reg)[4]) {
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const int idx = tid + simt::kThreads * e;
    const int i = op.k_fast ? idx / simt::kDepth : idx % simt::kTile;
    const int q = op.k_fast ? idx % simt::kDepth : idx / simt::kTile;
    tile[q][i] = reg[e];
  }
}

// Thread (ty, tx) of the 16 x 16 grid owns rows {4ty..4ty+3, 64+4ty..} and columns
// {4tx..4tx+3, 64+4tx..} of the tile (two float4 per operand per k: a warp reads 2 distinct A
// vectors (broadcast) and 16 consecutive B vectors). kMinBlocks = 2 caps registers at 128 (the
// strided GEMM fits, two blocks share an SM); the convolution loaders, which carry their
// coordinate decoding, take 1 (up to 255 registers, no spills).
template <class AOp, class BOp, class Out, int kMinBlocks>
__global__ void __launch_bounds__(simt::kThreads, kMinBlocks) simt_gemm_kernel(AOp a, BOp b, Out out, GemmShape sh) {
  using namespace simt;
  __shared__ __align__(16) float sa[2][kDepth][kTile + kPad];
  __shared__ __align__(16) float sb[2][kDepth][kTile + kPad];
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t k_slices = (sh.k + kDepth - 1) / kDepth;
  const int64_t tiles = static_cast<int64_t>(sh.tiles_m) * sh.tiles_n;
  for (int64_t z = blockIdx.y; z < sh.batch; z += gridDim.y) {
    for (int64_t pid = blockIdx.x; pid < tiles; pid += gridDim.x) {
      int tm, tn;
      tile_coords(pid, sh.tiles_m, sh.tiles_n, tm, tn);
      const int64_t m0 = static_cast<int64_t>(tm) * kTile, n0 = static_cast<int64_t>(tn) * kTile;
      float acc[8][8];
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
      float ra[4], rb[4];
      if (k_slices > 0) {
        simt_load_slice(a, z, m0, sh.m, 0, sh.k, tid, ra);
        simt_load_slice(b, z, n0, sh.n, 0, sh.k, tid, rb);
        simt_store_slice(a, sa[0], tid, ra);
        simt_store_slice(b, sb[0], tid, rb);
      }
      __syncthreads();
      // Invariant at the top of slice s: buffer s&1 holds slice s, visible to all threads; no
      // thread reads buffer (s+1)&1 any more (its last reader, slice s-1, ended at a barrier).
      for (int64_t s = 0; s < k_slices; ++s) {
        const int buf = static_cast<int>(s & 1);
        const bool more = s + 1 < k_slices;
        if (more) {
          simt_load_slice(a, z, m0, sh.m, (s + 1) * kDepth, sh.k, tid, ra);
          simt_load_slice(b, z, n0, sh.n, (s + 1) * kDepth, sh.k, tid, rb);
        }
#pragma unroll
        for (int q = 0; q < kDepth; ++q) {
          const float4 a0 = *reinterpret_cast<const float4*>(&sa[buf][q][ty * 4]);
          const float4 a1 = *reinterpret_cast<const float4*>(&sa[buf][q][64 + ty * 4]);
          const float4 b0 = *reinterpret_cast<const float4*>(&sb[buf][q][tx * 4]);
          const float4 b1 = *reinterpret_cast<const float4*>(&sb[buf][q][64 + tx * 4]);
          const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
          const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
          for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        if (more) {
          simt_store_slice(a, sa[buf ^ 1], tid, ra);
          simt_store_slice(b, sb[buf ^ 1], tid, rb);
        }
        __syncthreads();
      }
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const int64_t row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
        if (row >= sh.m) continue;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const int64_t col = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
          if (col < sh.n) out(z, row, col, acc[i][j]);
        }
      }
    }
  }
}

// ============================================================================================
// Tensor cores
// ============================================================================================
namespace tc_cfg {
constexpr int kBM = 128, kBN = 128, kThreads = 256;
constexpr int kSliceBytes = 64;                              // k bytes per stage and row
constexpr int kStages = 4;
constexpr int kOperandBytes = kBM * kSliceBytes;             // 8 KiB per operand per stage
constexpr int kStageBytes = 2 * kOperandBytes;               // A then B
constexpr int kSmemBytes = kStages * kStageBytes;            // 64 KiB: dynamic, opted in
static_assert(kSmemBytes <= 163 * 1024, "sm_80 shared memory per block");
static_assert(kSmemBytes <= 227 * 1024, "sm_90 shared memory per block");
static_assert(kSmemBytes <= 99 * 1024, "sm_89 shared memory per block (gemm_lowp.cu is built for sm_89)");
}  // namespace tc_cfg

// Byte offset of 16-byte chunk `c` of row `r` in an operand's stage buffer.
//  K-major (k contiguous): 128 rows (m or n) x 4 chunks of 64 bytes. ldmatrix reads one chunk of
//    8 consecutive rows r = 2j + b: physical chunk c ^ j puts them at 8 distinct 16-byte slots
//    of a 128-byte line (b picks the half), so the 8 row reads hit all 32 banks once.
//  MN-major (m or n contiguous, 16-bit elements only): 32 k-rows x 16 chunks of 256 bytes;
//    chunk c ^ (r % 8) spreads 8 consecutive k-rows over the 8 slots of a line.
template <bool kKMajor>
__device__ __forceinline__ int smem_offset(int r, int c) {
  if constexpr (kKMajor) return r * 64 + ((c ^ ((r >> 1) & 3)) << 4);
  else return r * 256 + ((c ^ (r & 7)) << 4);
}

// The element-size-independent copy of one stage by cp.async (each thread: 2 chunks of A and 2
// of B). An operand is read from a matrix with a contiguous dimension: K-major (element (i, p) at
// base + i * ld + p) or MN-major (at base + p * ld + i). Chunks past the matrix edge are zero
// filled; the host guarantees the contiguous extent is a multiple of 16 bytes, `ld` and the
// batch stride are multiples of 16 bytes and the base is 16-byte aligned.
struct CpAsyncOperand {
  const char* base = nullptr;
  int64_t ld_bytes = 0, batch_bytes = 0;
  int64_t rows = 0;      // m (A) or n (B)
  int64_t k_bytes = 0;   // k * element size
};

template <bool kKMajor>
__device__ __forceinline__ void cp_async_operand(const CpAsyncOperand& op, char* smem, int64_t z, int64_t row0,
                                                 int64_t kb0, int tid) {
  const char* base = op.base + z * op.batch_bytes;
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const int idx = tid + tc_cfg::kThreads * e;  // 512 chunks of 16 bytes per operand and stage
    if constexpr (kKMajor) {
      const int r = idx / 4, c = idx % 4;
      const int64_t gi = row0 + r, gk = kb0 + c * 16;
      const bool valid = gi < op.rows && gk < op.k_bytes;
      const char* src = valid ? base + gi * op.ld_bytes + gk : op.base;
      mma::cp_async_16(smem + smem_offset<true>(r, c), src, valid ? 16 : 0);
    } else {
      // MN-major: 16-bit elements; 32 k-rows of 128 elements (16 chunks).
      const int r = idx / 16, c = idx % 16;
      const int64_t gk = kb0 / 2 + r, gi = row0 + c * 8;
      const bool valid = gk * 2 < op.k_bytes && gi < op.rows;
      const char* src = valid ? base + gk * op.ld_bytes + gi * 2 : op.base;
      mma::cp_async_16(smem + smem_offset<false>(r, c), src, valid ? 16 : 0);
    }
  }
}

template <bool kAKMajor, bool kBKMajor>
struct CpAsyncLoader {
  static constexpr bool kAsync = true;
  CpAsyncOperand a, b;
  __device__ __forceinline__ void operator()(char* sa, char* sb, int64_t z, int64_t m0, int64_t n0, int64_t kb0,
                                             int tid) const {
    cp_async_operand<kAKMajor>(a, sa, z, m0, kb0, tid);
    cp_async_operand<kBKMajor>(b, sb, z, n0, kb0, tid);
  }
};

// The mma flavours: element bytes, accumulator type, and one k-step (32 bytes of k).
struct MmaBf16 {
  using Acc = float;
  static constexpr int kElemBytes = 2;
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    mma::mma_16816<__nv_bfloat16>(d, a, b[0], b[1]);
  }
};
struct MmaF16 {
  using Acc = float;
  static constexpr int kElemBytes = 2;
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    mma::mma_16816<__half>(d, a, b[0], b[1]);
  }
};
struct MmaS8 {
  using Acc = int;
  static constexpr int kElemBytes = 1;
  static __device__ __forceinline__ void mma(int (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    tc::mma_s8(d, a, b);
  }
};
template <bool kAE5M2, bool kBE5M2>
struct MmaFp8 {
  using Acc = float;
  static constexpr int kElemBytes = 1;
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    tc::mma_fp8<kAE5M2, kBE5M2>(d, a, b);
  }
};

// One k-step (32 bytes of k) of a warp's 64x32 tile: 4 A fragments (m16), 4 B fragments (n8).
// Lane l = 8q + rr gives the row address of matrix q (see tensor_core.cuh for the fragments).
template <class Mma, bool kAKMajor, bool kBKMajor>
__device__ __forceinline__ void tc_k_step(const char* sa, const char* sb, int ks, int wm, int wn, int lane,
                                          typename Mma::Acc (&acc)[4][4][4]) {
  const int q = lane >> 3, rr = lane & 7;
  uint32_t af[4][4], bf[4][2];
#pragma unroll
  for (int mt = 0; mt < 4; ++mt) {
    const int m_base = wm * 64 + mt * 16;
    if constexpr (kAKMajor) {
      mma::ldmatrix_x4(af[mt], sa + smem_offset<true>(m_base + rr + (q & 1) * 8, ks * 2 + (q >> 1)));
    } else {
      mma::ldmatrix_x4_trans(af[mt], sa + smem_offset<false>(ks * 16 + (q >> 1) * 8 + rr, m_base / 8 + (q & 1)));
    }
  }
#pragma unroll
  for (int np = 0; np < 2; ++np) {
    const int n_base = wn * 32 + np * 16;
    uint32_t r[4];
    if constexpr (kBKMajor) {
      mma::ldmatrix_x4(r, sb + smem_offset<true>(n_base + (q >> 1) * 8 + rr, ks * 2 + (q & 1)));
    } else {
      mma::ldmatrix_x4_trans(r, sb + smem_offset<false>(ks * 16 + (q & 1) * 8 + rr, n_base / 8 + (q >> 1)));
    }
    bf[np * 2][0] = r[0];
    bf[np * 2][1] = r[1];
    bf[np * 2 + 1][0] = r[2];
    bf[np * 2 + 1][1] = r[3];
  }
#pragma unroll
  for (int mt = 0; mt < 4; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) Mma::mma(acc[mt][nt], af[mt], bf[nt]);
}

// The pipeline. Invariant at the top of k-slice s: cp.async groups 0..s are complete (wait
// leaves at most kStages-2 younger ones in flight), the barrier makes slice s visible to every
// thread and guarantees every warp has finished slice s-1, whose stage ((s-1) % kStages ==
// (s + kStages - 1) % kStages) is then refilled with slice s + kStages - 1. One commit per slice
// (empty past the end) keeps the group count in step. A gathering loader (kAsync false) writes
// its stage with plain stores before the same barrier discipline.
template <class Mma, bool kAKMajor, bool kBKMajor, class Loader, class Out>
__global__ void __launch_bounds__(tc_cfg::kThreads, 1) tc_gemm_kernel(Loader load, Out out, GemmShape sh) {
  using namespace tc_cfg;
  using Acc = typename Mma::Acc;
  extern __shared__ __align__(128) char smem[];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / 4, wn = warp % 4;  // 2 x 4 warps of 64 x 32
  const int64_t k_bytes = sh.k * Mma::kElemBytes;
  const int64_t slices = (k_bytes + kSliceBytes - 1) / kSliceBytes;
  const int64_t tiles = static_cast<int64_t>(sh.tiles_m) * sh.tiles_n;
  for (int64_t z = blockIdx.y; z < sh.batch; z += gridDim.y) {
    for (int64_t pid = blockIdx.x; pid < tiles; pid += gridDim.x) {
      int tm, tn;
      tile_coords(pid, sh.tiles_m, sh.tiles_n, tm, tn);
      const int64_t m0 = static_cast<int64_t>(tm) * kBM, n0 = static_cast<int64_t>(tn) * kBN;
      Acc acc[4][4][4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[i][j][e] = Acc(0);
      // The previous tile's last reads of the ring must be over before it is refilled.
      __syncthreads();
#pragma unroll
      for (int s = 0; s < kStages - 1; ++s) {
        if (s < slices) load(smem + s * kStageBytes, smem + s * kStageBytes + kOperandBytes, z, m0, n0,
                             static_cast<int64_t>(s) * kSliceBytes, tid);
        mma::cp_async_commit();
      }
      for (int64_t s = 0; s < slices; ++s) {
        mma::cp_async_wait<kStages - 2>();
        __syncthreads();
        const int64_t next = s + kStages - 1;
        if (next < slices) {
          char* stage = smem + (next % kStages) * kStageBytes;
          load(stage, stage + kOperandBytes, z, m0, n0, next * kSliceBytes, tid);
        }
        mma::cp_async_commit();
        const char* stage = smem + (s % kStages) * kStageBytes;
#pragma unroll
        for (int ks = 0; ks < kSliceBytes / 32; ++ks)
          tc_k_step<Mma, kAKMajor, kBKMajor>(stage, stage + kOperandBytes, ks, wm, wn, lane, acc);
      }
      mma::cp_async_wait<0>();
      const int g = lane >> 2, t = lane & 3;
#pragma unroll
      for (int mt = 0; mt < 4; ++mt)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int64_t row = m0 + wm * 64 + mt * 16 + g + (e >= 2 ? 8 : 0);
            const int64_t col = n0 + wn * 32 + nt * 8 + 2 * t + (e & 1);
            if (row < sh.m && col < sh.n) out(z, row, col, acc[mt][nt][e]);
          }
    }
  }
}

// Grid of a GEMM-shaped launch: tiles along x (grouped order), the batch along y (looped past
// 65535). Returns false when the tile count does not fit the kernels' int32 tile indices.
inline bool gemm_grid(GemmShape& sh, dim3& grid) {
  const int64_t tm = (sh.m + 127) / 128, tn = (sh.n + 127) / 128;
  if (tm > INT32_MAX || tn > INT32_MAX || tm * tn > INT32_MAX) return false;
  sh.tiles_m = static_cast<int>(tm);
  sh.tiles_n = static_cast<int>(tn);
  grid = dim3(static_cast<unsigned>(tm * tn), static_cast<unsigned>(sh.batch < 65535 ? sh.batch : 65535));
  return true;
}

// Launch a tensor-core GEMM with its 64 KiB of dynamic shared memory (opted in once per kernel).
template <class Mma, bool kAKMajor, bool kBKMajor, class Loader, class Out>
cudaError_t launch_tc(const Loader& load, const Out& out, GemmShape sh, cudaStream_t stream) {
  dim3 grid;
  if (!gemm_grid(sh, grid)) return cudaErrorInvalidValue;
  auto kernel = tc_gemm_kernel<Mma, kAKMajor, kBKMajor, Loader, Out>;
  // Per call (the opt-in is per device; it costs well under a microsecond).
  const cudaError_t opted =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, tc_cfg::kSmemBytes);
  if (opted != cudaSuccess) return opted;
  kernel<<<grid, tc_cfg::kThreads, tc_cfg::kSmemBytes, stream>>>(load, out, sh);
  return cudaGetLastError();
}

template <int kMinBlocks = 2, class AOp, class BOp, class Out>
cudaError_t launch_simt(const AOp& a, const BOp& b, const Out& out, GemmShape sh, cudaStream_t stream) {
  dim3 grid;
  if (!gemm_grid(sh, grid)) return cudaErrorInvalidValue;
  simt_gemm_kernel<AOp, BOp, Out, kMinBlocks><<<grid, simt::kThreads, 0, stream>>>(a, b, out, sh);
  return cudaGetLastError();
}

}  // namespace grimoire::cuda::kernels
