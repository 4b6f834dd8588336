// The optim family's microkernels, one table per ISA (private to cpp/src). The driver
// (optim.cpp) computes the step's scalar constants, splits the arrays and threads.
#pragma once

#include <cstdint>

namespace grimoire::optim_detail {

// Float32 constants of one Adam step, computed once in double by the driver.
struct AdamConsts {
  float one_minus_beta1, beta2, one_minus_beta2;
  float neg_step_size;    // -lr / (1 - beta1^t)
  float bc2_sqrt;         // sqrt(1 - beta2^t)
  float eps;
  float decay;            // param *= decay (AdamW), 1 otherwise
  float l2;               // g += l2 * param (Adam with L2), 0 otherwise
};

struct SgdConsts {
  float neg_lr, momentum, one_minus_dampening, weight_decay;
  bool use_momentum, nesterov, first_step;
};

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
