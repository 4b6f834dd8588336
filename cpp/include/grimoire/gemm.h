// GEMM: C = alpha * op(A) @ op(B) + beta * C   (primer 2.2.1, the matrix product)
//
//   op(A) is (m, k), op(B) is (k, n), C is (m, n); float32 or float64.
//
// Operands are described by element strides, so a transpose is a swap of the row and column
// strides and a NumPy view (transposed, sliced with a step) reaches the kernel without a copy.
// beta == 0 means C is written, never read: NaN in an uninitialised C does not propagate
// (the BLAS convention). alpha == 0 or k == 0 still scales C by beta.
#pragma once

#include <cstdint>

namespace grimoire {

template <typename T>
struct GemmParams {
  int64_t m = 0, n = 0, k = 0;
  const T* a = nullptr;  // element (i, p) of op(A) at a[i * a_row_stride + p * a_col_stride]
  int64_t a_row_stride = 0, a_col_stride = 0;
  const T* b = nullptr;  // element (p, j) of op(B) at b[p * b_row_stride + j * b_col_stride]
  int64_t b_row_stride = 0, b_col_stride = 0;
  T* c = nullptr;        // element (i, j) of C at c[i * c_row_stride + j * c_col_stride]
  int64_t c_row_stride = 0, c_col_stride = 0;
  T alpha = T(1), beta = T(0);
  // Threads for this call: 0 means grimoire::num_threads(); 1 keeps the call on the caller's
  // thread (for kernels that call GEMM from inside their own parallel region).
  int num_threads = 0;
};

// Batched: `batch` independent products; operand i starts at base + i * batch_stride
// (a batch stride of 0 broadcasts that operand over the batch).
template <typename T>
struct GemmBatch {
  int64_t batch = 1;
  int64_t a_batch_stride = 0, b_batch_stride = 0, c_batch_stride = 0;
};

void gemm(const GemmParams<float>& p);
void gemm(const GemmParams<double>& p);

// op(B) supplied by the caller one micro-panel at a time, instead of read through p.b and its
// strides: the GEMM still owns the blocking and the packed layout, the caller only gathers. A
// lowered operand (conv's im2col matrix) is then packed straight from its source, with no
// materialised copy to be packed a second time.
//   pack(ctx, p0, kc, j0, nr, ld, out): out[q * ld + j] = op(B)[p0 + q, j0 + j] for q < kc, j < nr,
//   and 0 for nr <= j < ld. Called from the GEMM's threads (reentrant), any kc, nr (ld >= nr).
template <typename T>
struct GemmBPacker {
  void (*pack)(const void* ctx, int64_t p0, int64_t kc, int64_t j0, int64_t nr, int64_t ld, T* out) = nullptr;
  const void* ctx = nullptr;
};

// C = alpha * op(A) @ op(B) + beta * C with op(B) from `b` (p.b and its strides are unused).
void gemm(const GemmParams<float>& p, const GemmBPacker<float>& b);
void gemm_batched(const GemmParams<float>& p, const GemmBatch<float>& batch);
void gemm_batched(const GemmParams<double>& p, const GemmBatch<double>& batch);

// The scalar reference path: plain loops, the definition of correctness for every fast path.
void gemm_reference(const GemmParams<float>& p);
void gemm_reference(const GemmParams<double>& p);

// float32 FLOP per CPU-second that one core sustains in a loop of independent FMAs of the width
// the gemm path in use has (`iterations` x 12 FMAs of 16 lanes on the avx512 path, 8 on avx2),
// timed with the calling thread's CPU time; 0 on the scalar path. The FP32 peak the benchmarks
// compare gemm with: 512-bit FMAs double it on a full-width core (Zen 5), not on Zen 4.
double fma_peak_flops(int64_t iterations);

}  // namespace grimoire
