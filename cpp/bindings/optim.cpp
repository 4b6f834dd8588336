// Bindings for the optim family: grimoire.kernels.optim (adam_step, sgd_step, clip_grad_norm).
// Every array is updated in place, so each must be float32, C-contiguous, writable where it is
// written, of the parameter's shape, and must not overlap another: no copy is ever made.
#include "grimoire/optim.h"

#include <cmath>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

struct Named {
  const char* name;
  Strided<float> v;
};

Strided<float> f32_like(const py::object& obj, const char* name, bool writable, const Strided<float>* like) {
  Strided<float> v = contiguous_view<float>(require_ndarray(obj, name), name, writable);
  if (like) require_same_shape(v.shape, like->shape, name, "param");
  return v;
}

void require_disjoint(const std::vector<Named>& arrays) {
  for (size_t i = 0; i < arrays.size(); ++i)
    for (size_t j = i + 1; j < arrays.size(); ++j)
      if (contiguous_overlap(arrays[i].v, arrays[j].v))
        throw py::value_error(std::string(arrays[i].name) + " and " + arrays[j].name +
                              " must not share memory (they are read and written in place)");
}

void adam_step_py(const py::object& param, const py::object& grad, const py::object& m, const py::object& v,
                  int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                  bool amsgrad, const py::object& max_v) {
  AdamParams p;
  const Strided<float> pv = f32_like(param, "param", true, nullptr);
  std::vector<Named> arrays = {{"param", pv},
                               {"grad", f32_like(grad, "grad", false, &pv)},
                               {"m", f32_like(m, "m", true, &pv)},
                               {"v", f32_like(v, "v", true, &pv)}};
  if (amsgrad) {
    if (max_v.is_none()) throw py::value_error("amsgrad=True needs max_v (the running max of v, zeros at the start)");
    arrays.push_back({"max_v", f32_like(max_v, "max_v", true, &pv)});
  } else if (!max_v.is_none()) {
    throw py::value_error("max_v is only used with amsgrad=True");
  }
  require_disjoint(arrays);
  if (step < 1) throw py::value_error("step must be >= 1 (the number of this step), got " + std::to_string(step));
  // Checked as the float32 the kernel's constants become; the driver keeps the doubles.
  const Interval unit_open{0.0, 1.0, false, true};
  checked_scalar(lr, "lr", at_least(0.0));
  checked_scalar(beta1, "beta1", unit_open);
  checked_scalar(beta2, "beta2", unit_open);
  checked_scalar(eps, "eps", at_least(0.0));
  checked_scalar(weight_decay, "weight_decay", at_least(0.0));
  checked_scalar(lr * weight_decay, "lr * weight_decay", at_least(0.0));
  p.n = pv.size();
  p.param = pv.data;
  p.grad = arrays[1].v.data;
  p.m = arrays[2].v.data;
  p.v = arrays[3].v.data;
  p.max_v = amsgrad ? arrays[4].v.data : nullptr;
  p.step = step;
  p.lr = lr;
  p.beta1 = beta1;
  p.beta2 = beta2;
  p.eps = eps;
  p.weight_decay = weight_decay;
  p.decoupled = decoupled;
  p.amsgrad = amsgrad;
  py::gil_scoped_release release;
  adam_step(p);
}

void sgd_step_py(const py::object& param, const py::object& grad, const py::object& buf, double lr, double momentum,
                 double dampening, bool nesterov, double weight_decay, bool first_step) {
  SgdParams p;
  const Strided<float> pv = f32_like(param, "param", true, nullptr);
  std::vector<Named> arrays = {{"param", pv}, {"grad", f32_like(grad, "grad", false, &pv)}};
  checked_scalar(lr, "lr", at_least(0.0));
  checked_scalar(momentum, "momentum", at_least(0.0));
  checked_scalar(dampening, "dampening");
  checked_scalar(1.0 - dampening, "1 - dampening");
  checked_scalar(weight_decay, "weight_decay", at_least(0.0));
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    throw py::value_error("nesterov=True needs momentum > 0 and dampening == 0");
  if (momentum != 0.0) {
    if (buf.is_none()) throw py::value_error("momentum != 0 needs momentum_buf (an array of param's shape)");
    arrays.push_back({"momentum_buf", f32_like(buf, "momentum_buf", true, &pv)});
  }
  require_disjoint(arrays);
  p.n = pv.size();
  p.param = pv.data;
  p.grad = arrays[1].v.data;
  p.momentum_buf = momentum != 0.0 ? arrays[2].v.data : nullptr;
  p.lr = lr;
  p.momentum = momentum;
  p.dampening = dampening;
  p.weight_decay = weight_decay;
  p.nesterov = nesterov;
  p.first_step = first_step;
  py::gil_scoped_release release;
  sgd_step(p);
}

double clip_grad_norm_py(const py::list& grads, double max_norm, double norm_type) {
  if (!(norm_type > 0.0)) throw py::value_error("norm_type must be > 0 or inf, got " + number_str(norm_type));
  if (max_norm != HUGE_VAL) checked_scalar(max_norm, "max_norm (or inf: no clipping)", at_least(0.0));
  std::vector<Strided<float>> views;
  std::vector<GradSpan> spans;
  for (size_t i = 0; i < grads.size(); ++i) {
    const std::string name = "grads[" + std::to_string(i) + "]";
    views.push_back(contiguous_view<float>(require_ndarray(grads[i], name.c_str()), name.c_str(), true));
    spans.push_back({views.back().data, views.back().size()});
  }
  // Two entries sharing memory would be scaled twice: refuse (sorted by address, adjacent pairs).
  std::vector<size_t> order(views.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return views[a].data < views[b].data; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto &a = views[order[i - 1]], &b = views[order[i]];
    if (contiguous_overlap(a, b))
      throw py::value_error("grads[" + std::to_string(order[i - 1]) + "] and grads[" + std::to_string(order[i]) +
                            "] share memory (each gradient must be scaled once)");
  }
  py::gil_scoped_release release;
  return clip_grad_norm(spans, max_norm, norm_type);
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("adam_step", &adam_step_py, py::arg("param"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("step"),
        py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
        py::arg("decoupled"), py::arg("amsgrad"), py::arg("max_v"));
  m.def("sgd_step", &sgd_step_py, py::arg("param"), py::arg("grad"), py::arg("momentum_buf"), py::arg("lr"),
        py::arg("momentum"), py::arg("dampening"), py::arg("nesterov"), py::arg("weight_decay"),
        py::arg("first_step"));
  m.def("clip_grad_norm", &clip_grad_norm_py, py::arg("grads"), py::arg("max_norm"), py::arg("norm_type"));
}
