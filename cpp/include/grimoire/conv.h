// 2-D convolution as CNN layers compute it (primer 5.2.1): cross-correlation, NCHW, float32.
//
//   x (N, C_in, H, W), w (C_out, C_in/groups, KH, KW), b (C_out) or null, y (N, C_out, OH, OW)
//   y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x[n, g*C_in/groups + c,
//                                                          i*sh - ph + p*dh, j*sw - pw + q*dw]
//   with g = o / (C_out/groups), x read as 0 outside the image, and
//   OH = (H + 2 ph - dh (KH - 1) - 1) / sh + 1   (floor), likewise OW.
//
// The kernel is not flipped (true convolution flips it: grimoire.linalg.convolve2d). 1-D
// convolution is this with H = KH = 1. Every array is C-contiguous; the caller (the bindings)
// has checked the shapes.
//
// The fast driver lowers each image to a GEMM: im2col packs a tile of output pixels (or several
// small images side by side) into a (C_in/groups * KH * KW, tile) matrix, a block of input
// channels at a time, y_tile += W_g[:, block] @ col_block; a 1x1 stride-1 unpadded convolution
// is a GEMM on the image itself. Backward: dW_g += dY_g @ col^T; dx for stride 1 is the
// transposed convolution (a forward one of dY with the flipped kernel), else dcol = W_g^T @ dY_g
// scattered back by col2im; db = sum of dY over (n, i, j). A depthwise convolution (groups == C_in ==
// C_out) is direct instead, forward and backward: a GEMM of one row would waste the microkernel. Scratch is per thread and per tile, never per batch.
#pragma once

#include <cstdint>

namespace grimoire {

struct Conv2dShape {
  int64_t n = 0, c_in = 0, h = 0, w = 0;        // input (N, C_in, H, W)
  int64_t c_out = 0, kh = 1, kw = 1;            // weight (C_out, C_in/groups, KH, KW)
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;
  int64_t out_h() const { return (h + 2 * pad_h - dil_h * (kh - 1) - 1) / stride_h + 1; }
  int64_t out_w() const { return (w + 2 * pad_w - dil_w * (kw - 1) - 1) / stride_w + 1; }
};

// Forward: y = conv(x, w) + b. b may be null (no bias).
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y);

// Backward, given dy (N, C_out, OH, OW): dx (like x), dw (like w), db (C_out). Any of the three
// outputs may be null and is then not computed (a first layer needs no dx). Outputs are written,
// not accumulated. Deterministic for a given thread count.
void conv2d_backward(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db);

// The scalar reference: the formula above as plain loops (the definition of correctness).
void conv2d_forward_reference(const Conv2dShape& s, const float* x, const float* w, const float* b,
                              float* y);
void conv2d_backward_reference(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                               float* dx, float* dw, float* db);

}  // namespace grimoire
