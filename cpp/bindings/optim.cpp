// Bindings for the optim family: grimoire.kernels.optim (adam_step, sgd_step, their list forms
// multi_tensor_adam_step / multi_tensor_sgd_step, clip_grad_norm). Every array is updated in
// place, so each must be float32, C-contiguous, writable where it is written, of the parameter's
// shape, and must not overlap another: no copy is ever made. The checks live in optim_args.h,
// shared with the CUDA binding.
#include "grimoire/optim.h"

#include "checks.h"
#include "optim_args.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

Strided<float> host_f32(const py::handle& obj, const char* name, bool writable) {
  return contiguous_view<float>(require_ndarray(obj, name), name, writable);
}

AdamParams adam_hyper(int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                      bool decoupled, bool amsgrad) {
  check_adam_hyper(step, lr, beta1, beta2, eps, weight_decay);
  AdamParams p;
  p.step = step;
  p.lr = lr;
  p.beta1 = beta1;
  p.beta2 = beta2;
  p.eps = eps;
  p.weight_decay = weight_decay;
  p.decoupled = decoupled;
  p.amsgrad = amsgrad;
  return p;
}

// Point p at one tensor's checked arrays (param, grad, m, v, max_v).
void set_adam_arrays(AdamParams& p, const std::vector<NamedArray>& a) {
  p.n = a[0].v.size();
  p.param = a[0].v.data;
  p.grad = a[1].v.data;
  p.m = a[2].v.data;
  p.v = a[3].v.data;
  p.max_v = a.size() > 4 ? a[4].v.data : nullptr;
}

void adam_step_py(const py::object& param, const py::object& grad, const py::object& m, const py::object& v,
                  int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                  bool amsgrad, const py::object& max_v) {
  const std::vector<NamedArray> arrays = adam_arrays(host_f32, param, grad, m, v, amsgrad, max_v);
  require_disjoint(arrays);
  AdamParams p = adam_hyper(step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad);
  set_adam_arrays(p, arrays);
  py::gil_scoped_release release;
  adam_step(p);
}

// The list form: one step of the same hyper-parameters over every (params[i], grads[i], ms[i],
// vs[i]); on the CPU a loop of adam_step (each multithreaded), on the GPU one fused launch.
void multi_tensor_adam_step_py(const py::list& params, const py::list& grads, const py::list& ms, const py::list& vs,
                               int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                               bool decoupled, bool amsgrad, const py::object& max_vs) {
  const size_t n = list_length({{"params", params}, {"grads", grads}, {"ms", ms}, {"vs", vs}, {"max_vs", max_vs}});
  std::vector<NamedArray> all;
  std::vector<size_t> first;
  for (size_t i = 0; i < n; ++i) {
    first.push_back(all.size());
    const py::object mv = max_vs.is_none() ? py::object(py::none()) : py::object(max_vs[py::int_(i)]);
    for (NamedArray& a : adam_arrays(host_f32, params[i], grads[i], ms[i], vs[i], amsgrad, mv, "[" + std::to_string(i) + "]"))
      all.push_back(std::move(a));
  }
  require_disjoint(all);
  AdamParams p = adam_hyper(step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad);
  py::gil_scoped_release release;
  for (size_t i = 0; i < n; ++i) {
    set_adam_arrays(p, {all.begin() + first[i], all.begin() + first[i] + (amsgrad ? 5 : 4)});
    adam_step(p);
  }
}

SgdParams sgd_hyper(double lr, double momentum, double dampening, bool nesterov, double weight_decay, bool first_step) {
  check_sgd_hyper(lr, momentum, dampening, nesterov, weight_decay);
  SgdParams p;
  p.lr = lr;
  p.momentum = momentum;
  p.dampening = dampening;
  p.weight_decay = weight_decay;
  p.nesterov = nesterov;
  p.first_step = first_step;
  return p;
}

void set_sgd_arrays(SgdParams& p, const std::vector<NamedArray>& a) {
  p.n = a[0].v.size();
  p.param = a[0].v.data;
  p.grad = a[1].v.data;
  p.momentum_buf = a.size() > 2 ? a[2].v.data : nullptr;
}

void sgd_step_py(const py::object& param, const py::object& grad, const py::object& buf, double lr, double momentum,
                 double dampening, bool nesterov, double weight_decay, bool first_step) {
  SgdParams p = sgd_hyper(lr, momentum, dampening, nesterov, weight_decay, first_step);
  const std::vector<NamedArray> arrays = sgd_arrays(host_f32, param, grad, buf, momentum);
  require_disjoint(arrays);
  set_sgd_arrays(p, arrays);
  py::gil_scoped_release release;
  sgd_step(p);
}

void multi_tensor_sgd_step_py(const py::list& params, const py::list& grads, const py::object& bufs, double lr,
                              double momentum, double dampening, bool nesterov, double weight_decay, bool first_step) {
  SgdParams p = sgd_hyper(lr, momentum, dampening, nesterov, weight_decay, first_step);
  const size_t n = list_length({{"params", params}, {"grads", grads}, {"momentum_bufs", bufs}});
  std::vector<NamedArray> all;
  std::vector<size_t> first;
  for (size_t i = 0; i < n; ++i) {
    first.push_back(all.size());
    const py::object b = bufs.is_none() ? py::object(py::none()) : py::object(bufs[py::int_(i)]);
    for (NamedArray& a : sgd_arrays(host_f32, params[i], grads[i], b, momentum, "[" + std::to_string(i) + "]"))
      all.push_back(std::move(a));
  }
  require_disjoint(all);
  const size_t per = momentum != 0.0 ? 3 : 2;
  py::gil_scoped_release release;
  for (size_t i = 0; i < n; ++i) {
    set_sgd_arrays(p, {all.begin() + first[i], all.begin() + first[i] + per});
    sgd_step(p);
  }
}

double clip_grad_norm_py(const py::list& grads, double max_norm, double norm_type) {
  const std::vector<GradSpan> spans = clip_grad_norm_args(host_f32, grads, max_norm, norm_type);
  py::gil_scoped_release release;
  return clip_grad_norm(spans, max_norm, norm_type);
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("adam_step", &adam_step_py, py::arg("param"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("step"),
        py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
        py::arg("decoupled"), py::arg("amsgrad"), py::arg("max_v"));
  m.def("multi_tensor_adam_step", &multi_tensor_adam_step_py, py::arg("params"), py::arg("grads"), py::arg("ms"),
        py::arg("vs"), py::arg("step"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("decoupled"), py::arg("amsgrad"), py::arg("max_vs"));
  m.def("sgd_step", &sgd_step_py, py::arg("param"), py::arg("grad"), py::arg("momentum_buf"), py::arg("lr"),
        py::arg("momentum"), py::arg("dampening"), py::arg("nesterov"), py::arg("weight_decay"),
        py::arg("first_step"));
  m.def("multi_tensor_sgd_step", &multi_tensor_sgd_step_py, py::arg("params"), py::arg("grads"),
        py::arg("momentum_bufs"), py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("nesterov"),
        py::arg("weight_decay"), py::arg("first_step"));
  m.def("clip_grad_norm", &clip_grad_norm_py, py::arg("grads"), py::arg("max_norm"), py::arg("norm_type"));
}
