// Softmax family driver and scalar reference paths (see softmax.h for the maths). The per-ISA
// microkernels (softmax_avx2.cpp / softmax_avx512.cpp, from softmax_simd.h) work on rows.
#include "grimoire/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"
#include "softmax_kernels.h"

namespace grimoire {

using softmax_detail::SoftmaxKernels;

namespace {

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("softmax", kPaths), true);

// ---- scalar reference rows (sums in double) ----

double row_max_ref(const float* x, int64_t d) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < d; ++i) m = std::max(m, static_cast<double>(x[i]));
  return m;  // NaN elements are skipped here and poison the sum of exp() instead
}

void softmax_rows_ref(const SoftmaxParams& p, int64_t begin, int64_t end) {
  const int64_t d = p.dim;
  for (int64_t r = begin; r < end; ++r) {
    const float* x = p.x + r * d;
    const double m = row_max_ref(x, d);
    double s = 0.0;
    for (int64_t i = 0; i < d; ++i) s += std::exp(x[i] - m);
    for (int64_t i = 0; i < d; ++i) p.out[r * d + i] = static_cast<float>(std::exp(x[i] - m) / s);
  }
}

void log_softmax_rows_ref(const SoftmaxParams& p, int64_t begin, int64_t end) {
  const int64_t d = p.dim;
  for (int64_t r = begin; r < end; ++r) {
    const float* x = p.x + r * d;
    const double m = row_max_ref(x, d);
    double s = 0.0;
    for (int64_t i = 0; i < d; ++i) s += std::exp(x[i] - m);
    const double ls = std::log(s);
    for (int64_t i = 0; i < d; ++i) p.out[r * d + i] = static_cast<float>((x[i] - m) - ls);
  }
}

void softmax_backward_rows_ref(const SoftmaxParams& p, int64_t begin, int64_t end) {
  const int64_t d = p.dim;
  for (int64_t r = begin; r < end; ++r) {
    const float *gy = p.x + r * d, *y = p.y + r * d;
    double dot = 0.0;
    for (int64_t i = 0; i < d; ++i) dot += static_cast<double>(gy[i]) * y[i];
    for (int64_t i = 0; i < d; ++i) p.out[r * d + i] = static_cast<float>(y[i] * (gy[i] - dot));
  }
}

void log_softmax_backward_rows_ref(const SoftmaxParams& p, int64_t begin, int64_t end) {
  const int64_t d = p.dim;
  for (int64_t r = begin; r < end; ++r) {
    const float *gy = p.x + r * d, *y = p.y + r * d;
    double s = 0.0;
    for (int64_t i = 0; i < d; ++i) s += gy[i];
    for (int64_t i = 0; i < d; ++i) p.out[r * d + i] = static_cast<float>(gy[i] - std::exp(static_cast<double>(y[i])) * s);
  }
}

float cross_entropy_row_ref(const float* x, int64_t c, int64_t t, float eps, float scale, float* grad) {
  if (t < 0) {
    if (grad) std::fill(grad, grad + c, 0.0f);
    return 0.0f;
  }
  const double m = row_max_ref(x, c);
  double s = 0.0, sx = 0.0;
  for (int64_t i = 0; i < c; ++i) {
    s += std::exp(x[i] - m);
    sx += x[i] - m;
  }
  const double log_s = std::log(s);
  double loss = log_s - (1.0 - eps) * (x[t] - m);
  if (eps != 0.0f) loss -= eps * sx / static_cast<double>(c);
  if (grad) {
    for (int64_t i = 0; i < c; ++i)
      grad[i] = static_cast<float>(scale * (std::exp(x[i] - m) / s - (i == t ? 1.0 - eps : 0.0) - eps / static_cast<double>(c)));
  }
  return static_cast<float>(loss);
}

const SoftmaxKernels kReference = {&softmax_rows_ref, &log_softmax_rows_ref, &softmax_backward_rows_ref,
                                   &log_softmax_backward_rows_ref, &cross_entropy_row_ref};

const SoftmaxKernels& kernels() {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return softmax_detail::kernels_avx512;
    case Isa::avx2: return softmax_detail::kernels_avx2;
    default: return kReference;
  }
}

using RowFn = void (*)(const SoftmaxParams&, int64_t, int64_t);

void run_rows(const SoftmaxParams& p, RowFn fn) {
  if (p.rows <= 0 || p.dim <= 0) return;
  parallel_for(p.rows, std::max<int64_t>(1, 16384 / p.dim), [&](int64_t b, int64_t e) { fn(p, b, e); });
}

double cross_entropy_impl(const SoftmaxKernels& k, const CrossEntropyParams& p) {
  int64_t count = 0;
  for (int64_t i = 0; i < p.n; ++i) count += p.targets[i] != p.ignore_index;
  // The gradient of the mean is 1/count per row; with every row ignored the mean is 0/0 (NaN),
  // as in PyTorch, and so is its gradient.
  const float scale = p.reduction == Reduction::mean
                          ? (count > 0 ? 1.0f / static_cast<float>(count) : std::numeric_limits<float>::quiet_NaN())
                          : 1.0f;
  const int64_t c = p.classes;
  if (p.n > 0 && c > 0) {
    parallel_for(p.n, std::max<int64_t>(1, 16384 / c), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t t = p.targets[i] == p.ignore_index ? -1 : p.targets[i];
        p.losses[i] = k.cross_entropy_row(p.logits + i * c, c, t, p.label_smoothing, scale,
                                          p.grad ? p.grad + i * c : nullptr);
      }
    });
  }
  double total = 0.0;
  for (int64_t i = 0; i < p.n; ++i) total += p.losses[i];
  if (p.reduction == Reduction::mean) return count > 0 ? total / static_cast<double>(count) : std::nan("");
  return total;
}

}  // namespace

void softmax_forward(const SoftmaxParams& p) { run_rows(p, kernels().softmax_rows); }
void log_softmax_forward(const SoftmaxParams& p) { run_rows(p, kernels().log_softmax_rows); }
void softmax_backward(const SoftmaxParams& p) { run_rows(p, kernels().softmax_backward_rows); }
void log_softmax_backward(const SoftmaxParams& p) { run_rows(p, kernels().log_softmax_backward_rows); }
double cross_entropy(const CrossEntropyParams& p) { return cross_entropy_impl(kernels(), p); }

void softmax_forward_reference(const SoftmaxParams& p) { run_rows(p, kReference.softmax_rows); }
void log_softmax_forward_reference(const SoftmaxParams& p) { run_rows(p, kReference.log_softmax_rows); }
void softmax_backward_reference(const SoftmaxParams& p) { run_rows(p, kReference.softmax_backward_rows); }
void log_softmax_backward_reference(const SoftmaxParams& p) { run_rows(p, kReference.log_softmax_backward_rows); }
double cross_entropy_reference(const CrossEntropyParams& p) { return cross_entropy_impl(kReference, p); }

}  // namespace grimoire
