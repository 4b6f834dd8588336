// Optimizer-step driver and scalar reference paths (see optim.h). The driver turns the step's
// hyper-parameters into float32 constants once (in double, as torch.optim does in Python),
// then runs the per-ISA elementwise kernel over contiguous chunks on every thread.
#include "grimoire/optim.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"
#include "optim_kernels.h"

namespace grimoire {

using optim_detail::AdamConsts;
using optim_detail::OptimKernels;
using optim_detail::SgdConsts;

namespace {

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("optim", kPaths), true);

// ---- scalar reference: the torch.optim operations in their order, in float32 ----

void adam_ref(const AdamConsts& c, float* param, const float* grad, float* m, float* v, float* max_v,
              int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float p = param[i], g = grad[i];
    if (c.l2 != 0.0f) g = g + c.l2 * p;
    if (c.decay != 1.0f) p = p * c.decay;
    const float mi = m[i] + c.one_minus_beta1 * (g - m[i]);
    const float vi = v[i] * c.beta2 + c.one_minus_beta2 * g * g;
    float vd = vi;
    if (max_v) vd = max_v[i] = std::isnan(vi) ? vi : std::max(max_v[i], vi);
    const float denom = std::sqrt(vd) / c.bc2_sqrt + c.eps;
    param[i] = p + c.neg_step_size * mi / denom;
    m[i] = mi;
    v[i] = vi;
  }
}

void sgd_ref(const SgdConsts& c, float* param, const float* grad, float* buf, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float g = grad[i];
    if (c.weight_decay != 0.0f) g = g + c.weight_decay * param[i];
    if (c.use_momentum) {
      const float b = c.first_step ? g : buf[i] * c.momentum + c.one_minus_dampening * g;
      buf[i] = b;
      g = c.nesterov ? g + c.momentum * b : b;
    }
    param[i] = param[i] + c.neg_lr * g;
  }
}

double sum_pow_ref(const float* x, int64_t n, int kind) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::fabs(static_cast<double>(x[i]));
    if (kind == 2) s += a * a;
    else if (kind == 1) s += a;
    else if (std::isnan(a)) return a;
    else s = std::max(s, a);
  }
  return s;
}

void scale_ref(float* x, int64_t n, float c) {
  for (int64_t i = 0; i < n; ++i) x[i] *= c;
}

const OptimKernels kReference = {&adam_ref, &sgd_ref, &sum_pow_ref, &scale_ref};

const OptimKernels& kernels() {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return optim_detail::kernels_avx512;
    case Isa::avx2: return optim_detail::kernels_avx2;
    default: return kReference;
  }
}

constexpr int64_t kGrain = 1 << 16;  // elements per chunk: enough work to be worth a thread

void adam_impl(const OptimKernels& k, const AdamParams& p) {
  const AdamConsts c = optim_detail::adam_consts(p);
  float* max_v = p.amsgrad ? p.max_v : nullptr;
  parallel_for(p.n, kGrain, [&](int64_t b, int64_t e) { k.adam(c, p.param, p.grad, p.m, p.v, max_v, b, e); });
}

void sgd_impl(const OptimKernels& k, const SgdParams& p) {
  const SgdConsts c = optim_detail::sgd_consts(p);
  parallel_for(p.n, kGrain, [&](int64_t b, int64_t e) { k.sgd(c, p.param, p.grad, p.momentum_buf, b, e); });
}

// Every tensor cut into chunks of kGrain elements, so many small tensors and one big one both
// spread over the threads; the partial results are combined in chunk order (deterministic).
struct Chunk {
  int64_t tensor, begin, end;
};

std::vector<Chunk> chunks_of(const std::vector<GradSpan>& grads) {
  std::vector<Chunk> chunks;
  for (size_t t = 0; t < grads.size(); ++t)
    for (int64_t b = 0; b < grads[t].n; b += kGrain)
      chunks.push_back({static_cast<int64_t>(t), b, std::min(grads[t].n, b + kGrain)});
  return chunks;
}

}  // namespace

void adam_step(const AdamParams& p) { adam_impl(kernels(), p); }
void sgd_step(const SgdParams& p) { sgd_impl(kernels(), p); }
void adam_step_reference(const AdamParams& p) { adam_impl(kReference, p); }
void sgd_step_reference(const SgdParams& p) { sgd_impl(kReference, p); }

double grad_norm(const std::vector<GradSpan>& grads, double norm_type) {
  const OptimKernels& k = kernels();
  const std::vector<Chunk> chunks = chunks_of(grads);
  std::vector<double> partial(chunks.size(), 0.0);
  const bool inf = std::isinf(norm_type);
  const int kind = inf ? 0 : norm_type == 2.0 ? 2 : norm_type == 1.0 ? 1 : -1;
  parallel_for(static_cast<int64_t>(chunks.size()), 1, [&](int64_t cb, int64_t ce) {
    for (int64_t i = cb; i < ce; ++i) {
      const Chunk& ch = chunks[i];
      const float* x = grads[ch.tensor].data + ch.begin;
      const int64_t n = ch.end - ch.begin;
      if (kind >= 0) {
        partial[i] = k.sum_pow(x, n, kind);
        // The SIMD paths square in float32: |x| > 1.8e19 overflows, |x| < 1e-19 underflows (to
        // zero below ~1e-23). A sum that is not finite or is tiny is redone with the squares in
        // double, whose range holds the square of every float32 (what nrm2's scaling achieves).
        // (An exact 0 from all-zero gradients is kept: the SIMD max |x| tells it apart.)
        if (kind == 2 && !(partial[i] < HUGE_VAL && partial[i] >= 1e-20) && k.sum_pow(x, n, 0) != 0.0)
          partial[i] = sum_pow_ref(x, n, 2);
      } else {
        double s = 0.0;
        for (int64_t j = 0; j < n; ++j) s += std::pow(std::fabs(static_cast<double>(x[j])), norm_type);
        partial[i] = s;
      }
    }
  });
  double total = 0.0;
  for (double v : partial) {
    if (inf) total = std::isnan(v) || std::isnan(total) ? std::numeric_limits<double>::quiet_NaN() : std::max(total, v);
    else total += v;
  }
  if (!inf) total = norm_type == 1.0 ? total : norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  return static_cast<double>(static_cast<float>(total));
}

double clip_grad_norm(const std::vector<GradSpan>& grads, double max_norm, double norm_type) {
  const double total = grad_norm(grads, norm_type);
  // As torch: clip_coef = max_norm / (total + 1e-6) in float32, clamped to at most 1 (NaN stays
  // NaN and poisons the gradients, as torch does with error_if_nonfinite=False).
  const float coef = static_cast<float>(max_norm) / (static_cast<float>(total) + 1e-6f);
  const float clamped = std::isnan(coef) ? coef : std::min(coef, 1.0f);
  const OptimKernels& k = kernels();
  const std::vector<Chunk> chunks = chunks_of(grads);
  parallel_for(static_cast<int64_t>(chunks.size()), 1, [&](int64_t cb, int64_t ce) {
    for (int64_t i = cb; i < ce; ++i)
      k.scale(grads[chunks[i].tensor].data + chunks[i].begin, chunks[i].end - chunks[i].begin, clamped);
  });
  return total;
}

}  // namespace grimoire
