// The linalg family's avx512 microkernels: linalg_simd.h instantiated with simd::Avx512F64.
#include "linalg_simd.h"

namespace grimoire::linalg_detail {

extern const LinalgKernels kernels_avx512 = LinalgSimd<simd::Avx512F64>::table();

}  // namespace grimoire::linalg_detail
