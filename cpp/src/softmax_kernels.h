// The softmax family's microkernels, one table per ISA (private to cpp/src). The driver
// (softmax.cpp) owns threading and the loss reduction.
#pragma once

#include <cstdint>

#include "grimoire/softmax.h"

namespace grimoire::softmax_detail {

struct SoftmaxKernels {
  // Rows [begin, end) of p.
  void (*softmax_rows)(const SoftmaxParams& p, int64_t begin, int64_t end);
  void (*log_softmax_rows)(const SoftmaxParams& p, int64_t begin, int64_t end);
  void (*softmax_backward_rows)(const SoftmaxParams& p, int64_t begin, int64_t end);
  void (*log_softmax_backward_rows)(const SoftmaxParams& p, int64_t begin, int64_t end);
  // One cross-entropy row of `classes` logits with target t (t < 0: ignored row, loss 0 and a zero
  // gradient). grad (classes,) may be null; it receives scale * (softmax - (1-eps) onehot - eps/C).
  float (*cross_entropy_row)(const float* x, int64_t classes, int64_t t, float eps, float scale, float* grad);
};

extern const SoftmaxKernels kernels_avx2;
extern const SoftmaxKernels kernels_avx512;

}  // namespace grimoire::softmax_detail
