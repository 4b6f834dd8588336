// The bit logic of the low-precision conversions (see quant.h), written once for the host and
// the device: the CPU core's scalar references (cpp/src/quant.cpp) and the CUDA kernels
// (cuda/quant.cu) call these same functions, so the GPU is bit-identical to the CPU core, and
// so to ml_dtypes, by construction (the tests still compare every code).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define GRIMOIRE_HOST_DEVICE __host__ __device__ inline
#else
#define GRIMOIRE_HOST_DEVICE inline
#endif

namespace grimoire::quant_bits {

// What the integer encoder needs to know about an FP8 format.
struct Fp8Spec {
  int mbits;                 // mantissa bits
  int bias;                  // exponent bias
  uint32_t min_normal_bits;  // float32 bits of the smallest normal of the format
  float subnormal_scale;     // 2^(bias - 1 + mbits): |x| * this is the subnormal code
  uint32_t max_code;         // largest finite magnitude code (448 / 57344)
  uint32_t nan_code;         // canonical NaN
  uint32_t inf_sat;          // what +-inf becomes with saturate=true
  uint32_t inf_nosat;        // ... and with saturate=false
  uint32_t overflow_nosat;   // a finite overflow with saturate=false
};

constexpr Fp8Spec kE4M3{3, 7, 121u << 23, 512.0f, 0x7E, 0x7F, 0x7E, 0x7F, 0x7F};
constexpr Fp8Spec kE5M2{2, 15, 113u << 23, 65536.0f, 0x7B, 0x7E, 0x7C, 0x7C, 0x7C};

GRIMOIRE_HOST_DEVICE uint32_t bits_of(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
#endif
}

GRIMOIRE_HOST_DEVICE float float_of(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, 4);
  return x;
#endif
}

// Round to the nearest integer, ties to even (rint in the default rounding mode on both sides).
GRIMOIRE_HOST_DEVICE float round_half_even(float x) {
#if defined(__CUDA_ARCH__)
  return rintf(x);
#else
  return std::nearbyint(x);
#endif
}

// float32 -> FP8 code: round to nearest even, subnormals included; saturate: see quant.h.
GRIMOIRE_HOST_DEVICE uint8_t encode_fp8(float x, const Fp8Spec& s, bool saturate) {
  const uint32_t u = bits_of(x);
  const uint32_t sign = (u >> 24) & 0x80;
  const uint32_t a = u & 0x7FFFFFFF;
  if (a > 0x7F800000) return static_cast<uint8_t>(sign | s.nan_code);
  if (a == 0x7F800000) return static_cast<uint8_t>(sign | (saturate ? s.inf_sat : s.inf_nosat));
  uint32_t code;
  if (a < s.min_normal_bits) {
    // Subnormal (or zero) in the format: the code is |x| in units of the smallest subnormal,
    // rounded to nearest even; a result of 2^mbits is the smallest normal's code, as it should be.
    code = static_cast<uint32_t>(round_half_even(float_of(a) * s.subnormal_scale));
  } else {
    // Normal: round the float32 mantissa to mbits bits (nearest even) on the bit pattern, then
    // rebias the exponent. A carry out of the mantissa correctly bumps the exponent.
    const int shift = 23 - s.mbits;
    const uint32_t r = (a + ((1u << (shift - 1)) - 1) + ((a >> shift) & 1)) >> shift;
    code = r - (static_cast<uint32_t>(127 - s.bias) << s.mbits);
  }
  if (code > s.max_code) code = saturate ? s.max_code : s.overflow_nosat;
  return static_cast<uint8_t>(sign | code);
}

// FP8 code -> float32 (exact). e4m3: S.1111.111 is NaN (no infinity); e5m2: exponent 31 is
// inf (mantissa 0) or NaN. NaN decodes to the quiet NaN with the code's sign.
GRIMOIRE_HOST_DEVICE float decode_fp8(uint8_t code, bool e5m2) {
  const int mbits = e5m2 ? 2 : 3, bias = e5m2 ? 15 : 7;
  const bool negative = code & 0x80;
  const int e = (code & 0x7F) >> mbits;
  const int m = code & ((1 << mbits) - 1);
  const int emax = (1 << (7 - mbits)) - 1;
  const float nan = float_of(negative ? 0xFFC00000u : 0x7FC00000u);
  if (!e5m2 && (code & 0x7F) == 0x7F) return nan;
  if (e5m2 && e == emax) {
    if (m != 0) return nan;
    return float_of(negative ? 0xFF800000u : 0x7F800000u);
  }
  const float mag = e == 0 ? ldexpf(static_cast<float>(m), 1 - bias - mbits)
                           : ldexpf(static_cast<float>((1 << mbits) + m), e - bias - mbits);
  return negative ? -mag : mag;
}

// float32 -> bf16 bits: round to nearest even (overflow gives inf); NaN -> sign | 0x7FC0.
GRIMOIRE_HOST_DEVICE uint16_t encode_bf16(float x) {
  const uint32_t u = bits_of(x);
  if ((u & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>(((u >> 16) & 0x8000) | 0x7FC0);
  return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

GRIMOIRE_HOST_DEVICE float decode_bf16(uint16_t x) { return float_of(static_cast<uint32_t>(x) << 16); }

// int8 affine quantisation of one value: clamp(rint(fma(x, 1/scale, zero_point)), qmin, qmax),
// clamped in float first so a huge |x| cannot overflow the integer conversion. NaN gives qmin,
// what the x86 conversion (cvtps2dq: 0x80000000) and so the SIMD paths give.
GRIMOIRE_HOST_DEVICE int8_t quantize_int8_one(float x, float inv_scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = fmaf(x, inv_scale, static_cast<float>(zp));
  if (v != v) return static_cast<int8_t>(qmin);
  v = v < -1e9f ? -1e9f : (v > 1e9f ? 1e9f : v);
  int32_t r = static_cast<int32_t>(round_half_even(v));
  r = r < qmin ? qmin : (r > qmax ? qmax : r);
  return static_cast<int8_t>(r);
}

}  // namespace grimoire::quant_bits
