// Bindings for the conv2d family: grimoire.kernels.conv2d / conv1d and their backward.
#include "grimoire/conv.h"

#include <pybind11/stl.h>

#include <utility>

#include "checks.h"
#include "conv_operands.h"

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
  c.s = conv2d_shape(c.x.shape, c.w.shape, stride, padding, dilation, groups, c.y_shape);
  const Conv2dShape& s = c.s;
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
