// The pool family's avx512 microkernels: pool_simd.h instantiated with simd::Avx512.
#include "pool_simd.h"

namespace grimoire::pool_detail {

extern const PoolKernels kernels_avx512 = PoolSimd<simd::Avx512>::table();

}  // namespace grimoire::pool_detail
