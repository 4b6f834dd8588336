// Elementwise activations with fused backward passes (primer 5.1.1).
//
//   gelu           y = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2   (exact GELU, as torch's default)
//   gelu_backward  grad_x = grad_y (Phi(x) + x phi(x)),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
//
// One pass over memory each (the NumPy chain is ~20 passes). The SIMD paths evaluate erf with
// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7) in float32, sharing its exp(-x^2/2) with phi;
// the scalar reference uses std::erf and std::exp in double. x, grad_y and out are (n,) contiguous.
// NaN propagates; gelu(+inf) = inf, gelu(-inf) = NaN and the slope at +-inf is NaN (inf * 0), as torch.
#pragma once

#include <cstdint>

namespace grimoire {

struct ActivationParams {
  int64_t n = 0;
  const float* x = nullptr;       // the forward's input
  const float* grad = nullptr;    // backward: grad_y
  float* out = nullptr;           // forward: y; backward: grad_x
};

void gelu_forward(const ActivationParams& p);
void gelu_backward(const ActivationParams& p);

// Scalar reference paths.
void gelu_forward_reference(const ActivationParams& p);
void gelu_backward_reference(const ActivationParams& p);

}  // namespace grimoire
