// Bindings for the norm family: grimoire.kernels.norm (layer_norm, rms_norm, batch_norm and backwards).
#include "grimoire/norm.h"

#include "checks.h"
#include "norm_shapes.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

// A float32 C-contiguous array argument.
struct Arr {
  py::array array;
  Strided<float> v;
};

Arr f32(const py::object& obj, const char* name, bool writable = false) {
  Arr a{require_ndarray(obj, name), {}};
  a.v = contiguous_view<float>(a.array, name, writable);
  return a;
}

py::array output_like(const Arr& x, const py::object& out, const Strided<float>& w, const Strided<float>& b) {
  if (out.is_none()) return empty<float>(x.v.shape);
  Arr o = f32(out, "out", /*writable=*/true);
  check_norm_out(o.v, x.v, w, b);
  return o.array;
}

py::tuple py_layer_norm(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj, double eps,
                     const py::object& out, bool rms) {
  const Arr x = f32(x_obj, "x");
  const auto [rows, dim] = norm_rows_dim(x.v, "x");
  const Strided<float> w = optional_vector<float>(w_obj, "weight", dim, "x's last axis");
  const Strided<float> b = rms ? Strided<float>{} : optional_vector<float>(b_obj, "bias", dim, "x's last axis");
  LayerNormParams p;
  p.rows = rows;
  p.dim = dim;
  p.eps = finite_float(eps, "eps", /*non_negative=*/true);
  py::array y = output_like(x, out, w, b);
  py::array_t<float> mean = empty<float>(leading_axes(x.v.shape)), rstd = empty<float>(leading_axes(x.v.shape));
  p.x = x.v.data;
  p.weight = w.data;
  p.bias = b.data;
  p.y = static_cast<float*>(y.mutable_data());
  p.mean = mean.mutable_data();
  p.rstd = rstd.mutable_data();
  {
    py::gil_scoped_release release;
    if (rms) rms_norm_forward(p);
    else layer_norm_forward(p);
  }
  if (rms) return py::make_tuple(y, rstd);
  return py::make_tuple(y, mean, rstd);
}

py::tuple py_layer_norm_backward(const py::object& gy_obj, const py::object& x_obj, const py::object& w_obj,
                              const py::object& mean_obj, const py::object& rstd_obj, bool rms) {
  const Arr gy = f32(gy_obj, "grad_y");
  const Arr x = f32(x_obj, "x");
  const Arr mean = rms ? Arr{} : f32(mean_obj, "mean");
  const Arr rstd = f32(rstd_obj, "rstd");
  const auto [rows, dim] = check_norm_backward(gy.v, x.v, rms ? nullptr : &mean.v, rstd.v);
  const Strided<float> w = optional_vector<float>(w_obj, "weight", dim, "x's last axis");
  py::array_t<float> gx = empty<float>(x.v.shape), gw = empty<float>({dim}), gb = empty<float>({dim});
  LayerNormBackwardParams p;
  p.rows = rows;
  p.dim = dim;
  p.grad_y = gy.v.data;
  p.x = x.v.data;
  p.weight = w.data;
  p.mean = rms ? nullptr : mean.v.data;
  p.rstd = rstd.v.data;
  p.grad_x = gx.mutable_data();
  p.grad_weight = gw.mutable_data();
  p.grad_bias = rms ? nullptr : gb.mutable_data();
  if (rows == 0) {
    std::fill(p.grad_weight, p.grad_weight + dim, 0.0f);
    std::fill(gb.mutable_data(), gb.mutable_data() + dim, 0.0f);
  }
  {
    py::gil_scoped_release release;
    if (rows > 0) {
      if (rms) rms_norm_backward(p);
      else layer_norm_backward(p);
    }
  }
  if (rms) return py::make_tuple(gx, gw);
  return py::make_tuple(gx, gw, gb);
}

