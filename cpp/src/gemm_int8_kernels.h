// Microkernels of the int8 GEMM (gemm_int8_avx2.cpp, gemm_int8_avx512vnni.cpp), declared for
// the packing driver in gemm_int8.cpp. Each computes one MR x NR tile over kg groups of KG
// consecutive k and adds it to C (c(i, j) = c[i * ldc + j]); mr <= MR, nr <= NR are the rows and
// columns of C that exist (edge tiles).
//
// Packed layouts (zero-padded to whole panels and whole k groups):
//   A panel: [kg][MR][KG]   B panel: [kg][NR][KG]
#pragma once

#include <cstdint>

namespace grimoire::gemm_int8_kernels {

// AVX2: both operands widened to int16; k pairs multiplied and summed by vpmaddwd (exact).
constexpr int kAvx2MR = 3, kAvx2NR = 32, kAvx2KG = 2;
void avx2_kernel(int64_t kg, const int16_t* a, const int16_t* b, int32_t* c, int64_t ldc, int mr, int nr);

// AVX-512 VNNI: A as u8 (a + 128), B as s8; k quads by vpdpbusd.
constexpr int kVnniMR = 8, kVnniNR = 32, kVnniKG = 4;
void vnni_kernel(int64_t kg, const uint8_t* a, const int8_t* b, int32_t* c, int64_t ldc, int mr, int nr);
// sums[j] += sum of column j of a packed B panel ([kg][32][4] int8), j < 32: the colsum that the
// driver subtracts 128 times.
void vnni_colsum(int64_t kg, const int8_t* b, int32_t* sums);

}  // namespace grimoire::gemm_int8_kernels
