// The linalg family's avx2 microkernels: linalg_simd.h instantiated with simd::Avx2F64.
#include "linalg_simd.h"

namespace grimoire::linalg_detail {

extern const LinalgKernels kernels_avx2 = LinalgSimd<simd::Avx2F64>::table();

}  // namespace grimoire::linalg_detail
