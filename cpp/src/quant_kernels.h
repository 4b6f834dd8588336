// The quant families' span kernels, one table per ISA (private to cpp/src), as in the norm
// family: quant_avx2.cpp / quant_avx512.cpp each fill one table, the driver (quant.cpp) picks
// the table of the ISA in use and owns splitting and threading. An entry converts one contiguous
// span on the calling thread; a new ISA is one file that fills a table.
#pragma once

#include <cstdint>

#include "grimoire/quant.h"
#include "grimoire/quant_bits.h"

namespace grimoire::quant_simd {

struct QuantKernels {
  void (*quantize_int8)(const float* x, int8_t* q, int64_t n, float inv_scale, int32_t zero_point, int32_t qmin,
                        int32_t qmax);
  // Folds x into *lo = min(*lo, x...), *hi = max(*hi, x...); false if x holds NaN or inf.
  bool (*min_max)(const float* x, int64_t n, float* lo, float* hi);
  void (*dequantize_int8)(const int8_t* q, float* x, int64_t n, float scale, int32_t zero_point);
  void (*to_fp8)(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate);
  void (*to_bf16)(const float* x, uint16_t* out, int64_t n);
  void (*from_bf16)(const uint16_t* x, float* out, int64_t n);
};

extern const QuantKernels kernels_scalar;  // quant.cpp: the reference
extern const QuantKernels kernels_avx2;    // quant_avx2.cpp
extern const QuantKernels kernels_avx512;  // quant_avx512.cpp

// The reference spans (quant.cpp), which the SIMD spans also run on their tails.
namespace scalar {
void quantize_int8(const float* x, int8_t* q, int64_t n, float inv_scale, int32_t zero_point, int32_t qmin,
                   int32_t qmax);
bool min_max(const float* x, int64_t n, float* lo, float* hi);
void dequantize_int8(const int8_t* q, float* x, int64_t n, float scale, int32_t zero_point);
void to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate);
void to_bf16(const float* x, uint16_t* out, int64_t n);
void from_bf16(const uint16_t* x, float* out, int64_t n);
}  // namespace scalar

// What the integer encoder needs to know about a format (shared by every path and the CUDA
// kernels: grimoire/quant_bits.h).
using Fp8Spec = quant_bits::Fp8Spec;

inline const Fp8Spec& fp8_spec(Fp8Format fmt) { return fmt == Fp8Format::e4m3 ? quant_bits::kE4M3 : quant_bits::kE5M2; }

}  // namespace grimoire::quant_simd
