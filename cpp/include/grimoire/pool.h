// 2-D pooling (primer 5.2.2): max and average over windows of each channel plane, NCHW, float32.
//
//   x (N, C, H, W) -> y (N, C, OH, OW),   OH = (H + 2 ph - KH) / sh + 1 (floor), likewise OW
//   window of y[n, c, i, j]: rows i*sh - ph .. i*sh - ph + KH - 1, columns likewise
//   max: padding reads as -inf; indices[n, c, i, j] = ih * W + iw of the maximum within the
//        plane (first one on ties; a NaN wins and propagates), as PyTorch stores them
//   avg: sum of the window's in-image values / divisor, the divisor KH*KW (count_include_pad;
//        the window is clipped to the padded image) or the count of in-image values
// Backward routes dy to the argmax (max) or spreads dy / divisor over the window (avg).
// Every array is C-contiguous; the caller has checked the shapes and that ph <= KH/2,
// pw <= KW/2 (so every window holds at least one in-image value).
#pragma once

#include <cstdint>

namespace grimoire {

struct Pool2dShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t out_h() const { return (h + 2 * pad_h - kh) / stride_h + 1; }
  int64_t out_w() const { return (w + 2 * pad_w - kw) / stride_w + 1; }
};

// x (N, C, H, W) -> y (N, C, OH, OW), indices (N, C, OH, OW)
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int64_t* indices);
// dy (planes, out_size), indices (planes, out_size) -> dx (planes, in_size): dx[k] += dy at each
// plane's argmax k. planes = N*C, out_size = OH*OW, in_size = H*W (the indices carry the window).
// Returns false (dx then incomplete) if an index lies outside [0, in_size): indices come from
// the caller and are checked, never trusted.
bool max_pool2d_backward(int64_t planes, int64_t in_size, int64_t out_size, const float* dy,
                         const int64_t* indices, float* dx);

// x (N, C, H, W) -> y (N, C, OH, OW)
void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y, bool count_include_pad);
// dy (N, C, OH, OW) -> dx (N, C, H, W)
void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx, bool count_include_pad);

}  // namespace grimoire
