// GEMM, AVX2+FMA path: 6x16 float32 and 6x8 float64 microkernels (12 accumulator registers of
// the 16 ymm, 2 for the B row, 1 for the broadcast A element) in the BLIS driver of
// gemm_internal.h.
#include <immintrin.h>

#define GRIMOIRE_GEMM_DRIVER avx2_driver
#include "gemm_internal.h"

namespace grimoire::gemm_detail {

namespace {

struct VecF {
  using reg = __m256;
  static constexpr int L = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static void store(float* p, reg r) { _mm256_storeu_ps(p, r); }
};

struct VecD {
  using reg = __m256d;
  static constexpr int L = 4;
  static reg zero() { return _mm256_setzero_pd(); }
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static reg bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static void store(double* p, reg r) { _mm256_storeu_pd(p, r); }
};

using KernelF = avx2_driver::Microkernel<float, VecF, 6, 2>;   // 6 x 16
using KernelD = avx2_driver::Microkernel<double, VecD, 6, 2>;  // 6 x 8

}  // namespace

void gemm_avx2(const GemmParams<float>& p) { avx2_driver::Driver<float, KernelF>::run(p); }
void gemm_avx2(const GemmParams<double>& p) { avx2_driver::Driver<double, KernelD>::run(p); }

}  // namespace grimoire::gemm_detail
