// The pool family's shape checks, shared by the CPU binding (cpp/bindings/pool.cpp) and the CUDA
// binding (cuda/bindings/pool.cpp): one function, one message on either device.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "checks.h"
#include "grimoire/pool.h"

namespace grimoire::bind {

using Pair = std::pair<int64_t, int64_t>;

// The pooling geometry for an input of (N, C, H, W), checked: kernel and stride >= 1,
// 0 <= padding <= kernel/2 (PyTorch's rule: every window then holds an in-image value), and a
// kernel no larger than the padded input.
inline Pool2dShape pool_shape(const std::vector<int64_t>& in, Pair kernel, Pair stride, Pair padding) {
  require_at_least(kernel.first, 1, "kernel_size[0]");
  require_at_least(kernel.second, 1, "kernel_size[1]");
  require_at_least(stride.first, 1, "stride[0]");
  require_at_least(stride.second, 1, "stride[1]");
  require_at_least(padding.first, 0, "padding[0]");
  require_at_least(padding.second, 0, "padding[1]");
  if (padding.first > kernel.first / 2 || padding.second > kernel.second / 2)
    throw py::value_error("padding must be at most half the kernel size: kernel_size (" +
                          std::to_string(kernel.first) + ", " + std::to_string(kernel.second) + "), padding (" +
                          std::to_string(padding.first) + ", " + std::to_string(padding.second) + ")");
  Pool2dShape s;
  s.n = in[0]; s.c = in[1]; s.h = in[2]; s.w = in[3];
  s.kh = kernel.first; s.kw = kernel.second;
  s.stride_h = stride.first; s.stride_w = stride.second;
  s.pad_h = padding.first; s.pad_w = padding.second;
  const int64_t ph = checked_add(s.h, checked_mul(2, s.pad_h, "padding"), "padded height");
  const int64_t pw = checked_add(s.w, checked_mul(2, s.pad_w, "padding"), "padded width");
  if (ph < s.kh || pw < s.kw)
    throw py::value_error("kernel_size " + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
                          " is larger than the padded input " + std::to_string(ph) + "x" + std::to_string(pw) +
                          " (output size would be <= 0)");
  checked_numel(in, "x or input_shape (the input)");
  checked_numel({s.n, s.c, s.out_h(), s.out_w()}, "the output");
  return s;
}

// input_shape as given by the caller: four non-negative sizes.
inline std::vector<int64_t> input_shape_arg(const std::vector<int64_t>& shape) {
  if (shape.size() != 4)
    throw py::value_error("input_shape must have 4 entries (N, C, H, W), got " + std::to_string(shape.size()));
  for (int64_t d : shape)
    if (d < 0) throw py::value_error("input_shape must be non-negative, got " + shape_str(shape));
  return shape;
}

// max_pool2d_backward's shapes: indices of grad_out's shape, input_shape sharing N and C with it.
// Returns H*W, the size of an input plane.
inline int64_t check_max_pool_backward(const std::vector<int64_t>& dy, const std::vector<int64_t>& idx,
                                       const std::vector<int64_t>& in) {
  require_same_shape(idx, dy, "indices", "grad_out");
  if (in[0] != dy[0] || in[1] != dy[1])
    throw py::value_error("input_shape " + shape_str(in) + " must share N and C with grad_out " + shape_str(dy));
  // A pooling with padding <= kernel / 2 has at most H + 1 output rows (and W + 1 columns).
  if (dy[2] > in[2] + 1 || dy[3] > in[3] + 1)
    throw py::value_error("grad_out " + shape_str(dy) + " is larger than max_pool2d can make from input_shape " +
                          shape_str(in) + " (at most H + 1 by W + 1)");
  const int64_t in_size = checked_mul(in[2], in[3], "input_shape");
  checked_numel(in, "input_shape");
  return in_size;
}

[[noreturn]] inline void throw_bad_pool_indices(int64_t in_size) {
  throw py::value_error("indices must lie in [0, H*W) = [0, " + std::to_string(in_size) +
                        ") (flat positions within each input plane, as max_pool2d returns them)");
}

}  // namespace grimoire::bind
