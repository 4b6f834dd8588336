// The norm family's avx512 microkernels: norm_simd.h instantiated with simd::Avx512.
#include "norm_simd.h"

namespace grimoire::norm_detail {

extern const NormKernels kernels_avx512 = NormSimd<simd::Avx512>::table();

}  // namespace grimoire::norm_detail
