// The activation family's avx2 microkernels: activation_simd.h instantiated with simd::Avx2.
#include "activation_simd.h"

namespace grimoire::activation_detail {

extern const ActivationKernels kernels_avx2 = ActivationSimd<simd::Avx2>::table();

}  // namespace grimoire::activation_detail
