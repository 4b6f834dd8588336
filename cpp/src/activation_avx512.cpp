// The activation family's avx512 microkernels: activation_simd.h instantiated with simd::Avx512.
#include "activation_simd.h"

namespace grimoire::activation_detail {

extern const ActivationKernels kernels_avx512 = ActivationSimd<simd::Avx512>::table();

}  // namespace grimoire::activation_detail
