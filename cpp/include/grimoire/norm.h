// Normalisation layers (primer 5.2.4 / 6.5.2): LayerNorm, RMSNorm, BatchNorm, forward and backward.
//
//   LayerNorm  y = (x - mean) * rstd * w + b,  mean/var over the last axis, rstd = 1/sqrt(var + eps)
//   RMSNorm    y = x * rstd * w,               rstd = 1/sqrt(mean(x^2) + eps)
//   BatchNorm  y = (x - mu_c) * rstd_c * w_c + b_c, statistics per channel c over (N, *)
//
// Statistics. LayerNorm/RMSNorm: two-pass per row (mean, then the centred squares), the row
// re-read from L1/L2 where it stays after the first touch, so memory sees one read of x and one
// write of y and the variance is the exact two-pass one (no E[x^2]-E[x]^2 cancellation).
// BatchNorm: its batch does not fit in cache, so the fast paths make one pass over memory:
// each contiguous block is reduced two-pass while it sits in L1, and the blocks' (count, mean,
// M2) are merged with Chan's parallel formula in double. The reference paths are plain double
// two-pass loops.
//
// Weights, biases and the grad_weight/grad_bias outputs may be null (no affine / not needed).
// Backward column sums (grad_weight, grad_bias) are reduced over fixed row chunks in a fixed
// order, so they do not depend on the thread count.
#pragma once

#include <cstdint>

namespace grimoire {

// x, y are (rows, dim) C-contiguous; mean, rstd are (rows,); weight, bias are (dim,).
struct LayerNormParams {
  int64_t rows = 0, dim = 0;
  const float* x = nullptr;
  const float* weight = nullptr;  // may be null
  const float* bias = nullptr;    // may be null
  float* y = nullptr;
  float* mean = nullptr;  // layer norm only (rms norm: unused)
  float* rstd = nullptr;
  float eps = 1e-5f;
  // Write y with non-temporal stores (set by the driver for outputs larger than
  // norm_stream_threshold() bytes; y must be 4-byte aligned).
  bool stream_y = false;
};

// Outputs of layer_norm/rms_norm forward at least this many bytes are written with streaming
// stores (they would not stay in cache anyway). Returns the previous value.
int64_t set_norm_stream_threshold(int64_t bytes);
int64_t norm_stream_threshold();

// grad_y, x, grad_x are (rows, dim); mean, rstd (rows,) as the forward saved them.
struct LayerNormBackwardParams {
  int64_t rows = 0, dim = 0;
  const float* grad_y = nullptr;
  const float* x = nullptr;
  const float* weight = nullptr;  // may be null
  const float* mean = nullptr;    // layer norm only
  const float* rstd = nullptr;
  float* grad_x = nullptr;
  float* grad_weight = nullptr;  // may be null
  float* grad_bias = nullptr;    // may be null (layer norm only)
};

void layer_norm_forward(const LayerNormParams& p);
void layer_norm_backward(const LayerNormBackwardParams& p);
void rms_norm_forward(const LayerNormParams& p);    // p.mean and p.bias unused
void rms_norm_backward(const LayerNormBackwardParams& p);  // p.mean and p.grad_bias unused

// x, y are (n, channels, spatial) C-contiguous ((N, C) is spatial 1); per-channel arrays (channels,).
struct BatchNormParams {
  int64_t n = 0, channels = 0, spatial = 1;
  const float* x = nullptr;
  const float* weight = nullptr;  // may be null
  const float* bias = nullptr;    // may be null
  float* running_mean = nullptr;  // may be null; updated in place when training
  float* running_var = nullptr;   // may be null; updated in place (unbiased variance) when training
  float* y = nullptr;
  float* save_mean = nullptr;  // out: the mean used (batch mean, or running mean at inference)
  float* save_rstd = nullptr;  // out: the 1/sqrt(var + eps) used
  bool training = true;
  float momentum = 0.1f, eps = 1e-5f;
};

struct BatchNormBackwardParams {
  int64_t n = 0, channels = 0, spatial = 1;
  const float* grad_y = nullptr;
  const float* x = nullptr;
  const float* weight = nullptr;  // may be null
  const float* save_mean = nullptr;
  const float* save_rstd = nullptr;
  bool training = true;  // false: the statistics were constants (inference), no mean/var terms
  float* grad_x = nullptr;
  float* grad_weight = nullptr;  // may be null
  float* grad_bias = nullptr;    // may be null
};

void batch_norm_forward(const BatchNormParams& p);
void batch_norm_backward(const BatchNormBackwardParams& p);

// The scalar reference paths (always compiled; the definition of correctness).
void layer_norm_forward_reference(const LayerNormParams& p);
void layer_norm_backward_reference(const LayerNormBackwardParams& p);
void rms_norm_forward_reference(const LayerNormParams& p);
void rms_norm_backward_reference(const LayerNormBackwardParams& p);
void batch_norm_forward_reference(const BatchNormParams& p);
void batch_norm_backward_reference(const BatchNormBackwardParams& p);

}  // namespace grimoire
