// AVX512_BF16 bf16 GEMM: a 12 x 32 float32 tile in 24 zmm accumulators. For each pair of k,
// vdpbf16ps multiplies a broadcast bf16 pair of A by 16 pairs of B and adds both products
// (exact in float32) to each float32 lane: twice the multiply-adds of a float32 FMA. Like every
// AVX512_BF16 instruction it ignores MXCSR: round to nearest even, float32 denormals (inputs and
// sums) flushed to zero. The packing (compiled here, so its plain loops are vectorised for
// AVX-512) rounds float32 operands to bf16 once per panel.
// GCC 12 reports its own _mm512_undefined_* placeholders as maybe-uninitialized (a known false
// positive of the AVX-512 headers); nothing here reads an uninitialised value.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "gemm_bf16_kernels.h"
#include "grimoire/quant_bits.h"

namespace grimoire::gemm_bf16_kernels {

namespace {

// c[0:nr] += v (masked past nr, 0 <= nr <= 16).
inline void add_row(float* c, __m512 v, int nr) {
  const __mmask16 m = static_cast<__mmask16>(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
  _mm512_mask_storeu_ps(c, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, c), v));
}

}  // namespace

// a: [kg][12] pairs, b: [kg][32] pairs; c(i, j) += tile(i, j) for i < mr, j < nr.
void kernel(int64_t kg, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, int mr, int nr) {
  static_assert(kMR == 12 && kNR == 32, "the accumulators below are a 12 x (2 x 16) tile");
  // Named accumulators: GCC keeps an array of __m512 updated in a loop in memory.
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  __m512 c80 = c00, c81 = c00, c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
#define GRIMOIRE_ROW(r, i)                                                          \
  {                                                                                 \
    const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i]));        \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, av, b0);                                    \
    c##r##1 = _mm512_dpbf16_ps(c##r##1, av, b1);                                    \
  }
  for (int64_t g = 0; g < kg; ++g) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
    GRIMOIRE_ROW(0, 0) GRIMOIRE_ROW(1, 1) GRIMOIRE_ROW(2, 2) GRIMOIRE_ROW(3, 3)
    GRIMOIRE_ROW(4, 4) GRIMOIRE_ROW(5, 5) GRIMOIRE_ROW(6, 6) GRIMOIRE_ROW(7, 7)
    GRIMOIRE_ROW(8, 8) GRIMOIRE_ROW(9, 9) GRIMOIRE_ROW(a, 10) GRIMOIRE_ROW(b, 11)
    a += kMR;
    b += kNR;
  }
#undef GRIMOIRE_ROW
  const __m512 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51},
                              {c60, c61}, {c70, c71}, {c80, c81}, {c90, c91}, {ca0, ca1}, {cb0, cb1}};
  const int nr0 = nr < 16 ? nr : 16, nr1 = nr > 16 ? nr - 16 : 0;
  for (int r = 0; r < mr; ++r) {
    add_row(c + r * ldc, acc[r][0], nr0);
    add_row(c + r * ldc + 16, acc[r][1], nr1);
  }
}

namespace {

// The pair (lo, hi) of codes in one word.
inline uint32_t word(uint16_t lo, uint16_t hi) { return static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16); }

// pack_pairs for one source type; code(x) is the bf16 code of an element. Two loop orders, so
// that the innermost loop walks the operand's unit stride: along k (pairs adjacent in memory)
// or along r (two rows of B (k, n) combined lane by lane into contiguous words).
template <typename T, typename Code>
void pack_typed(const T* p, int64_t rs, int64_t cs, int64_t count, int64_t kc, int R, uint32_t* dst, Code code) {
  const int64_t kg = (kc + 1) / 2, full = kc / 2;
  if (count < R) std::fill(dst, dst + kg * R, 0u);
  if (cs == 1) {
    for (int64_t r = 0; r < count; ++r) {
      const T* s = p + r * rs;
      for (int64_t g = 0; g < full; ++g) dst[g * R + r] = word(code(s[2 * g]), code(s[2 * g + 1]));
      if (kc % 2) dst[full * R + r] = code(s[kc - 1]);
    }
    return;
  }
  for (int64_t g = 0; g < kg; ++g) {
    const T* s0 = p + 2 * g * cs;
    const T* s1 = s0 + cs;
    uint32_t* d = dst + g * R;
    const bool pair = 2 * g + 1 < kc;
    if (rs == 1 && pair)
      for (int64_t r = 0; r < count; ++r) d[r] = word(code(s0[r]), code(s1[r]));
    else
      for (int64_t r = 0; r < count; ++r) d[r] = word(code(s0[r * rs]), pair ? code(s1[r * rs]) : uint16_t(0));
  }
}

// Rows along k in memory (x, W: cs = 1), float32 or bf16 codes: 16 pairs of a row per step
// (vcvtne2ps2bf16 rounds 32 float32 to bf16 in order, so the 16 words come out as they lie),
// scattered to their rows of the panel, dst[g * R + r]. vcvtne2ps2bf16 flushes float32
// denormals to zero where encode_bf16 would round them; vdpbf16ps treats denormal inputs as
// zero anyway, so the product is the same.
template <typename T>
void pack_rows(const T* p, int64_t rs, int64_t count, int64_t kc, int R, uint32_t* dst) {
  const int64_t kg = (kc + 1) / 2;
  if (count < R) std::fill(dst, dst + kg * R, 0u);
  const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(R));
  for (int64_t r = 0; r < count; ++r) {
    const T* s = p + r * rs;
    int64_t g = 0;
    for (; 2 * g + 32 <= kc; g += 16) {
      __m512i words;
      if constexpr (sizeof(T) == 4)
        words = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + 2 * g + 16), _mm512_loadu_ps(s + 2 * g));
      else
        words = _mm512_loadu_si512(s + 2 * g);
      _mm512_i32scatter_epi32(dst + g * R + r, index, words, 4);
    }
    for (; g < kg; ++g) {
      const auto code = [](T x) -> uint16_t {
        if constexpr (sizeof(T) == 4) return quant_bits::encode_bf16(x);
        else return x;
      };
      dst[g * R + r] = word(code(s[2 * g]), 2 * g + 1 < kc ? code(s[2 * g + 1]) : uint16_t(0));
    }
  }
}

}  // namespace

void pack_pairs(const Operand& op, int64_t r0, int64_t count, int64_t q0, int64_t kc, int R, uint32_t* dst) {
  const int64_t off = r0 * op.rs + q0 * op.cs;
  if (op.cs == 1 && op.type == Source::f32)
    return pack_rows(static_cast<const float*>(op.p) + off, op.rs, count, kc, R, dst);
  if (op.cs == 1 && op.type == Source::bf16)
    return pack_rows(static_cast<const uint16_t*>(op.p) + off, op.rs, count, kc, R, dst);
  switch (op.type) {
    case Source::f32:
      return pack_typed(static_cast<const float*>(op.p) + off, op.rs, op.cs, count, kc, R, dst,
                        [](float x) { return quant_bits::encode_bf16(x); });
    case Source::bf16:
      return pack_typed(static_cast<const uint16_t*>(op.p) + off, op.rs, op.cs, count, kc, R, dst,
                        [](uint16_t x) { return x; });
    case Source::fp8: {
      const uint16_t* table = op.table;
      return pack_typed(static_cast<const uint8_t*>(op.p) + off, op.rs, op.cs, count, kc, R, dst,
                        [table](uint8_t x) { return table[x]; });
    }
  }
}

}  // namespace grimoire::gemm_bf16_kernels
