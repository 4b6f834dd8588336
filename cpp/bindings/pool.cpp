// Bindings for the pool family: grimoire.kernels.max_pool2d / avg_pool2d and their backward.
#include "grimoire/pool.h"

#include <pybind11/stl.h>

#include <utility>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

using Pair = std::pair<int64_t, int64_t>;

// The pooling geometry for an input of (N, C, H, W), checked: kernel and stride >= 1,
// 0 <= padding <= kernel/2 (PyTorch's rule: every window then holds an in-image value), and a
// kernel no larger than the padded input.
Pool2dShape pool_shape(const std::vector<int64_t>& in, Pair kernel, Pair stride, Pair padding,
                       const char* in_name = "x") {
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
  checked_numel(in, std::string(in_name) + " (the input)");
  checked_numel({s.n, s.c, s.out_h(), s.out_w()}, "the output");
  return s;
}

Strided<float> input4d(const py::object& obj, const char* name) {
  const py::array a = require_ndarray(obj, name);
  require_ndim(a, name, 4, 4);
  return contiguous_view<float>(a, name);
}

// input_shape as given by the caller: four non-negative sizes.
std::vector<int64_t> input_shape_arg(const std::vector<int64_t>& shape) {
  if (shape.size() != 4)
    throw py::value_error("input_shape must have 4 entries (N, C, H, W), got " + std::to_string(shape.size()));
  for (int64_t d : shape)
    if (d < 0) throw py::value_error("input_shape must be non-negative, got " + shape_str(shape));
  return shape;
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def(
      "max_pool2d",
      [](py::object x_obj, Pair kernel, Pair stride, Pair padding) {
        const Strided<float> x = input4d(x_obj, "x");
        const Pool2dShape s = pool_shape(x.shape, kernel, stride, padding);
        const std::vector<int64_t> out{s.n, s.c, s.out_h(), s.out_w()};
        py::array_t<float> y = empty<float>(out);
        py::array_t<int64_t> idx = empty<int64_t>(out);
        float* yp = y.mutable_data();
        int64_t* ip = idx.mutable_data();
        {
          py::gil_scoped_release release;
          max_pool2d_forward(s, x.data, yp, ip);
        }
        return py::make_tuple(y, idx);
      },
      py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"));

  m.def(
      "max_pool2d_backward",
      [](py::object dy_obj, py::object idx_obj, std::vector<int64_t> input_shape) {
        const Strided<float> dy = input4d(dy_obj, "grad_out");
        const py::array idx_arr = require_ndarray(idx_obj, "indices");
        const Strided<int64_t> idx = contiguous_view<int64_t>(idx_arr, "indices");
        require_same_shape(idx.shape, dy.shape, "indices", "grad_out");
        const std::vector<int64_t> in = input_shape_arg(input_shape);
        if (in[0] != dy.shape[0] || in[1] != dy.shape[1])
          throw py::value_error("input_shape " + shape_str(in) + " must share N and C with grad_out " +
                                shape_str(dy.shape));
        // A pooling with padding <= kernel / 2 has at most H + 1 output rows (and W + 1 columns).
        if (dy.shape[2] > in[2] + 1 || dy.shape[3] > in[3] + 1)
          throw py::value_error("grad_out " + shape_str(dy.shape) + " is larger than max_pool2d can make from input_shape " +
                                shape_str(in) + " (at most H + 1 by W + 1)");
        const int64_t in_size = checked_mul(in[2], in[3], "input_shape");
        checked_numel(in, "input_shape");
        py::array_t<float> dx = empty<float>(in);
        float* dxp = dx.mutable_data();
        bool ok;
        {
          py::gil_scoped_release release;
          ok = max_pool2d_backward(in[0] * in[1], in_size, dy.shape[2] * dy.shape[3], dy.data, idx.data, dxp);
        }
        if (!ok)
          throw py::value_error("indices must lie in [0, H*W) = [0, " + std::to_string(in_size) +
                                ") (flat positions within each input plane, as max_pool2d returns them)");
        return dx;
      },
      py::arg("grad_out"), py::arg("indices"), py::arg("input_shape"));

  m.def(
      "avg_pool2d",
      [](py::object x_obj, Pair kernel, Pair stride, Pair padding, bool count_include_pad) {
        const Strided<float> x = input4d(x_obj, "x");
        const Pool2dShape s = pool_shape(x.shape, kernel, stride, padding);
        py::array_t<float> y = empty<float>({s.n, s.c, s.out_h(), s.out_w()});
        float* yp = y.mutable_data();
        {
          py::gil_scoped_release release;
          avg_pool2d_forward(s, x.data, yp, count_include_pad);
        }
        return y;
      },
      py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("count_include_pad"));

  m.def(
      "avg_pool2d_backward",
      [](py::object dy_obj, std::vector<int64_t> input_shape, Pair kernel, Pair stride, Pair padding,
         bool count_include_pad) {
        const Strided<float> dy = input4d(dy_obj, "grad_out");
        const std::vector<int64_t> in = input_shape_arg(input_shape);
        const Pool2dShape s = pool_shape(in, kernel, stride, padding, "input_shape");
        require_same_shape(dy.shape, {s.n, s.c, s.out_h(), s.out_w()}, "grad_out", "the pooling's output");
        py::array_t<float> dx = empty<float>(in);
        float* dxp = dx.mutable_data();
        {
          py::gil_scoped_release release;
          avg_pool2d_backward(s, dy.data, dxp, count_include_pad);
        }
        return dx;
      },
      py::arg("grad_out"), py::arg("input_shape"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("count_include_pad"));
}
