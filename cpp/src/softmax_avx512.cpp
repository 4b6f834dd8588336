// The softmax family's avx512 microkernels: softmax_simd.h instantiated with simd::Avx512.
#include "softmax_simd.h"

namespace grimoire::softmax_detail {

extern const SoftmaxKernels kernels_avx512 = SoftmaxSimd<simd::Avx512>::table();

}  // namespace grimoire::softmax_detail
