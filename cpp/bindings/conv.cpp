// Bindings for the conv2d family: grimoire.kernels.conv2d / conv1d and their backward.
#include "grimoire/conv.h"

#include <pybind11/stl.h>

#include <utility>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

using Pair = std::pair<int64_t, int64_t>;

// The checked arguments of one convolution.
struct Conv {
  Conv2dShape s;
  Strided<float> x, w;
  const float* b = nullptr;
  std::vector<int64_t> y_shape;
};

Conv prepare(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj, Pair stride,
             Pair padding, Pair dilation, int64_t groups) {
  Conv c;
  const py::array x = require_ndarray(x_obj, "x"), w = require_ndarray(w_obj, "w");
  require_ndim(x, "x", 4, 4);
  require_ndim(w, "w", 4, 4);
  c.x = contiguous_view<float>(x, "x");
  c.w = contiguous_view<float>(w, "w");
  require_at_least(stride.first, 1, "stride[0]");
  require_at_least(stride.second, 1, "stride[1]");
  require_at_least(padding.first, 0, "padding[0]");
  require_at_least(padding.second, 0, "padding[1]");
  require_at_least(dilation.first, 1, "dilation[0]");
  require_at_least(dilation.second, 1, "dilation[1]");
  require_at_least(groups, 1, "groups");
  checked_numel(c.x.shape, "x");
  checked_numel(c.w.shape, "w");
  Conv2dShape& s = c.s;
  s.n = c.x.shape[0]; s.c_in = c.x.shape[1]; s.h = c.x.shape[2]; s.w = c.x.shape[3];
  s.c_out = c.w.shape[0]; s.kh = c.w.shape[2]; s.kw = c.w.shape[3];
  s.stride_h = stride.first; s.stride_w = stride.second;
  s.pad_h = padding.first; s.pad_w = padding.second;
  s.dil_h = dilation.first; s.dil_w = dilation.second;
  s.groups = groups;
  if (s.kh < 1 || s.kw < 1)
    throw py::value_error("w's kernel size must be at least 1x1, got " + std::to_string(s.kh) + "x" +
                          std::to_string(s.kw) + " (w shape " + shape_str(c.w.shape) + ")");
  if (s.c_in % groups != 0)
    throw py::value_error("x's channels (" + std::to_string(s.c_in) + ") must be divisible by groups (" +
                          std::to_string(groups) + ")");
  if (s.c_out % groups != 0)
    throw py::value_error("w's output channels (" + std::to_string(s.c_out) + ") must be divisible by groups (" +
                          std::to_string(groups) + ")");
  if (c.w.shape[1] != s.c_in / groups)
    throw py::value_error("w must have shape (C_out, C_in/groups, KH, KW) with C_in/groups = " +
                          std::to_string(s.c_in / groups) + ", got " + shape_str(c.w.shape));
  const int64_t ph = checked_add(s.h, checked_mul(2, s.pad_h, "padding"), "padded height");
  const int64_t pw = checked_add(s.w, checked_mul(2, s.pad_w, "padding"), "padded width");
  const int64_t eh = checked_add(checked_mul(s.dil_h, s.kh - 1, "dilated kernel"), 1, "dilated kernel");
  const int64_t ew = checked_add(checked_mul(s.dil_w, s.kw - 1, "dilated kernel"), 1, "dilated kernel");
  if (ph < eh || pw < ew)
    throw py::value_error("the (dilated) kernel " + std::to_string(eh) + "x" + std::to_string(ew) +
                          " is larger than the padded input " + std::to_string(ph) + "x" + std::to_string(pw) +
                          " (output size would be <= 0)");
  c.y_shape = {s.n, s.c_out, s.out_h(), s.out_w()};
  checked_numel(c.y_shape, "the output");
  checked_numel({s.c_in / groups, s.kh, s.kw, s.out_h(), s.out_w()}, "the im2col matrix");
  if (!b_obj.is_none()) {
    const py::array b = require_ndarray(b_obj, "b");
    require_ndim(b, "b", 1, 1);
    const Strided<float> bv = contiguous_view<float>(b, "b");
    require_same_shape(bv.shape, {s.c_out}, "b", "w's output channels");
    c.b = bv.data;
  }
  return c;
}

py::array forward(const py::object& x, const py::object& w, const py::object& b, Pair stride, Pair padding,
                  Pair dilation, int64_t groups, bool reference) {
  const Conv c = prepare(x, w, b, stride, padding, dilation, groups);
  py::array_t<float> y = empty<float>(c.y_shape);
  float* yp = y.mutable_data();
  {
    py::gil_scoped_release release;
    if (reference) conv2d_forward_reference(c.s, c.x.data, c.w.data, c.b, yp);
    else conv2d_forward(c.s, c.x.data, c.w.data, c.b, yp);
  }
  return y;
}

py::tuple backward(const py::object& dy_obj, const py::object& x, const py::object& w, Pair stride, Pair padding,
                   Pair dilation, int64_t groups, bool need_x, bool need_w, bool need_b, bool reference) {
  const Conv c = prepare(x, w, py::none(), stride, padding, dilation, groups);
  const py::array dy = require_ndarray(dy_obj, "grad_out");
  require_ndim(dy, "grad_out", 4, 4);
  const Strided<float> dyv = contiguous_view<float>(dy, "grad_out");
  require_same_shape(dyv.shape, c.y_shape, "grad_out", "the convolution's output");
  py::object dx = py::none(), dw = py::none(), db = py::none();
  float *dxp = nullptr, *dwp = nullptr, *dbp = nullptr;
  if (need_x) {
    auto a = empty<float>(c.x.shape);
    dxp = a.mutable_data();
    dx = a;
  }
  if (need_w) {
    auto a = empty<float>(c.w.shape);
    dwp = a.mutable_data();
    dw = a;
  }
  if (need_b) {
    auto a = empty<float>({c.s.c_out});
    dbp = a.mutable_data();
    db = a;
  }
  {
    py::gil_scoped_release release;
    if (reference) conv2d_backward_reference(c.s, dyv.data, c.x.data, c.w.data, dxp, dwp, dbp);
    else conv2d_backward(c.s, dyv.data, c.x.data, c.w.data, dxp, dwp, dbp);
  }
  return py::make_tuple(dx, dw, db);
}

}  // namespace

void bind_conv(py::module_& m) {
  for (const bool reference : {false, true}) {
    const char* fwd = reference ? "conv2d_reference" : "conv2d";
    const char* bwd = reference ? "conv2d_backward_reference" : "conv2d_backward";
    m.def(
        fwd,
        [reference](py::object x, py::object w, py::object b, Pair stride, Pair padding, Pair dilation,
                    int64_t groups) { return forward(x, w, b, stride, padding, dilation, groups, reference); },
        py::arg("x"), py::arg("w"), py::arg("b"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("groups"));
    m.def(
        bwd,
        [reference](py::object dy, py::object x, py::object w, Pair stride, Pair padding, Pair dilation,
                    int64_t groups, bool need_x, bool need_w, bool need_b) {
          return backward(dy, x, w, stride, padding, dilation, groups, need_x, need_w, need_b, reference);
        },
        py::arg("grad_out"), py::arg("x"), py::arg("w"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"), py::arg("need_x"), py::arg("need_w"), py::arg("need_b"));
  }
}
