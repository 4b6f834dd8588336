// The attention family's avx2 kernels: attention_tiled.h instantiated with simd::Avx2 (8 floats).
#include "attention_tiled.h"

namespace grimoire::attention_detail {

extern const AttentionKernels kernels_avx2 = {attention_tiled::forward<simd::Avx2>,
                                              attention_tiled::backward<simd::Avx2>};

}  // namespace grimoire::attention_detail
