// Quantisation and low-precision conversions: the scalar references (the definition of
// correctness, and the scalar table) and the drivers that split, thread and call the span
// kernels of the ISA in use (quant_kernels.h: quant_avx2.cpp / quant_avx512.cpp fill a table
// each). Formats and rounding rules: see grimoire/quant.h.
#include "grimoire/quant.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"
#include "quant_kernels.h"

namespace grimoire {

namespace {

using quant_simd::Fp8Spec;
using quant_simd::fp8_spec;

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("quant_int8", kPaths), register_family("fp8", kPaths),
                         register_family("bf16", kPaths), true);

constexpr int64_t kGrain = 1 << 16;  // elements per thread below which a conversion stays serial

inline uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

}  // namespace

// ---- scalar spans (the reference, used for the scalar path and the SIMD tails) ---------------
namespace quant_simd::scalar {

void quantize_int8(const float* x, int8_t* q, int64_t n, float inv_scale, int32_t zp, int32_t qmin,
                        int32_t qmax) {
  // x * (1/scale) + zero_point with one rounding (fused multiply-add, as PyTorch computes it).
  for (int64_t i = 0; i < n; ++i) q[i] = quant_bits::quantize_int8_one(x[i], inv_scale, zp, qmin, qmax);
}

bool min_max(const float* x, int64_t n, float* lo, float* hi) {
  float l = *lo, h = *hi;
  uint32_t nonfinite = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    l = v < l ? v : l;
    h = v > h ? v : h;
    nonfinite |= static_cast<uint32_t>((bits_of(v) & 0x7F800000) == 0x7F800000);
  }
  *lo = l;
  *hi = h;
  return nonfinite == 0;
}

void dequantize_int8(const int8_t* q, float* x, int64_t n, float scale, int32_t zp) {
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(static_cast<int32_t>(q[i]) - zp) * scale;
}

void to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_fp8_ref(x[i], fmt, saturate);
}

void to_bf16(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_bf16_ref(x[i]);
}

void from_bf16(const uint16_t* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = from_bf16_ref(x[i]);
}

}  // namespace quant_simd::scalar

namespace quant_simd {
extern const QuantKernels kernels_scalar = {&scalar::quantize_int8, &scalar::min_max, &scalar::dequantize_int8,
                                            &scalar::to_fp8, &scalar::to_bf16, &scalar::from_bf16};
}  // namespace quant_simd

namespace {

const std::array<float, 256>& fp8_table(Fp8Format fmt) {
  static const auto make = [](Fp8Format f) {
    std::array<float, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = from_fp8_ref(static_cast<uint8_t>(c), f);
    return t;
  };
  static const std::array<float, 256> e4m3 = make(Fp8Format::e4m3), e5m2 = make(Fp8Format::e5m2);
  return fmt == Fp8Format::e4m3 ? e4m3 : e5m2;
}

void from_fp8_span(const uint8_t* codes, float* out, int64_t n, Fp8Format fmt) {
  const float* table = fp8_table(fmt).data();
  for (int64_t i = 0; i < n; ++i) out[i] = table[codes[i]];
}

const quant_simd::QuantKernels& kernels_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return quant_simd::kernels_avx512;
    case Isa::avx2: return quant_simd::kernels_avx2;
    default: return quant_simd::kernels_scalar;
  }
}
const quant_simd::QuantKernels& kernels() { return kernels_for(isa_for(kPaths)); }

// Split [0, n) over the threads; each chunk runs the span function of the chosen ISA.
template <typename Body>
void chunked(int64_t n, Body&& body) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { body(b, e - b); });
}

}  // namespace

// ---- scalar references ---------------------------------------------------------------------

uint8_t to_fp8_ref(float x, Fp8Format fmt, bool saturate) { return quant_bits::encode_fp8(x, fp8_spec(fmt), saturate); }

float from_fp8_ref(uint8_t code, Fp8Format fmt) { return quant_bits::decode_fp8(code, fmt == Fp8Format::e5m2); }

uint16_t to_bf16_ref(float x) { return quant_bits::encode_bf16(x); }

float from_bf16_ref(uint16_t x) { return quant_bits::decode_bf16(x); }

// ---- int8 ----------------------------------------------------------------------------------

namespace {

// max(|lo|, |hi|) / 127, lo <= 0 <= hi; 1 for an all-zero channel. A scale below the smallest
// normal float has a reciprocal that overflows to inf, and then 0 * (1/scale) is NaN: such tiny
// ranges get the smallest normal scale instead.
inline float symmetric_scale(float lo, float hi) {
  const float amax = std::max(-lo, hi);
  return amax > 0.0f ? std::max(amax / 127.0f, std::numeric_limits<float>::min()) : 1.0f;
}

}  // namespace

bool quantize_rows_symmetric_int8(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale) {
  const auto& kern = kernels();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * k;
    float lo = 0.0f, hi = 0.0f;  // as choose_qparams_int8 folds
    if (!kern.min_max(row, k, &lo, &hi)) return false;
    scale[r] = symmetric_scale(lo, hi);
    kern.quantize_int8(row, q + r * k, k, 1.0f / scale[r], 0, -127, 127);
  }
  return true;
}

