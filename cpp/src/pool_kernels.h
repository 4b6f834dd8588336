// The pool family's microkernels, one table per ISA (private to cpp/src). The driver (pool.cpp)
// owns threading and builds a PoolPlan once per call; a table entry pools a range of planes on
// the calling thread.
#pragma once

#include <cstdint>

#include "grimoire/pool.h"

namespace grimoire::pool_detail {

// Per output position o = i * OW + j of one plane (every plane shares them): the window's top-left
// corner in the padded image as a flat position (row0 * W + col0) and as a row and a column, the
// clipped window's first in-image position (the argmax when every value is -inf, as PyTorch
// starts), and the average's divisor; each array runs 16 zeros past outs, so a vector load from
// any output stays inside. Positions fit int32: the driver takes this path only for planes of
// fewer than 2^31 values.
struct PoolPlan {
  const Pool2dShape* s;
  int64_t outs;  // OH * OW
  const int32_t* corner;
  const int32_t* row0;
  const int32_t* col0;
  const int32_t* first;
  const float* divisor;  // null for max pooling
  bool padded;           // some window reaches outside the image (pad_h or pad_w > 0)
};

struct PoolKernels {
  // Planes [begin, end): y (and indices) of the max, or y of the average.
  void (*max_planes)(const PoolPlan& p, const float* x, float* y, int64_t* indices, int64_t begin, int64_t end);
  void (*avg_planes)(const PoolPlan& p, const float* x, float* y, int64_t begin, int64_t end);
  // dx of the average over planes [begin, end) from dy; scratch holds OW floats.
  void (*avg_backward_planes)(const PoolPlan& p, const float* dy, float* dx, float* scratch, int64_t begin,
                              int64_t end);
};

extern const PoolKernels kernels_avx2;
extern const PoolKernels kernels_avx512;

}  // namespace grimoire::pool_detail
