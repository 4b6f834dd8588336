// GEMM, AVX-512 path: 14x32 float32 and 14x16 float64 microkernels (28 accumulator registers of
// the 32 zmm, 2 for the B row, 1 for the broadcast A element) in the BLIS driver of
// gemm_internal.h.
#include <immintrin.h>

#define GRIMOIRE_GEMM_DRIVER avx512_driver
#include "gemm_internal.h"

namespace grimoire::gemm_detail {

namespace {

struct VecF {
  using reg = __m512;
  static constexpr int L = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static void store(float* p, reg r) { _mm512_storeu_ps(p, r); }
};

struct VecD {
  using reg = __m512d;
  static constexpr int L = 8;
  static reg zero() { return _mm512_setzero_pd(); }
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static reg bcast(const double* p) { return _mm512_set1_pd(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
  static void store(double* p, reg r) { _mm512_storeu_pd(p, r); }
};

using KernelF = avx512_driver::Microkernel<float, VecF, 14, 2>;  // 14 x 32
using KernelD = avx512_driver::Microkernel<double, VecD, 14, 2>;  // 14 x 16

}  // namespace

void gemm_avx512(const GemmParams<float>& p) { avx512_driver::Driver<float, KernelF>::run(p); }
void gemm_avx512(const GemmParams<double>& p) { avx512_driver::Driver<double, KernelD>::run(p); }

}  // namespace grimoire::gemm_detail
