// grimoire._cuda layer_norm / rms_norm and their backwards: the twins of _core's (same names,
// signatures, returns; the shape checks of norm_shapes.h), on device arrays, on CuPy's stream.
#include "norm.cuh"

#include "device.h"
#include "norm_shapes.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

Strided<float> f32(const py::object& obj, const char* name, bool writable = false) {
  return cuda_contiguous_view<float>(obj, name, writable);
}

py::tuple norm_forward(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj, double eps,
                       const py::object& out, bool rms) {
  const Strided<float> x = f32(x_obj, "x");
  const auto [rows, dim] = norm_rows_dim(x, "x");
  const Strided<float> w = cuda_optional_vector<float>(w_obj, "weight", dim, "x's last axis");
  const Strided<float> b = rms ? Strided<float>{} : cuda_optional_vector<float>(b_obj, "bias", dim, "x's last axis");
  LayerNormParams p;
  p.rows = rows;
  p.dim = dim;
  p.eps = finite_float(eps, "eps", /*non_negative=*/true);
  py::object y_arr = out;
  Strided<float> y;
  if (out.is_none()) {
    std::tie(y_arr, y) = empty_view<float>(x.shape, "out");
  } else {
    y = f32(out, "out", /*writable=*/true);
    check_norm_out(y, x);
  }
  auto [mean_arr, mean] = empty_view<float>(leading_axes(x.shape), "mean");
  auto [rstd_arr, rstd] = empty_view<float>(leading_axes(x.shape), "rstd");
  p.x = x.data;
  p.weight = w.data;
  p.bias = b.data;
  p.y = y.data;
  p.mean = mean.data;
  p.rstd = rstd.data;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(rms ? cuda::rms_norm_forward(p, stream) : cuda::layer_norm_forward(p, stream), rms ? "rms_norm" : "layer_norm");
  }
  if (rms) return py::make_tuple(y_arr, rstd_arr);
  return py::make_tuple(y_arr, mean_arr, rstd_arr);
}

py::tuple norm_backward(const py::object& gy_obj, const py::object& x_obj, const py::object& w_obj,
                        const py::object& mean_obj, const py::object& rstd_obj, bool rms) {
  const Strided<float> gy = f32(gy_obj, "grad_y");
  const Strided<float> x = f32(x_obj, "x");
  const Strided<float> mean = rms ? Strided<float>{} : f32(mean_obj, "mean");
  const Strided<float> rstd = f32(rstd_obj, "rstd");
  const auto [rows, dim] = check_norm_backward(gy, x, rms ? nullptr : &mean, rstd);
  const Strided<float> w = cuda_optional_vector<float>(w_obj, "weight", dim, "x's last axis");
  auto [gx_arr, gx] = empty_view<float>(x.shape, "grad_x");
  auto [gw_arr, gw] = empty_view<float>({dim}, "grad_weight");
  auto [gb_arr, gb] = empty_view<float>({dim}, "grad_bias");
  // The column partials of grad_weight/grad_bias; CuPy's pool reuses it in stream order.
  auto [scratch_arr, scratch] = empty_view<float>({cuda::norm_backward_scratch(rows, dim, rms)}, "scratch");
  LayerNormBackwardParams p;
  p.rows = rows;
  p.dim = dim;
  p.grad_y = gy.data;
  p.x = x.data;
  p.weight = w.data;
  p.mean = rms ? nullptr : mean.data;
  p.rstd = rstd.data;
  p.grad_x = gx.data;
  p.grad_weight = gw.data;
  p.grad_bias = rms ? nullptr : gb.data;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(rms ? cuda::rms_norm_backward(p, scratch.data, stream) : cuda::layer_norm_backward(p, scratch.data, stream),
          rms ? "rms_norm_backward" : "layer_norm_backward");
  }
  if (rms) return py::make_tuple(gx_arr, gw_arr);
  return py::make_tuple(gx_arr, gw_arr, gb_arr);
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("layer_norm",
        [](py::object x, py::object w, py::object b, double eps, py::object out) {
          return norm_forward(x, w, b, eps, out, false);
        },
        py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("eps"), py::arg("out") = py::none());
  m.def("rms_norm",
        [](py::object x, py::object w, double eps, py::object out) { return norm_forward(x, w, py::none(), eps, out, true); },
        py::arg("x"), py::arg("weight"), py::arg("eps"), py::arg("out") = py::none());
  m.def("layer_norm_backward",
        [](py::object gy, py::object x, py::object w, py::object mean, py::object rstd) {
          return norm_backward(gy, x, w, mean, rstd, false);
        },
        py::arg("grad_y"), py::arg("x"), py::arg("weight"), py::arg("mean"), py::arg("rstd"));
  m.def("rms_norm_backward",
        [](py::object gy, py::object x, py::object w, py::object rstd) {
          return norm_backward(gy, x, w, py::none(), rstd, true);
        },
        py::arg("grad_y"), py::arg("x"), py::arg("weight"), py::arg("rstd"));
  register_family(m, "norm", {"norm_forward_kernel", "norm_backward_kernel", "norm_column_sum_kernel"});
}
