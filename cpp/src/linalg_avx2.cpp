// The loops of linalg_kernels.inc compiled with the avx2 flags (see CMakeLists.txt).
#include "grimoire/linalg.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <vector>

#include "grimoire/parallel.h"

namespace grimoire::linalg_detail::avx2 {
#include "linalg_kernels.inc"
}  // namespace grimoire::linalg_detail::avx2