bool choose_qparams_int8(const float* x, const QuantInt8Params& p, bool symmetric, float* scale,
                         int32_t* zero_point) {
  const int64_t C = p.channels, inner = p.inner, outer = p.outer;
  std::vector<float> lo(C, 0.0f), hi(C, 0.0f);
  std::vector<char> bad(C, 0);
  // min/max of one channel's slice x[o, c, i0:i1] folded into (l, h); non-finite values flagged.
  const auto& kern = kernels();
  auto fold = [&](int64_t c, int64_t o, int64_t i0, int64_t i1, float& l, float& h, uint32_t& nonfinite) {
    nonfinite |= static_cast<uint32_t>(!kern.min_max(x + (o * C + c) * inner + i0, i1 - i0, &l, &h));
  };
  if (C == 1) {
    // Per tensor: a parallel reduction over chunks of the flat array.
    const int64_t n = outer * inner;
    const int T = std::max(1, std::min<int>(num_threads(), static_cast<int>(n / kGrain)));
    std::vector<float> tl(T, 0.0f), th(T, 0.0f);
    std::vector<uint32_t> tb(T, 0);
    parallel_for(T, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) fold(0, 0, n * t / T, n * (t + 1) / T, tl[t], th[t], tb[t]);
    });
    for (int t = 0; t < T; ++t) {
      lo[0] = std::min(lo[0], tl[t]);
      hi[0] = std::max(hi[0], th[t]);
      bad[0] |= tb[t] != 0;
    }
  } else {
    parallel_for(C, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, outer * inner)), [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        uint32_t nf = 0;
        for (int64_t o = 0; o < outer; ++o) fold(c, o, 0, inner, lo[c], hi[c], nf);
        bad[c] = nf != 0;
      }
    });
  }
  for (int64_t c = 0; c < C; ++c)
    if (bad[c]) return false;
  // A scale below the smallest normal float has a reciprocal that overflows to inf, and then
  // 0 * (1/scale) is NaN: such tiny ranges get the smallest normal scale instead.
  const float min_scale = std::numeric_limits<float>::min();
  for (int64_t c = 0; c < C; ++c) {
    // lo <= 0 <= hi always (the folds start from 0): zero is exactly representable.
    if (symmetric) {
      scale[c] = symmetric_scale(lo[c], hi[c]);
      zero_point[c] = 0;
    } else {
      // In double: hi - lo overflows float32 for x near +-3e38, though (hi - lo) / 255 fits.
      const float range = static_cast<float>((static_cast<double>(hi[c]) - lo[c]) / 255.0);
      const float s = range > 0.0f ? std::max(range, min_scale) : range;
      if (!(s > 0.0f)) {
        scale[c] = 1.0f;
        zero_point[c] = 0;
        continue;
      }
      scale[c] = s;
      const int32_t zp = -128 - static_cast<int32_t>(std::nearbyint(lo[c] / s));
      zero_point[c] = std::min(std::max(zp, -128), 127);
    }
  }
  return true;
}

void quantize_int8(const float* x, int8_t* q, const QuantInt8Params& p) {
  const auto& kern = kernels();
  const int64_t rows = p.outer * p.channels, inner = p.inner;
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t c = r % p.channels;
      kern.quantize_int8(x + r * inner, q + r * inner, inner, 1.0f / p.scale[c], p.zero_point[c], p.qmin, p.qmax);
    }
  });
}

void dequantize_int8(const int8_t* q, float* x, const QuantInt8Params& p) {
  const auto& kern = kernels();
  const int64_t rows = p.outer * p.channels, inner = p.inner;
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t c = r % p.channels;
      kern.dequantize_int8(q + r * inner, x + r * inner, inner, p.scale[c], p.zero_point[c]);
    }
  });
}

// ---- fp8 / bf16 ----------------------------------------------------------------------------

void to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate) {
  const auto& kern = kernels();
  chunked(n, [&](int64_t b, int64_t len) { kern.to_fp8(x + b, out + b, len, fmt, saturate); });
}

void from_fp8(const uint8_t* codes, float* out, int64_t n, Fp8Format fmt) {
  // A 256-entry table lookup is as fast as the memory on every path.
  chunked(n, [&](int64_t b, int64_t len) { from_fp8_span(codes + b, out + b, len, fmt); });
}

void to_bf16(const float* x, uint16_t* out, int64_t n) {
  const auto& kern = kernels();
  chunked(n, [&](int64_t b, int64_t len) { kern.to_bf16(x + b, out + b, len); });
}

void from_bf16(const uint16_t* x, float* out, int64_t n) {
  const auto& kern = kernels();
  chunked(n, [&](int64_t b, int64_t len) { kern.from_bf16(x + b, out + b, len); });
}

}  // namespace grimoire
