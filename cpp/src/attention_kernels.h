// The attention family's tiled kernels, one table per ISA (private to cpp/src). The templates
// live in attention_tiled.h, instantiated with simd::Avx2 in attention_avx2.cpp and with
// simd::Avx512 in attention_avx512.cpp; attention.cpp picks a table by ISA (or runs its scalar
// reference).
#pragma once

#include "grimoire/attention.h"

namespace grimoire::attention_detail {

struct AttentionKernels {
  void (*forward)(const AttentionParams& p);   // out, lse (the decode step when q_len == 1)
  void (*backward)(const AttentionParams& p);  // dq, dk, dv from grad_out, out, lse
};

extern const AttentionKernels kernels_avx2;
extern const AttentionKernels kernels_avx512;

}  // namespace grimoire::attention_detail
