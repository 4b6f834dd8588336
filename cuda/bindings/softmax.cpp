// grimoire._cuda softmax / log_softmax / backwards / cross_entropy: the twins of _core's (same
// names, signatures, returns; the checks of softmax_shapes.h), on device arrays, on CuPy's stream.
#include "softmax.cuh"

#include "device.h"
#include "softmax_shapes.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

py::object forward(const py::object& x_obj, bool log) {
  const Strided<float> x = cuda_contiguous_view<float>(x_obj, "x");
  require_view_ndim(x, "x", 1, 64);
  auto [y_arr, y] = empty_view<float>(x.shape, "y");
  SoftmaxParams p;
  std::tie(p.rows, p.dim) = softmax_rows_dim(x);
  p.x = x.data;
  p.out = y.data;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(log ? cuda::log_softmax_forward(p, stream) : cuda::softmax_forward(p, stream), log ? "log_softmax" : "softmax");
  }
  return y_arr;
}

py::object backward(const py::object& gy_obj, const py::object& y_obj, bool log) {
  const Strided<float> gy = cuda_contiguous_view<float>(gy_obj, "grad_y");
  const Strided<float> y = cuda_contiguous_view<float>(y_obj, "y");
  require_view_ndim(y, "y", 1, 64);
  require_same_shape(gy.shape, y.shape, "grad_y", "y");
  auto [gx_arr, gx] = empty_view<float>(y.shape, "grad_x");
  SoftmaxParams p;
  std::tie(p.rows, p.dim) = softmax_rows_dim(y);
  p.x = gy.data;
  p.y = y.data;
  p.out = gx.data;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(log ? cuda::log_softmax_backward(p, stream) : cuda::softmax_backward(p, stream),
          log ? "log_softmax_backward" : "softmax_backward");
  }
  return gx_arr;
}

// The loss needs the targets checked and the reduction on the host (a Python float, as the CPU
// returns): one small device-to-host copy of CrossEntropyResult at the end, synchronising.
py::object cross_entropy_py(const py::object& logits_obj, const py::object& targets_obj, const std::string& reduction,
                            int64_t ignore_index, double label_smoothing, bool return_grad) {
  const Strided<float> logits = cuda_contiguous_view<float>(logits_obj, "logits");
  const Strided<int64_t> targets = cuda_contiguous_view<int64_t>(targets_obj, "targets");
  require_view_ndim(logits, "logits", 2, 2);
  require_view_ndim(targets, "targets", 1, 1);
  CrossEntropyParams p;
  check_cross_entropy(logits, targets, reduction, label_smoothing, p);
  p.logits = logits.data;
  p.targets = targets.data;
  p.ignore_index = ignore_index;
  auto [losses_arr, losses] = empty_view<float>({p.n}, "losses");
  p.losses = losses.data;
  py::object grad_arr = py::none();
  if (return_grad) {
    Strided<float> grad;
    std::tie(grad_arr, grad) = empty_view<float>(logits.shape, "grad");
    p.grad = grad.data;
  }
  static_assert(sizeof(cuda::CrossEntropyResult) % sizeof(int64_t) == 0);
  auto [result_arr, result] = empty_view<int64_t>({sizeof(cuda::CrossEntropyResult) / sizeof(int64_t)}, "result");
  cuda::CrossEntropyResult host{};
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    auto* dev = reinterpret_cast<cuda::CrossEntropyResult*>(result.data);
    check(cuda::cross_entropy(p, dev, stream), "cross_entropy");
    check(cudaMemcpyAsync(&host, dev, sizeof(host), cudaMemcpyDeviceToHost, stream), "cross_entropy (copy back)");
    check(cudaStreamSynchronize(stream), "cross_entropy (synchronise)");
  }
  if (host.bad_row >= 0) throw_bad_target(host.bad_row, host.bad_target, p.classes, ignore_index);
  py::object loss = p.reduction == Reduction::none ? losses_arr : py::object(py::float_(static_cast<float>(host.total)));
  if (return_grad) return py::make_tuple(loss, grad_arr);
  return loss;
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax", [](py::object x) { return forward(x, false); }, py::arg("x"));
  m.def("log_softmax", [](py::object x) { return forward(x, true); }, py::arg("x"));
  m.def("softmax_backward", [](py::object gy, py::object y) { return backward(gy, y, false); }, py::arg("grad_y"),
        py::arg("y"));
  m.def("log_softmax_backward", [](py::object gy, py::object y) { return backward(gy, y, true); },
        py::arg("grad_y"), py::arg("y"));
  m.def("cross_entropy", &cross_entropy_py, py::arg("logits"), py::arg("targets"), py::arg("reduction"),
        py::arg("ignore_index"), py::arg("label_smoothing"), py::arg("return_grad"));
  register_family(m, "softmax", {"softmax_forward_kernel", "softmax_backward_kernel", "cross_entropy_targets_kernel",
                                 "cross_entropy_rows_kernel", "cross_entropy_reduce_kernel"});
}
