// Low-precision GEMMs on tensor cores (primer 6.2), the device twins of grimoire/gemm_int8.h:
//
//   gemm_int8    C (m, n) int32 = A (m, k) int8 @ B int8: IMMA m16n8k32, exact int32 sums
//                (wrapping modulo 2^32 past the int32 range, as the CPU core and NumPy).
//   gemm_fp8     C (m, n) f32 = alpha * fp8(A) @ fp8(B), alpha = scale_a * scale_b (one float32
//                product, as the CPU core): QMMA m16n8k32 (e4m3/e5m2, any pairing) on sm_89
//                (this file alone is also compiled for sm_89, CMakeLists.txt); on sm_80 the codes
//                are widened exactly to f16 in registers and HMMA runs. On sm_90 the FP8 tensor
//                cores are reached only through wgmma (not implemented here): ptxas lowers the
//                FP8 mma.sync to F2FP unpacks + HMMA, so Hopper runs FP8 at fp16 tensor-core rate.
//   linear_int8  y (m, n) f32 = (s_x[i] * s_w[j]) * (q(x) @ W^T)[i, j] + bias[j], with the rows
//                of x quantised symmetrically on the device exactly as the CPU core does
//                (s_x = max(max|x_i| / 127, FLT_MIN), q = clamp(rint(fma(x, 1/s_x, 0)), -127, 127))
//                and the epilogue rounded as the CPU's (no fused multiply-add), so y is
//                bit-for-bit the CPU core's.
//
// The tensor-core kernels read both operands K-major (k contiguous: A (m, k) and B as (n, k)),
// with k a multiple of 16 and rows 16-byte aligned. `pack_k_major` makes such a copy, zero
// padded in k (zeros add nothing to the sums), of any strided operand that is not already so.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "grimoire/quant.h"

namespace grimoire::cuda {

// A K-major 8-bit operand: element (i, p) at data[i * ld + p], i < rows, p < k (k % 16 == 0,
// ld % 16 == 0, data 16-byte aligned).
struct KMajor8 {
  const void* data = nullptr;
  int64_t rows = 0, k = 0, ld = 0;
};

// True when (rows, k) read through these element strides is already a KMajor8.
bool is_k_major8(const void* data, int64_t k, int64_t row_stride, int64_t k_stride);
int64_t padded_k(int64_t k);  // k rounded up to a multiple of 16

// dst (rows, padded_k(k)) = src (rows, k) read through strides, zeros in the padding.
cudaError_t pack_k_major(const void* src, int64_t rows, int64_t k, int64_t row_stride, int64_t k_stride, void* dst,
                         cudaStream_t stream);

cudaError_t gemm_int8(const KMajor8& a, const KMajor8& b, int32_t* c, int64_t ldc, cudaStream_t stream);
cudaError_t gemm_fp8(const KMajor8& a, const KMajor8& b, float alpha, Fp8Format fmt_a, Fp8Format fmt_b, float* c,
                     int64_t ldc, cudaStream_t stream);

// Rows of x (m, k) C-contiguous quantised into q (m, ld) (zeros past k), scales into scale (m,);
// *nonfinite is set to 1 if a row holds NaN or inf (it must be 0 before the launch).
cudaError_t quantize_rows_int8(const float* x, int64_t m, int64_t k, int8_t* q, int64_t ld, float* scale,
                               int* nonfinite, cudaStream_t stream);
cudaError_t linear_int8(const KMajor8& xq, const KMajor8& w, const float* x_scale, const float* w_scale,
                        const float* bias, float* y, cudaStream_t stream);

}  // namespace grimoire::cuda
