// Eigen- and singular-value iterations: the plain path and the ISA dispatch.
#include "grimoire/linalg.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <vector>

#include "grimoire/parallel.h"

#include <vector>

#include "grimoire/cpu.h"

namespace grimoire {
namespace linalg_detail::scalar {
#include "linalg_kernels.inc"
}  // namespace linalg_detail::scalar

namespace {
const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("linalg", kPaths), true);
}  // namespace

bool eigh_symmetric(int64_t n, double* a, double* w, double* z) {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return linalg_detail::avx512::eigh_symmetric(n, a, w, z);
    case Isa::avx2: return linalg_detail::avx2::eigh_symmetric(n, a, w, z);
    default: return linalg_detail::scalar::eigh_symmetric(n, a, w, z);
  }
}

int jacobi_svd_sweeps(int64_t n, int64_t m, double* bt, int64_t nv, double* vt, int max_sweeps, double tol) {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return linalg_detail::avx512::jacobi_svd_sweeps(n, m, bt, nv, vt, max_sweeps, tol);
    case Isa::avx2: return linalg_detail::avx2::jacobi_svd_sweeps(n, m, bt, nv, vt, max_sweeps, tol);
    default: return linalg_detail::scalar::jacobi_svd_sweeps(n, m, bt, nv, vt, max_sweeps, tol);
  }
}

}  // namespace grimoire
