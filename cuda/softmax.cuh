// CUDA softmax family (primer 5.2.4): softmax / log_softmax forward and backward and the fused
// cross-entropy, the twins of cpp/include/grimoire/softmax.h on device pointers (the same
// SoftmaxParams / CrossEntropyParams).
//
//   softmax      y_j = exp(x_j - m) / s,  m = max_k x_k, s = sum_k exp(x_k - m)
//   log_softmax  y_j = (x_j - m) - log s
//   cross-entropy loss_i = log s + m - (1 - eps) x_t - eps/C sum_j x_j
//                 grad_ij = scale * (exp(x_ij - m) / s - (1 - eps) [j == t] - eps / C)
//
// One block per row; (m, s) in ONE read of the row with the online rescaling
// s <- s exp(m_old - m_new) + exp(x - m_new) (Milakov & Gimelshein), merged across threads in a
// fixed order; the output pass re-reads the row (from L2 for long rows: 50k logits are 200 KB).
#pragma once

#include <cuda_runtime.h>

#include "grimoire/softmax.h"

namespace grimoire::cuda {

cudaError_t softmax_forward(const SoftmaxParams& p, cudaStream_t stream);
cudaError_t log_softmax_forward(const SoftmaxParams& p, cudaStream_t stream);
cudaError_t softmax_backward(const SoftmaxParams& p, cudaStream_t stream);
cudaError_t log_softmax_backward(const SoftmaxParams& p, cudaStream_t stream);

// What the host reads back after cross_entropy: the reduced loss and the target check.
struct CrossEntropyResult {
  double total;        // sum of the per-row losses (divided by count for Reduction::mean)
  long long count;     // rows whose target is not ignore_index
  long long bad_row;   // first row whose target is neither a class nor ignore_index, or -1
  long long bad_target;
};

// p.losses (n,) and p.grad (n, classes, or null) on the device; `result` is device memory the
// host copies back. Invalid targets never index out of range: their rows get loss NaN, grad 0.
cudaError_t cross_entropy(const CrossEntropyParams& p, CrossEntropyResult* result, cudaStream_t stream);

}  // namespace grimoire::cuda
