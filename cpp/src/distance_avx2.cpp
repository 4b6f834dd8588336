// The distance family's avx2 microkernel: distance_simd.h instantiated with simd::Avx2.
#include "distance_simd.h"

namespace grimoire::distance_detail {

extern const DistanceKernels kernels_avx2 = DistanceSimd<simd::Avx2>::table();

}  // namespace grimoire::distance_detail
