// Fused optimizer steps (primer 6.5.1): one pass over memory, in place, float32.
//
//   Adam      g = grad (+ wd * param, the L2 form, when !decoupled)
//             param *= 1 - lr * wd                       (AdamW, when decoupled)
//             m = m + (1 - beta1) (g - m),  v = beta2 v + (1 - beta2) g^2
//             vmax = max(vmax, v)                         (amsgrad; the denominator uses vmax)
//             param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//   SGD       g = grad (+ wd * param);  b = g (first step) or momentum b + (1 - dampening) g
//             g = g + momentum b (nesterov) or b;  param -= lr g
//   clip      total = ||(g_1, ..., g_k)||_p over every element of every tensor (p = inf: max |g|);
//             every g *= min(1, max_norm / (total + 1e-6))
//
// The operations and their order follow torch.optim (Adam/AdamW single-tensor path, SGD) and
// torch.nn.utils.clip_grad_norm_, so results agree to float32 rounding. Every array is (n,)
// contiguous; the caller checks shapes and that the arrays do not overlap.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace grimoire {

struct AdamParams {
  int64_t n = 0;
  float* param = nullptr;
  const float* grad = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  float* max_v = nullptr;  // amsgrad only
  int64_t step = 1;        // the step being taken, >= 1 (bias correction uses beta^step)
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled = true, amsgrad = false;
};

struct SgdParams {
  int64_t n = 0;
  float* param = nullptr;
  const float* grad = nullptr;
  float* momentum_buf = nullptr;  // needed when momentum != 0
  double lr = 1e-3, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false, first_step = false;
};

// One gradient tensor of clip_grad_norm: n contiguous floats.
struct GradSpan {
  float* data = nullptr;
  int64_t n = 0;
};

void adam_step(const AdamParams& p);
void sgd_step(const SgdParams& p);
// The total p-norm (norm_type > 0, or +inf) of all the tensors' elements, as float32 would give it.
double grad_norm(const std::vector<GradSpan>& grads, double norm_type);
// Scales the gradients in place (see above) and returns the total norm before clipping.
double clip_grad_norm(const std::vector<GradSpan>& grads, double max_norm, double norm_type);

// Scalar reference paths.
void adam_step_reference(const AdamParams& p);
void sgd_step_reference(const SgdParams& p);

namespace optim_detail {

// The float32 constants of one step, computed once in double as torch.optim does in Python.
// Shared by the CPU kernels and the CUDA ones (cuda/optim.cu), so both round them identically.
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

inline AdamConsts adam_consts(const AdamParams& p) {
  const double bc1 = 1.0 - std::pow(p.beta1, static_cast<double>(p.step));
  const double bc2 = 1.0 - std::pow(p.beta2, static_cast<double>(p.step));
  AdamConsts c;
  c.one_minus_beta1 = static_cast<float>(1.0 - p.beta1);
  c.beta2 = static_cast<float>(p.beta2);
  c.one_minus_beta2 = static_cast<float>(1.0 - p.beta2);
  c.neg_step_size = static_cast<float>(-(p.lr / bc1));
  c.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  c.eps = static_cast<float>(p.eps);
  const bool wd = p.weight_decay != 0.0;
  c.decay = wd && p.decoupled ? static_cast<float>(1.0 - p.lr * p.weight_decay) : 1.0f;
  c.l2 = wd && !p.decoupled ? static_cast<float>(p.weight_decay) : 0.0f;
  return c;
}

inline SgdConsts sgd_consts(const SgdParams& p) {
  SgdConsts c;
  c.neg_lr = static_cast<float>(-p.lr);
  c.momentum = static_cast<float>(p.momentum);
  c.one_minus_dampening = static_cast<float>(1.0 - p.dampening);
  c.weight_decay = static_cast<float>(p.weight_decay);
  c.use_momentum = p.momentum != 0.0;
  c.nesterov = p.nesterov;
  c.first_step = p.first_step;
  return c;
}

}  // namespace optim_detail

}  // namespace grimoire
