// GEMM, AVX2+FMA path: 6x16 float32 and 6x8 float64 microkernels (12 accumulator registers of
// the 16 ymm, 2 for the B row, 1 for the broadcast A element) in the BLIS driver of
// gemm_internal.h.
#include <immintrin.h>
#include <time.h>

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

// 12 independent chains of 8-lane FMAs (enough to cover the FMA latency on two pipes), timed with
// this thread's CPU time so a shared machine's time slices do not count; returns those seconds.
double fma_peak_avx2(int64_t iterations) {
  timespec t0, t1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  // Written in assembly so the compiler can neither spill the accumulators nor fold the loop.
  __asm__ volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovaps %%ymm0, %%ymm1\n\t vmovaps %%ymm0, %%ymm2\n\t vmovaps %%ymm0, %%ymm3\n\t"
      "vmovaps %%ymm0, %%ymm4\n\t vmovaps %%ymm0, %%ymm5\n\t vmovaps %%ymm0, %%ymm6\n\t"
      "vmovaps %%ymm0, %%ymm7\n\t vmovaps %%ymm0, %%ymm8\n\t vmovaps %%ymm0, %%ymm9\n\t"
      "vmovaps %%ymm0, %%ymm10\n\t vmovaps %%ymm0, %%ymm11\n\t"
      "vxorps %%ymm12, %%ymm12, %%ymm12\n\t vxorps %%ymm13, %%ymm13, %%ymm13\n\t"
      "1:\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm0\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm1\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm2\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm3\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm4\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm5\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm6\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm7\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm8\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm9\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm10\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm11\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(iterations)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "cc");
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  const double seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
  return seconds;
}

void gemm_avx2(const GemmParams<float>& p) { avx2_driver::Driver<float, KernelF>::run(p); }
void gemm_avx2(const GemmParams<double>& p) { avx2_driver::Driver<double, KernelD>::run(p); }

}  // namespace grimoire::gemm_detail
