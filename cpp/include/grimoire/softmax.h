// Softmax, log-softmax and the fused cross-entropy loss (primer 5.2.4), forward and backward.
//
//   softmax      y_j = exp(x_j - m) / sum_k exp(x_k - m),   m = max_k x_k   (the stable form)
//   log_softmax  y_j = (x_j - m) - log(sum_k exp(x_k - m))
//   backward     softmax:     grad_x = y * (grad_y - sum(grad_y * y))
//                log_softmax: grad_x = grad_y - exp(y) * sum(grad_y)
//   cross-entropy (label smoothing eps over C classes, target t):
//                loss_i = lse - (1 - eps) x_t - eps/C sum_j x_j,   lse = m + log(sum_j exp(x_j - m))
//                grad_ij = scale * (softmax_ij - (1 - eps) [j == t] - eps / C)
//
// Every row is (dim,) contiguous; x, y, grad are (rows, dim). A row is read from memory once and
// re-read from L1/L2 for its later passes. Subtracting the row max keeps exp() in range for any
// finite logits (1e4 included); NaN anywhere in a row makes the whole row NaN, and +inf makes
// the row NaN (inf - inf), as PyTorch does.
#pragma once

#include <cstdint>

namespace grimoire {

struct SoftmaxParams {
  int64_t rows = 0, dim = 0;
  const float* x = nullptr;       // forward: the input; backward: grad_y
  const float* y = nullptr;       // backward: the forward's output
  float* out = nullptr;           // forward: y; backward: grad_x
};

void softmax_forward(const SoftmaxParams& p);      // x -> out
void log_softmax_forward(const SoftmaxParams& p);  // x -> out
void softmax_backward(const SoftmaxParams& p);     // (x = grad_y, y) -> out = grad_x
void log_softmax_backward(const SoftmaxParams& p);

enum class Reduction : int { none = 0, mean = 1, sum = 2 };

// logits (n, classes), targets (n,) in [0, classes) or == ignore_index (checked by the caller).
struct CrossEntropyParams {
  int64_t n = 0, classes = 0;
  const float* logits = nullptr;
  const int64_t* targets = nullptr;
  int64_t ignore_index = -100;
  float label_smoothing = 0.0f;
  Reduction reduction = Reduction::mean;
  float* losses = nullptr;  // (n,) per-row losses (0 for ignored rows); always written
  float* grad = nullptr;    // (n, classes) gradient of the reduced loss, or null
};

// Returns the reduced loss (mean over non-ignored rows, or sum; the sum for Reduction::none).
double cross_entropy(const CrossEntropyParams& p);

// Scalar reference paths.
void softmax_forward_reference(const SoftmaxParams& p);
void log_softmax_forward_reference(const SoftmaxParams& p);
void softmax_backward_reference(const SoftmaxParams& p);
void log_softmax_backward_reference(const SoftmaxParams& p);
double cross_entropy_reference(const CrossEntropyParams& p);

}  // namespace grimoire
