// Activation family driver and scalar reference paths (see activation.h for the maths). The
// per-ISA microkernels (activation_avx2.cpp / activation_avx512.cpp, from activation_simd.h)
// work on element ranges.
#include "grimoire/activation.h"

#include <cmath>
#include <vector>

#include "activation_kernels.h"
#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

using activation_detail::ActivationKernels;

namespace {

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("activation", kPaths), true);

constexpr double kInvSqrt2 = 0.70710678118654752440, kInvSqrt2Pi = 0.39894228040143267794;

void gelu_ref(const ActivationParams& p, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const double x = p.x[i];
    p.out[i] = static_cast<float>(x * 0.5 * (1.0 + std::erf(x * kInvSqrt2)));
  }
}

void gelu_backward_ref(const ActivationParams& p, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const double x = p.x[i];
    const double slope = 0.5 * (1.0 + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    p.out[i] = static_cast<float>(p.grad[i] * slope);
  }
}

const ActivationKernels kReference = {&gelu_ref, &gelu_backward_ref};

const ActivationKernels& kernels() {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return activation_detail::kernels_avx512;
    case Isa::avx2: return activation_detail::kernels_avx2;
    default: return kReference;
  }
}

using RangeFn = void (*)(const ActivationParams&, int64_t, int64_t);

void run(const ActivationParams& p, RangeFn fn) {
  if (p.n <= 0) return;
  parallel_for(p.n, 16384, [&](int64_t b, int64_t e) { fn(p, b, e); });
}

}  // namespace

void gelu_forward(const ActivationParams& p) { run(p, kernels().gelu); }
void gelu_backward(const ActivationParams& p) { run(p, kernels().gelu_backward); }
void gelu_forward_reference(const ActivationParams& p) { run(p, &gelu_ref); }
void gelu_backward_reference(const ActivationParams& p) { run(p, &gelu_backward_ref); }

}  // namespace grimoire
