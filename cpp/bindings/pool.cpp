// Bindings for the pool family: grimoire.kernels.max_pool2d / avg_pool2d and their backward.
#include "grimoire/pool.h"

#include <pybind11/stl.h>

#include <utility>

#include "checks.h"
#include "pool_shapes.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

Strided<float> input4d(const py::object& obj, const char* name) {
  const py::array a = require_ndarray(obj, name);
  require_ndim(a, name, 4, 4);
  return contiguous_view<float>(a, name);
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
        const std::vector<int64_t> in = input_shape_arg(input_shape);
        const int64_t in_size = check_max_pool_backward(dy.shape, idx.shape, in);
        py::array_t<float> dx = empty<float>(in);
        float* dxp = dx.mutable_data();
        bool ok;
        {
          py::gil_scoped_release release;
          ok = max_pool2d_backward(in[0] * in[1], in_size, dy.shape[2] * dy.shape[3], dy.data, idx.data, dxp);
        }
        if (!ok)
          throw_bad_pool_indices(in_size);
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
        const Pool2dShape s = pool_shape(in, kernel, stride, padding);
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
