// Warp and block reductions shared by the row kernels (norm, softmax, optim). Every reduction
// combines values in a fixed order (butterfly within a warp, then warp 0..n-1), so a result
// depends only on the block size and the data: no atomics, run-to-run deterministic.
//
// Contract: blockDim.x is a multiple of 32 and every thread of the block calls the block_*
// functions (they hold __syncthreads); `scratch` is __shared__ memory of at least 32 T.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace grimoire::cuda {

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// max that ignores NaN like std::max(m, x) in the CPU reference (a NaN poisons the later sum
// of exp() instead, so rows with NaN still come out NaN).
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// The total of v over the block, returned to every thread.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();  // a previous call's readers are done with scratch
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return warp_sum(lane < warps ? scratch[lane] : T(0));
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
  v = warp_max(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return warp_max(lane < warps ? scratch[lane] : -INFINITY);
}

// True when p is 16-byte aligned (float4 loads/stores allowed).
__host__ __device__ inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Threads for one row of `dim` elements: about two float4 per thread, a multiple of 32 in [32, 1024].
inline int row_block_threads(int64_t dim) {
  int64_t t = 32;
  while (t < 1024 && t * 8 < dim) t *= 2;
  return static_cast<int>(t);
}

// Blocks of a grid-stride loop over `items` (at most 2^31 - 1, the gridDim.x limit).
inline unsigned grid_for(int64_t items, int64_t cap = (int64_t{1} << 31) - 1) {
  return static_cast<unsigned>(items < cap ? (items > 0 ? items : 1) : cap);
}

}  // namespace grimoire::cuda

namespace grimoire::cuda {

// The block-wide fold of v with a binary `op` (associative in the order used: butterfly within
// each warp, then warps 0..n-1), returned to every thread; `identity` fills the missing warps.
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T identity, T* scratch) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : identity;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

}  // namespace grimoire::cuda
