// Low-precision GEMMs (primer 6.2: quantised inference, mixed precision).
//
//   gemm_int8    C (m, n) int32 = A (m, k) int8 @ B (k, n) int8, exact integer arithmetic.
//                The result is exact whenever it fits in int32 (always for k < 2^17, since
//                |a*b| <= 2^14); otherwise it wraps modulo 2^32, as NumPy's int32 matmul does.
//                Paths: scalar reference; AVX2 (operands widened to int16 at packing, vpmaddwd,
//                exact: no saturation); AVX-512 VNNI (vpdpbusd on u8 x s8: A is packed as
//                a + 128, and 128 * colsum(B) is subtracted, so C = (A + 128) B - 128 * 1 colsum(B)).
//                The VNNI path is listed as the family's "avx512" path only on a CPU with
//                AVX512_VNNI; an AVX-512 CPU without it runs the AVX2 path.
//   linear_int8  y (m, n) float32 = (s_x[i] * s_w[j]) * (q(x) @ W^T)[i, j] + bias[j]:
//                x (m, k) float32 quantised per row on the fly (symmetric, s_x = max|x_i| / 127),
//                W (n, k) int8 quantised per output channel with scales s_w (n,), int32
//                accumulation, scales and bias applied in the epilogue.
//   gemm_fp8 / gemm_bf16
//                C (m, n) float32 = scale_a * scale_b * decode(A) @ decode(B): the operands are
//                decoded to float32 (exact) and multiplied by the float32 GEMM (float32 accumulation).
//
// Operands are read through element strides (a transpose is a swap of strides); C is written
// row-major with row stride c_row_stride.
#pragma once

#include <cstdint>

#include "grimoire/quant.h"

namespace grimoire {

struct GemmInt8Params {
  int64_t m = 0, n = 0, k = 0;
  const int8_t* a = nullptr;  // a(i, p) = a[i * a_row_stride + p * a_col_stride]
  int64_t a_row_stride = 0, a_col_stride = 0;
  const int8_t* b = nullptr;  // b(p, j) = b[p * b_row_stride + j * b_col_stride]
  int64_t b_row_stride = 0, b_col_stride = 0;
  int32_t* c = nullptr;  // c(i, j) = c[i * c_row_stride + j]
  int64_t c_row_stride = 0;
  int num_threads = 0;  // 0: grimoire::num_threads(); 1: stay on the caller's thread
};

void gemm_int8(const GemmInt8Params& p);
void gemm_int8_reference(const GemmInt8Params& p);
// The VNNI path's driver (u8 packing of A + 128, the -128 * colsum(B) start) with a scalar
// stand-in for vpdpbusd: lets CPUs without AVX512_VNNI test everything but the instruction.
void gemm_int8_vnni_emulated(const GemmInt8Params& p);

// x (m, k), w (n, k), y (m, n): all C-contiguous. bias may be null.
struct LinearInt8Params {
  int64_t m = 0, n = 0, k = 0;
  const float* x = nullptr;
  const int8_t* w = nullptr;
  const float* w_scale = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
};
// Returns false (y untouched) if x holds a NaN or an infinity, which int8 cannot represent.
bool linear_int8(const LinearInt8Params& p);

// a (m, k), b (k, n) C-contiguous codes; c (m, n) C-contiguous.
void gemm_fp8(int64_t m, int64_t n, int64_t k, const uint8_t* a, const uint8_t* b, float scale_a, float scale_b,
              Fp8Format fmt_a, Fp8Format fmt_b, float* c);
void gemm_bf16(int64_t m, int64_t n, int64_t k, const uint16_t* a, const uint16_t* b, float* c);

}  // namespace grimoire