py::tuple py_batch_norm(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj,
                     const py::object& rm_obj, const py::object& rv_obj, bool training, double momentum, double eps) {
  const Arr x = f32(x_obj, "x");
  BatchNormParams p;
  batch_norm_shape(x.v, "x", p.n, p.channels, p.spatial);
  const char* ref = "x's channel axis (axis 1)";
  const Strided<float> w = optional_vector<float>(w_obj, "weight", p.channels, ref);
  const Strided<float> b = optional_vector<float>(b_obj, "bias", p.channels, ref);
  const Strided<float> rm = optional_vector<float>(rm_obj, "running_mean", p.channels, ref, training);
  const Strided<float> rv = optional_vector<float>(rv_obj, "running_var", p.channels, ref, training);
  check_batch_norm(x.v, rm, rv, training, p.n, p.spatial);
  if (training) check_batch_norm_aliasing(w, b, rm, rv);
  p.training = training;
  p.momentum = checked_scalar(momentum, "momentum", between(0.0, 1.0));
  p.eps = checked_scalar(eps, "eps", at_least(0.0));
  py::array_t<float> y = empty<float>(x.v.shape), sm = empty<float>({p.channels}), sr = empty<float>({p.channels});
  p.x = x.v.data;
  p.weight = w.data;
  p.bias = b.data;
  p.running_mean = rm.data;
  p.running_var = rv.data;
  p.y = y.mutable_data();
  p.save_mean = sm.mutable_data();
  p.save_rstd = sr.mutable_data();
  {
    py::gil_scoped_release release;
    batch_norm_forward(p);
  }
  return py::make_tuple(y, sm, sr);
}

py::tuple py_batch_norm_backward(const py::object& gy_obj, const py::object& x_obj, const py::object& w_obj,
                              const py::object& mean_obj, const py::object& rstd_obj, bool training) {
  const Arr gy = f32(gy_obj, "grad_y");
  const Arr x = f32(x_obj, "x");
  BatchNormBackwardParams p;
  batch_norm_shape(x.v, "x", p.n, p.channels, p.spatial);
  require_same_shape(gy.v.shape, x.v.shape, "grad_y", "x");
  const char* ref = "x's channel axis (axis 1)";
  const Strided<float> w = optional_vector<float>(w_obj, "weight", p.channels, ref);
  const Strided<float> mean = optional_vector<float>(mean_obj, "save_mean", p.channels, ref);
  const Strided<float> rstd = optional_vector<float>(rstd_obj, "save_rstd", p.channels, ref);
  if (mean.data == nullptr || rstd.data == nullptr) throw py::value_error("save_mean and save_rstd are required");
  py::array_t<float> gx = empty<float>(x.v.shape), gw = empty<float>({p.channels}), gb = empty<float>({p.channels});
  p.grad_y = gy.v.data;
  p.x = x.v.data;
  p.weight = w.data;
  p.save_mean = mean.data;
  p.save_rstd = rstd.data;
  p.training = training;
  p.grad_x = gx.mutable_data();
  p.grad_weight = gw.mutable_data();
  p.grad_bias = gb.mutable_data();
  {
    py::gil_scoped_release release;
    batch_norm_backward(p);
  }
  return py::make_tuple(gx, gw, gb);
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("layer_norm",
        [](py::object x, py::object w, py::object b, double eps, py::object out) {
          return py_layer_norm(x, w, b, eps, out, false);
        },
        py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("eps"), py::arg("out") = py::none());
  m.def("rms_norm",
        [](py::object x, py::object w, double eps, py::object out) {
          return py_layer_norm(x, w, py::none(), eps, out, true);
        },
        py::arg("x"), py::arg("weight"), py::arg("eps"), py::arg("out") = py::none());
  m.def("layer_norm_backward",
        [](py::object gy, py::object x, py::object w, py::object mean, py::object rstd) {
          return py_layer_norm_backward(gy, x, w, mean, rstd, false);
        },
        py::arg("grad_y"), py::arg("x"), py::arg("weight"), py::arg("mean"), py::arg("rstd"));
  m.def("rms_norm_backward",
        [](py::object gy, py::object x, py::object w, py::object rstd) {
          return py_layer_norm_backward(gy, x, w, py::none(), rstd, true);
        },
        py::arg("grad_y"), py::arg("x"), py::arg("weight"), py::arg("rstd"));
  m.def("_set_norm_stream_threshold", &set_norm_stream_threshold, py::arg("bytes"),
        "layer_norm/rms_norm outputs of at least this many bytes use streaming stores; returns the old value "
        "(for benchmarks).");
  m.def("batch_norm", &py_batch_norm, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("running_mean"),
        py::arg("running_var"), py::arg("training"), py::arg("momentum"), py::arg("eps"));
  m.def("batch_norm_backward", &py_batch_norm_backward, py::arg("grad_y"), py::arg("x"), py::arg("weight"),
        py::arg("save_mean"), py::arg("save_rstd"), py::arg("training"));
}
