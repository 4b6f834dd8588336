// Bindings for the softmax family: grimoire.kernels.softmax (softmax, log_softmax, backwards, cross_entropy).
#include "grimoire/softmax.h"

#include "checks.h"
#include "softmax_shapes.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

py::array forward(const py::object& x_obj, bool log) {
  py::array xa = require_ndarray(x_obj, "x");
  require_ndim(xa, "x", 1, 64);
  const Strided<float> x = contiguous_view<float>(xa, "x");
  py::array_t<float> y = empty<float>(x.shape);
  SoftmaxParams p;
  std::tie(p.rows, p.dim) = softmax_rows_dim(x);
  p.x = x.data;
  p.out = y.mutable_data();
  {
    py::gil_scoped_release release;
    if (log) log_softmax_forward(p);
    else softmax_forward(p);
  }
  return y;
}

py::array backward(const py::object& gy_obj, const py::object& y_obj, bool log) {
  py::array gya = require_ndarray(gy_obj, "grad_y"), ya = require_ndarray(y_obj, "y");
  require_ndim(ya, "y", 1, 64);
  const Strided<float> gy = contiguous_view<float>(gya, "grad_y");
  const Strided<float> y = contiguous_view<float>(ya, "y");
  require_same_shape(gy.shape, y.shape, "grad_y", "y");
  py::array_t<float> gx = empty<float>(y.shape);
  SoftmaxParams p;
  std::tie(p.rows, p.dim) = softmax_rows_dim(y);
  p.x = gy.data;
  p.y = y.data;
  p.out = gx.mutable_data();
  {
    py::gil_scoped_release release;
    if (log) log_softmax_backward(p);
    else softmax_backward(p);
  }
  return gx;
}

py::object cross_entropy_py(const py::object& logits_obj, const py::object& targets_obj, const std::string& reduction,
                            int64_t ignore_index, double label_smoothing, bool return_grad) {
  py::array la = require_ndarray(logits_obj, "logits"), ta = require_ndarray(targets_obj, "targets");
  require_ndim(la, "logits", 2, 2);
  require_ndim(ta, "targets", 1, 1);
  const Strided<float> logits = contiguous_view<float>(la, "logits");
  const Strided<int64_t> targets = contiguous_view<int64_t>(ta, "targets");
  CrossEntropyParams p;
  check_cross_entropy(logits, targets, reduction, label_smoothing, p);
  for (int64_t i = 0; i < p.n; ++i)
    if (is_bad_target(targets.data[i], p.classes, ignore_index)) throw_bad_target(i, targets.data[i], p.classes, ignore_index);
  p.logits = logits.data;
  p.targets = targets.data;
  p.ignore_index = ignore_index;
  py::array_t<float> losses = empty<float>({p.n});
  p.losses = losses.mutable_data();
  py::array_t<float> grad;
  if (return_grad) {
    grad = empty<float>(logits.shape);
    p.grad = grad.mutable_data();
  }
  double total;
  {
    py::gil_scoped_release release;
    total = cross_entropy(p);
  }
  py::object loss = p.reduction == Reduction::none ? py::object(losses) : py::object(py::float_(static_cast<float>(total)));
  if (return_grad) return py::make_tuple(loss, grad);
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
}
