// The optim family's microkernels, one table per ISA (private to cpp/src). The driver
// (optim.cpp) computes the step's scalar constants, splits the arrays and threads.
#pragma once

#include <cstdint>

#include "grimoire/optim.h"

namespace grimoire::optim_detail {

struct OptimKernels {
  // Elements [begin, end).
  void (*adam)(const AdamConsts& c, float* param, const float* grad, float* m, float* v, float* max_v,
               int64_t begin, int64_t end);
  void (*sgd)(const SgdConsts& c, float* param, const float* grad, float* buf, int64_t begin, int64_t end);
  // kind 1: sum |x|; 2: sum x^2; 0: max |x| (NaN if any x is NaN).
  double (*sum_pow)(const float* x, int64_t n, int kind);
  void (*scale)(float* x, int64_t n, float c);
};

extern const OptimKernels kernels_avx2;
extern const OptimKernels kernels_avx512;

}  // namespace grimoire::optim_detail
