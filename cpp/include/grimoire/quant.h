// Quantisation and low-precision number formats (primer 6.2, model compression).
//
// Three families share this header, each with a scalar reference (quant.cpp, the definition of
// correctness) and SIMD paths (quant_avx2.cpp, quant_avx512.cpp) picked at run time:
//
//   quant_int8  x float32 (n,) -> q int8:  q = clamp(rint(fma(x, 1/scale, zero_point)), lo, hi)
//               q int8 -> x float32:      x = (q - zero_point) * scale
//               x * (1/scale) + zero_point is rounded once (a fused multiply-add) and rint rounds
//               half to even: bit-for-bit torch.quantize_per_tensor / quantize_per_channel.
//               symmetric: [lo, hi] = [-127, 127], zero_point 0;
//               asymmetric (affine): [lo, hi] = [-128, 127]. Per tensor or per channel.
//   fp8         OCP 8-bit floats. E4M3 ("fn": bias 7, max 448, no infinity, NaN = S.1111.111)
//               and E5M2 (bias 15, max 57344, inf = S.11111.00, NaN = S.11111.10 canonical).
//               float32 -> fp8 rounds to nearest even, subnormals included. saturate=true: a
//               finite value past the range becomes +-max, an infinity +-448 in E4M3 and stays
//               +-inf in E5M2. saturate=false: overflow gives NaN (E4M3) or inf (E5M2), exactly
//               what ml_dtypes does. NaN stays NaN (sign kept, canonical code).
//   bf16        the upper half of a float32: to_bf16 rounds to nearest even (overflow gives inf),
//               NaN becomes the quiet NaN sign|0x7FC0 (ml_dtypes' choice); from_bf16 is exact.
//
// All conversions take contiguous arrays of n elements and run multithreaded for large n.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace grimoire {

enum class Fp8Format : int { e4m3 = 0, e5m2 = 1 };

inline Fp8Format fp8_format_from_name(const std::string& name) {
  if (name == "e4m3") return Fp8Format::e4m3;
  if (name == "e5m2") return Fp8Format::e5m2;
  throw std::invalid_argument("fmt must be 'e4m3' or 'e5m2', got '" + name + "'");
}

// ---- int8 ----------------------------------------------------------------------------------
// x is (outer, channels, inner) contiguous; channel c uses scale[c], zero_point[c] (channels == 1
// is per tensor). The range [qmin, qmax] is [-127, 127] (symmetric) or [-128, 127].
struct QuantInt8Params {
  int64_t outer = 1, channels = 1, inner = 0;
  const float* scale = nullptr;
  const int32_t* zero_point = nullptr;
  int32_t qmin = -128, qmax = 127;
};

// Scales and zero points from the data (min/max observer): symmetric scale = max|x| / 127,
// zero point 0; asymmetric: lo = min(min x, 0), hi = max(max x, 0), scale = (hi - lo) / 255,
// zero_point = clamp(-128 - rint(lo / scale), -128, 127) (PyTorch's MinMaxObserver for qint8).
// An all-zero channel gets scale 1. Returns false (and leaves scale untouched) if x holds a
// NaN or an infinity, which have no int8 code.
bool choose_qparams_int8(const float* x, const QuantInt8Params& shape, bool symmetric, float* scale,
                         int32_t* zero_point);
void quantize_int8(const float* x, int8_t* q, const QuantInt8Params& p);
// Rows of x (rows, k), C-contiguous, quantised symmetrically with one scale per row, on the
// calling thread (for drivers that quantise inside their own parallel region): bit for bit what
// choose_qparams_int8(symmetric) then quantize_int8 give with channels = rows, qmin = -127.
// Returns false if x holds a NaN or an infinity (q and scale are then garbage).
bool quantize_rows_symmetric_int8(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale);
void dequantize_int8(const int8_t* q, float* x, const QuantInt8Params& p);

// ---- fp8 / bf16 ----------------------------------------------------------------------------
void to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate);
void from_fp8(const uint8_t* codes, float* out, int64_t n, Fp8Format fmt);
void to_bf16(const float* x, uint16_t* out, int64_t n);
void from_bf16(const uint16_t* x, float* out, int64_t n);

// The scalar references, one value at a time (the oracle of every fast path).
uint8_t to_fp8_ref(float x, Fp8Format fmt, bool saturate);
float from_fp8_ref(uint8_t code, Fp8Format fmt);
uint16_t to_bf16_ref(float x);
float from_bf16_ref(uint16_t x);

}  // namespace grimoire
