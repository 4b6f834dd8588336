// The attention family's avx512 kernels: attention_tiled.h instantiated with simd::Avx512 (16 floats).
#include "attention_tiled.h"

namespace grimoire::attention_detail {

extern const AttentionKernels kernels_avx512 = {attention_tiled::forward<simd::Avx512>,
                                                attention_tiled::backward<simd::Avx512>};

}  // namespace grimoire::attention_detail
