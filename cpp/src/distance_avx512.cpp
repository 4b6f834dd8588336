// The distance family's avx512 microkernel: distance_simd.h instantiated with simd::Avx512.
#include "distance_simd.h"

namespace grimoire::distance_detail {

extern const DistanceKernels kernels_avx512 = DistanceSimd<simd::Avx512>::table();

}  // namespace grimoire::distance_detail
