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

py::tuple batch_norm_py(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj,
                        const py::object& rm_obj, const py::object& rv_obj, bool training, double momentum, double eps) {
  const Strided<float> x = f32(x_obj, "x");
  BatchNormParams p;
  batch_norm_shape(x, "x", p.n, p.channels, p.spatial);
  const char* ref = "x's channel axis (axis 1)";
  const Strided<float> w = cuda_optional_vector<float>(w_obj, "weight", p.channels, ref);
  const Strided<float> b = cuda_optional_vector<float>(b_obj, "bias", p.channels, ref);
  const Strided<float> rm = cuda_optional_vector<float>(rm_obj, "running_mean", p.channels, ref, training);
  const Strided<float> rv = cuda_optional_vector<float>(rv_obj, "running_var", p.channels, ref, training);
  check_batch_norm(x, rm, rv, training, p.n, p.spatial);
  p.training = training;
  p.momentum = finite_float(momentum, "momentum");
  p.eps = finite_float(eps, "eps", /*non_negative=*/true);
  auto [y_arr, y] = empty_view<float>(x.shape, "y");
  auto [sm_arr, sm] = empty_view<float>({p.channels}, "save_mean");
  auto [sr_arr, sr] = empty_view<float>({p.channels}, "save_rstd");
  auto [scratch_arr, scratch] = empty_view<double>({cuda::batch_norm_scratch(p.n, p.channels, p.spatial)}, "scratch");
  p.x = x.data;
  p.weight = w.data;
  p.bias = b.data;
  p.running_mean = rm.data;
  p.running_var = rv.data;
  p.y = y.data;
  p.save_mean = sm.data;
  p.save_rstd = sr.data;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(cuda::batch_norm_forward(p, scratch.data, stream), "batch_norm");
  }
  return py::make_tuple(y_arr, sm_arr, sr_arr);
}

py::tuple batch_norm_backward_py(const py::object& gy_obj, const py::object& x_obj, const py::object& w_obj,
                                 const py::object& mean_obj, const py::object& rstd_obj, bool training) {
  const Strided<float> gy = f32(gy_obj, "grad_y");
  const Strided<float> x = f32(x_obj, "x");
  BatchNormBackwardParams p;
  batch_norm_shape(x, "x", p.n, p.channels, p.spatial);
  require_same_shape(gy.shape, x.shape, "grad_y", "x");
  const char* ref = "x's channel axis (axis 1)";
  const Strided<float> w = cuda_optional_vector<float>(w_obj, "weight", p.channels, ref);
  const Strided<float> mean = cuda_optional_vector<float>(mean_obj, "save_mean", p.channels, ref);
  const Strided<float> rstd = cuda_optional_vector<float>(rstd_obj, "save_rstd", p.channels, ref);
  if (mean.data == nullptr || rstd.data == nullptr) throw py::value_error("save_mean and save_rstd are required");
  auto [gx_arr, gx] = empty_view<float>(x.shape, "grad_x");
  auto [gw_arr, gw] = empty_view<float>({p.channels}, "grad_weight");
  auto [gb_arr, gb] = empty_view<float>({p.channels}, "grad_bias");
  auto [scratch_arr, scratch] = empty_view<double>({cuda::batch_norm_scratch(p.n, p.channels, p.spatial)}, "scratch");
  p.grad_y = gy.data;
  p.x = x.data;
  p.weight = w.data;
  p.save_mean = mean.data;
  p.save_rstd = rstd.data;
  p.training = training;
  p.grad_x = gx.data;
  p.grad_weight = gw.data;
  p.grad_bias = gb.data;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(cuda::batch_norm_backward(p, scratch.data, stream), "batch_norm_backward");
  }
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
  m.def("batch_norm", &batch_norm_py, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("running_mean"),
        py::arg("running_var"), py::arg("training"), py::arg("momentum"), py::arg("eps"));
  m.def("batch_norm_backward", &batch_norm_backward_py, py::arg("grad_y"), py::arg("x"), py::arg("weight"),
        py::arg("save_mean"), py::arg("save_rstd"), py::arg("training"));
  register_family(m, "norm", {"norm_forward_kernel", "norm_backward_kernel", "norm_column_sum_kernel",
                              "batch_partial_kernel", "batch_stats_kernel", "batch_affine_kernel",
                              "batch_backward_coef_kernel"});
}
