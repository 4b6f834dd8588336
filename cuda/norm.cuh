// CUDA norm family: LayerNorm and RMSNorm, forward and backward (primer 5.2.4), on device
// pointers, the twin of cpp/include/grimoire/norm.h (the same LayerNormParams /
// LayerNormBackwardParams, whose pointers are device pointers here).
//
//   LayerNorm  y = (x - mean) * rstd * w + b,  rstd = 1 / sqrt(var + eps), two-pass statistics
//   RMSNorm    y = x * rstd * w,               rstd = 1 / sqrt(mean(x^2) + eps)
//   backward   grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = grad_y * w
//              grad_w = sum_rows grad_y * xhat,  grad_b = sum_rows grad_y
//
// One thread block per row; grad_w / grad_b are reduced deterministically: per-block column
// partials (each column owned by one thread, no atomics), then a fixed-order column sum.
#pragma once

#include <cuda_runtime.h>

#include "grimoire/norm.h"

namespace grimoire::cuda {

// Scratch floats the backward needs for its column partials (allocate, pass to the backward).
int64_t norm_backward_scratch(int64_t rows, int64_t dim, bool rms);

cudaError_t layer_norm_forward(const LayerNormParams& p, cudaStream_t stream);
cudaError_t rms_norm_forward(const LayerNormParams& p, cudaStream_t stream);
// grad_weight (and grad_bias for layer norm) must be non-null; rows == 0 writes zeros.
cudaError_t layer_norm_backward(const LayerNormBackwardParams& p, float* scratch, cudaStream_t stream);
cudaError_t rms_norm_backward(const LayerNormBackwardParams& p, float* scratch, cudaStream_t stream);

// BatchNorm over (n, channels, spatial): per-channel statistics by per-(channel, split) partial
// sums in double, folded in split order (deterministic), exact two-pass (mean, then centred
// squares); the per-channel arithmetic (rstd, running statistics, backward coefficients) is the
// CPU driver's, in double. `scratch`: batch_norm_scratch(p) doubles.
int64_t batch_norm_scratch(int64_t n, int64_t channels, int64_t spatial);
cudaError_t batch_norm_forward(const BatchNormParams& p, double* scratch, cudaStream_t stream);
cudaError_t batch_norm_backward(const BatchNormBackwardParams& p, double* scratch, cudaStream_t stream);

}  // namespace grimoire::cuda
