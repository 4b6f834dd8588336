// The pool family's avx2 microkernels: pool_simd.h instantiated with simd::Avx2.
#include "pool_simd.h"

namespace grimoire::pool_detail {

extern const PoolKernels kernels_avx2 = PoolSimd<simd::Avx2>::table();

}  // namespace grimoire::pool_detail
