// The AVX512_BF16 path of the bf16 GEMM (gemm_bf16_avx512bf16.cpp), declared for the driver in
// gemm_bf16.cpp: the microkernel and the packing that turns float32 / bf16 / fp8 operands into
// k-paired bf16 once per panel.
//
// Packed layouts, in 32-bit words, each word a pair of bf16 codes (k = 2g in the low half, 2g + 1
// in the high half, what vdpbf16ps multiplies and sums together), zero padded to whole panels and
// an even k:   A panel: [kg][MR]   B panel: [kg][NR]
#pragma once

#include <cstdint>

namespace grimoire::gemm_bf16_kernels {

constexpr int kMR = 12, kNR = 32;

// c(i, j) += sum over kg pairs of a(i, pair) . b(pair, j), for i < mr, j < nr (c(i, j) = c[i * ldc + j]).
void kernel(int64_t kg, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, int mr, int nr);

// One operand in memory: element (r, q) (r: the row of A or column of B; q: the index along k)
// at p[r * rs + q * cs], of one of these types (fp8 codes go through `table`, their exact bf16
// codes: every fp8 value is a bf16 value).
enum class Source : int { f32, bf16, fp8 };
struct Operand {
  Source type = Source::f32;
  const void* p = nullptr;
  int64_t rs = 0, cs = 0;
  const uint16_t* table = nullptr;
};

// Rows [r0, r0 + count) (count <= R) of `op` over k in [q0, q0 + kc) -> dst [ceil(kc / 2)][R]
// words: float32 rounded to nearest even bf16 (NaN stays NaN), codes copied.
void pack_pairs(const Operand& op, int64_t r0, int64_t count, int64_t q0, int64_t kc, int R, uint32_t* dst);

}  // namespace grimoire::gemm_bf16_kernels
