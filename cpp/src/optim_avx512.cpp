// The optim family's avx512 microkernels: optim_simd.h instantiated with simd::Avx512.
#include "optim_simd.h"

namespace grimoire::optim_detail {

extern const OptimKernels kernels_avx512 = OptimSimd<simd::Avx512>::table();

}  // namespace grimoire::optim_detail
