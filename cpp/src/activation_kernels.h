// The activation family's microkernels, one table per ISA (private to cpp/src). The driver
// (activation.cpp) owns threading.
#pragma once

#include <cstdint>

#include "grimoire/activation.h"

namespace grimoire::activation_detail {

struct ActivationKernels {
  // Elements [begin, end) of p.
  void (*gelu)(const ActivationParams& p, int64_t begin, int64_t end);
  void (*gelu_backward)(const ActivationParams& p, int64_t begin, int64_t end);
};

extern const ActivationKernels kernels_avx2;
extern const ActivationKernels kernels_avx512;

}  // namespace grimoire::activation_detail
