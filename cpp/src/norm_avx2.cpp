// The norm family's avx2 microkernels: norm_simd.h instantiated with simd::Avx2.
#include "norm_simd.h"

namespace grimoire::norm_detail {

extern const NormKernels kernels_avx2 = NormSimd<simd::Avx2>::table();

}  // namespace grimoire::norm_detail
