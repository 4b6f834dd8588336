// GEMM, AVX2 path: gemm_simd.h's driver over simd::Avx2 / simd::Avx2F64, with
// 6x16 float32 and 6x8 float64 microkernels (12 accumulator registers of
// the 16 ymm, 2 for the B row, 1 for the broadcast A element).
#include <time.h>

#include "gemm_simd.h"

namespace grimoire::gemm_detail {

namespace {

// 12 independent chains of 8-lane FMAs (enough to cover the FMA latency on two pipes), timed
// with this thread's CPU time so a shared machine's time slices do not count; returns those seconds.
double fma_seconds(int64_t iterations) {
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
  return (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
}

}  // namespace

extern const GemmKernels kernels_avx2 = GemmSimd<simd::Avx2, simd::Avx2F64, 6, 6, 2>::table(&fma_seconds);

}  // namespace grimoire::gemm_detail
