// The optim family's avx2 microkernels: optim_simd.h instantiated with simd::Avx2.
#include "optim_simd.h"

namespace grimoire::optim_detail {

extern const OptimKernels kernels_avx2 = OptimSimd<simd::Avx2>::table();

}  // namespace grimoire::optim_detail
