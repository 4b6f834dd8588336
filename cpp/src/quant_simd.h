// The SIMD paths of the quant families (quant_avx2.cpp, quant_avx512.cpp), declared for the
// driver in quant.cpp. Each converts one contiguous span; the driver splits and threads.
#pragma once

#include <cstdint>

#include "grimoire/quant.h"

namespace grimoire::quant_simd {

#define GRIMOIRE_QUANT_SPANS(ns)                                                                      \
  namespace ns {                                                                                      \
  void quantize_int8(const float* x, int8_t* q, int64_t n, float inv_scale, int32_t zero_point,      \
                     int32_t qmin, int32_t qmax);                                                     \
  void dequantize_int8(const int8_t* q, float* x, int64_t n, float scale, int32_t zero_point);       \
  void to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate);                 \
  void to_bf16(const float* x, uint16_t* out, int64_t n);                                             \
  void from_bf16(const uint16_t* x, float* out, int64_t n);                                           \
  }

GRIMOIRE_QUANT_SPANS(scalar)  // quant.cpp: the reference, also the SIMD paths' tails
GRIMOIRE_QUANT_SPANS(avx2)
GRIMOIRE_QUANT_SPANS(avx512)
#undef GRIMOIRE_QUANT_SPANS

// What the integer encoder needs to know about a format (shared by every path).
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

inline const Fp8Spec& fp8_spec(Fp8Format fmt) {
  static const Fp8Spec e4m3{3, 7, 121u << 23, 512.0f, 0x7E, 0x7F, 0x7E, 0x7F, 0x7F};
  static const Fp8Spec e5m2{2, 15, 113u << 23, 65536.0f, 0x7B, 0x7E, 0x7C, 0x7C, 0x7C};
  return fmt == Fp8Format::e4m3 ? e4m3 : e5m2;
}

}  // namespace grimoire::quant_simd
