// GEMM, AVX-512 path: gemm_simd.h's driver over simd::Avx512 / simd::Avx512F64, with
// 14x32 float32 and 14x16 float64 microkernels (28 accumulator registers
// of the 32 zmm, 2 for the B row, 1 for the broadcast A element).
#include <time.h>

#include "gemm_simd.h"

namespace grimoire::gemm_detail {

namespace {

// 12 independent chains of 16-lane FMAs (enough to cover the FMA latency on two pipes), timed
// with this thread's CPU time so a shared machine's time slices do not count; returns those seconds.
double fma_seconds(int64_t iterations) {
  timespec t0, t1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  // Written in assembly so the compiler can neither spill the accumulators nor fold the loop.
  __asm__ volatile(
      "vxorps %%zmm0, %%zmm0, %%zmm0\n\t"
      "vmovaps %%zmm0, %%zmm1\n\t vmovaps %%zmm0, %%zmm2\n\t vmovaps %%zmm0, %%zmm3\n\t"
      "vmovaps %%zmm0, %%zmm4\n\t vmovaps %%zmm0, %%zmm5\n\t vmovaps %%zmm0, %%zmm6\n\t"
      "vmovaps %%zmm0, %%zmm7\n\t vmovaps %%zmm0, %%zmm8\n\t vmovaps %%zmm0, %%zmm9\n\t"
      "vmovaps %%zmm0, %%zmm10\n\t vmovaps %%zmm0, %%zmm11\n\t"
      "vxorps %%zmm12, %%zmm12, %%zmm12\n\t vxorps %%zmm13, %%zmm13, %%zmm13\n\t"
      "1:\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm0\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm1\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm2\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm3\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm4\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm5\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm6\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm7\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm8\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm9\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm10\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm11\n\t"
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

extern const GemmKernels kernels_avx512 = GemmSimd<simd::Avx512, simd::Avx512F64, 14, 14, 2>::table(&fma_seconds);

}  // namespace grimoire::gemm_detail
