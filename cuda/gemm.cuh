// CUDA GEMM family: C = alpha * op(A) @ op(B) + beta * C   (primer 2.2.1)
//
// The same contract as the CPU core's grimoire/gemm.h (whose GemmParams/GemmBatch describe the
// operands by element strides, so transposes and NumPy/CuPy views need no copy); all pointers
// are device pointers and the kernel runs on `stream`. beta == 0 never reads C (BLAS); k == 0
// or alpha == 0 still scales C by beta. Batched: operand i at base + i * batch_stride (0
// broadcasts).
//
//   float32 A, B -> float32 C on the CUDA cores (SIMT, fp32 FMAs).
//   bf16 / fp16 A, B -> float32 C on the tensor cores (mma.sync m16n8k16, fp32 accumulation).
//     The tensor-core path needs each operand to have a contiguous dimension (row-major or
//     column-major: transposes included) whose extent, leading stride and batch stride are
//     multiples of 8 elements and a 16-byte aligned base; any other view runs on a SIMT kernel
//     that reads the 16-bit values through their strides (same arithmetic: exact products,
//     fp32 sums; only the summation order differs).
//   Hopper (opt-in): on an sm_90 device with GRIMOIRE_CUDA_WGMMA=1 in the environment, 16-bit
//     operands that are both K-major (A row-major (m, k), B given as (n, k)) and meet the same
//     16-byte rule run on a warp-group MMA kernel (wgmma, gemm_wgmma.cuh). Opt-in until it has
//     been verified against the CPU core on a GPU (it was written without one).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "grimoire/gemm.h"

namespace grimoire::cuda {

// float32 on the CUDA cores (SIMT). Returns the launch's error (cudaSuccess on success).
cudaError_t gemm(const GemmParams<float>& p, const GemmBatch<float>& batch, cudaStream_t stream);

enum class Half : int { bf16 = 0, f16 = 1 };

// 16-bit operands (bf16 bits as uint16, or IEEE half), float32 C. Strides in elements.
struct Gemm16Params {
  int64_t m = 0, n = 0, k = 0;
  const uint16_t* a = nullptr;
  int64_t a_row_stride = 0, a_col_stride = 0;
  const uint16_t* b = nullptr;
  int64_t b_row_stride = 0, b_col_stride = 0;
  float* c = nullptr;
  int64_t c_row_stride = 0, c_col_stride = 0;
  float alpha = 1.0f, beta = 0.0f;
  Half type = Half::bf16;
};

cudaError_t gemm16(const Gemm16Params& p, const GemmBatch<float>& batch, cudaStream_t stream);

// Which kernel gemm16 picks for these operands ("tc_<A layout>_<B layout>", "wgmma" or "simt"),
// for tests; "wgmma" depends on the environment and the current device (see gemm16).
const char* gemm16_path(const Gemm16Params& p, const GemmBatch<float>& batch);

}  // namespace grimoire::cuda
