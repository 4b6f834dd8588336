// The softmax family's avx2 microkernels: softmax_simd.h instantiated with simd::Avx2.
#include "softmax_simd.h"

namespace grimoire::softmax_detail {

extern const SoftmaxKernels kernels_avx2 = SoftmaxSimd<simd::Avx2>::table();

}  // namespace grimoire::softmax_detail
