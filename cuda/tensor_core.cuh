// The 8-bit tensor-core instructions of the GEMM family (gemm_lowp), beside the 16-bit ones and
// cp.async / ldmatrix in mma.cuh (shared with attention):
//   IMMA  m16n8k32 s32 += s8 x s8                         (sm_80+)
//   QMMA  m16n8k32 f32 += e4m3/e5m2 x e4m3/e5m2           (sm_89 and sm_120; mma_fp8 widens to HMMA
//                                                           on sm_80, and ptxas does the same on sm_90,
//                                                           whose FP8 tensor cores need wgmma)
// The 8-bit m16n8k32 fragments have the m16n8k16 layout of mma.cuh counted in bytes (4 per
// register), so one ldmatrix addressing serves 16-bit and 8-bit operands whose rows are 32
// bytes of k.
#pragma once

#include <cstdint>

#include "mma.cuh"

namespace grimoire::cuda::tc {

// s32 += s8 x s8 over k = 32; wraps modulo 2^32 (no .satfinite), as the CPU core's int32 does.
__device__ __forceinline__ void mma_s8(int (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// ---- FP8 ------------------------------------------------------------------------------------
// Four FP8 codes (bytes 0..3 = k 4t..4t+3 of a fragment register) as two f16x2 registers
// (lo: bytes 0,1; hi: bytes 2,3), exactly: every E4M3 and E5M2 value is an f16 value.
//   E5M2 is the upper byte of an f16 (same exponent bias 15): shift it up.
//   E4M3 (bias 7): the magnitude bits shifted into f16's exponent/mantissa fields give the
//   value times 2^-8 (subnormals included), so it is multiplied by 2^8 (exact); the NaN codes
//   S.1111.111 (which would decode to 480) are set to f16 NaN.
template <bool kE5M2>
__device__ __forceinline__ void fp8x4_to_f16x2x2(uint32_t codes, uint32_t& lo, uint32_t& hi) {
  const uint32_t up_lo = __byte_perm(codes, 0u, 0x1404);  // bytes: [0, c0, 0, c1]
  const uint32_t up_hi = __byte_perm(codes, 0u, 0x3424);  // bytes: [0, c2, 0, c3]
  if constexpr (kE5M2) {
    lo = up_lo;
    hi = up_hi;
  } else {
    auto convert = [](uint32_t v) {
      const uint32_t sign = v & 0x80008000u;
      const uint32_t mag = (v >> 1) & 0x3F803F80u;  // eeee.mmm into f16 bits 13..7
      uint32_t scaled;
      const uint32_t two8 = 0x5C005C00u;  // f16x2 (256, 256)
      asm("mul.rn.f16x2 %0, %1, %2;\n" : "=r"(scaled) : "r"(sign | mag), "r"(two8));
      const uint32_t nan_lanes = __vcmpeq2(v & 0x7F007F00u, 0x7F007F00u);  // 0xFFFF where NaN
      return (scaled & ~nan_lanes) | (nan_lanes & (0x7E007E00u | sign));
    };
    lo = convert(up_lo);
    hi = convert(up_hi);
  }
}

// f32 += fp8 x fp8 over k = 32 (A row, B col, 8-bit fragment layout). On sm_89+ one QMMA; on
// sm_80 the codes are widened to f16 and two HMMAs do the same sum: the k32 fragment of thread
// t holds physical k {4t..4t+3} (and 16 + that); the HMMA's logical k {2t, 2t+1, 2t+8, 2t+9}
// are mapped onto them identically for A and B, so the pairs summed are the same.
template <bool kAE5M2, bool kBE5M2>
__device__ __forceinline__ void mma_fp8(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
#define GRIMOIRE_QMMA(TA, TB)                                                                          \
  asm volatile("mma.sync.aligned.m16n8k32.row.col.f32." TA "." TB                                      \
               ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"                         \
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                        \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]))
  if constexpr (!kAE5M2 && !kBE5M2) GRIMOIRE_QMMA("e4m3", "e4m3");
  else if constexpr (!kAE5M2 && kBE5M2) GRIMOIRE_QMMA("e4m3", "e5m2");
  else if constexpr (kAE5M2 && !kBE5M2) GRIMOIRE_QMMA("e5m2", "e4m3");
  else GRIMOIRE_QMMA("e5m2", "e5m2");
#undef GRIMOIRE_QMMA
#else
  uint32_t a16[8], b16[4];
  for (int i = 0; i < 4; ++i) fp8x4_to_f16x2x2<kAE5M2>(a[i], a16[2 * i], a16[2 * i + 1]);
  for (int i = 0; i < 2; ++i) fp8x4_to_f16x2x2<kBE5M2>(b[i], b16[2 * i], b16[2 * i + 1]);
  // a[0] = row g, k 4t..; a[1] = row g+8, k 4t..; a[2] = row g, k 16+4t..; a[3] = row g+8, k 16+4t..
  const uint32_t a_lo[4] = {a16[0], a16[2], a16[1], a16[3]};  // physical k 0..15
  const uint32_t a_hi[4] = {a16[4], a16[6], a16[5], a16[7]};  // physical k 16..31
  const uint32_t b_lo[2] = {b16[0], b16[1]};
  const uint32_t b_hi[2] = {b16[2], b16[3]};
  mma::mma_16816<__half>(d, a_lo, b_lo[0], b_lo[1]);
  mma::mma_16816<__half>(d, a_hi, b_hi[0], b_hi[1]);
#endif
}

}  // namespace grimoire::cuda::tc
