// The shape rules of a conv2d call as both bindings see them (grimoire._core on host arrays,
// grimoire._cuda on device arrays): one place for the checks and their messages.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "checks.h"
#include "grimoire/conv.h"

namespace grimoire::bind {

using ConvPair = std::pair<int64_t, int64_t>;

// The convolution of x (N, C_in, H, W) with w (C_out, C_in/groups, KH, KW); the output shape
// goes to y_shape. ValueError naming the argument for every inconsistency.
inline Conv2dShape conv2d_shape(const std::vector<int64_t>& x, const std::vector<int64_t>& w, ConvPair stride,
                                ConvPair padding, ConvPair dilation, int64_t groups, std::vector<int64_t>& y_shape) {
  require_at_least(stride.first, 1, "stride[0]");
  require_at_least(stride.second, 1, "stride[1]");
  require_at_least(padding.first, 0, "padding[0]");
  require_at_least(padding.second, 0, "padding[1]");
  require_at_least(dilation.first, 1, "dilation[0]");
  require_at_least(dilation.second, 1, "dilation[1]");
  require_at_least(groups, 1, "groups");
  checked_numel(x, "x");
  checked_numel(w, "w");
  Conv2dShape s;
  s.n = x[0]; s.c_in = x[1]; s.h = x[2]; s.w = x[3];
  s.c_out = w[0]; s.kh = w[2]; s.kw = w[3];
  s.stride_h = stride.first; s.stride_w = stride.second;
  s.pad_h = padding.first; s.pad_w = padding.second;
  s.dil_h = dilation.first; s.dil_w = dilation.second;
  s.groups = groups;
  if (s.kh < 1 || s.kw < 1)
    throw py::value_error("w's kernel size must be at least 1x1, got " + std::to_string(s.kh) + "x" +
                          std::to_string(s.kw) + " (w shape " + shape_str(w) + ")");
  if (s.c_in % groups != 0)
    throw py::value_error("x's channels (" + std::to_string(s.c_in) + ") must be divisible by groups (" +
                          std::to_string(groups) + ")");
  if (s.c_out % groups != 0)
    throw py::value_error("w's output channels (" + std::to_string(s.c_out) + ") must be divisible by groups (" +
                          std::to_string(groups) + ")");
  if (w[1] != s.c_in / groups)
    throw py::value_error("w must have shape (C_out, C_in/groups, KH, KW) with C_in/groups = " +
                          std::to_string(s.c_in / groups) + ", got " + shape_str(w));
  const int64_t ph = checked_add(s.h, checked_mul(2, s.pad_h, "padding"), "padded height");
  const int64_t pw = checked_add(s.w, checked_mul(2, s.pad_w, "padding"), "padded width");
  const char* what = "the dilated kernel, dilation * (kernel size - 1) + 1,";
  const int64_t eh = checked_add(checked_mul(s.dil_h, s.kh - 1, what), 1, what);
  const int64_t ew = checked_add(checked_mul(s.dil_w, s.kw - 1, what), 1, what);
  if (ph < eh || pw < ew)
    throw py::value_error("the (dilated) kernel " + std::to_string(eh) + "x" + std::to_string(ew) +
                          " is larger than the padded input " + std::to_string(ph) + "x" + std::to_string(pw) +
                          " (output size would be <= 0)");
  y_shape = {s.n, s.c_out, s.out_h(), s.out_w()};
  checked_numel(y_shape, "the output");
  checked_numel({s.c_in / groups, s.kh, s.kw, s.out_h(), s.out_w()}, "the im2col matrix");
  return s;
}

}  // namespace grimoire::bind
