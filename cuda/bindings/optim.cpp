// grimoire._cuda adam_step / sgd_step / multi_tensor_adam_step / multi_tensor_sgd_step /
// clip_grad_norm: the twins of _core's (same names, signatures, returns; the checks of
// optim_args.h), on device arrays, on CuPy's stream. Every Adam/SGD call is ONE fused
// multi-tensor launch (more only past a TensorList's capacity, see cuda/optim.cuh).
#include "optim.cuh"

#include "device.h"
#include "optim_args.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

Strided<float> dev_f32(const py::handle& obj, const char* name, bool writable) {
  return cuda_contiguous_view<float>(obj, name, writable);
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

cuda::AdamTensor adam_tensor(const NamedArray* a, bool amsgrad) {
  return {a[0].v.data, a[1].v.data, a[2].v.data, a[3].v.data, amsgrad ? a[4].v.data : nullptr, a[0].v.size()};
}

void launch_adam(const std::vector<cuda::AdamTensor>& tensors, const AdamParams& p) {
  require_device();
  const cudaStream_t stream = current_stream();
  py::gil_scoped_release release;
  check(cuda::adam_step(tensors, p, stream), "adam_step");
}

void adam_step_py(const py::object& param, const py::object& grad, const py::object& m, const py::object& v,
                  int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                  bool amsgrad, const py::object& max_v) {
  const std::vector<NamedArray> arrays = adam_arrays(dev_f32, param, grad, m, v, amsgrad, max_v);
  require_disjoint(arrays);
  const AdamParams p = adam_hyper(step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad);
  launch_adam({adam_tensor(arrays.data(), amsgrad)}, p);
}

void multi_tensor_adam_step_py(const py::list& params, const py::list& grads, const py::list& ms, const py::list& vs,
                               int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                               bool decoupled, bool amsgrad, const py::object& max_vs) {
  const size_t n = list_length({{"params", params}, {"grads", grads}, {"ms", ms}, {"vs", vs}, {"max_vs", max_vs}});
  std::vector<NamedArray> all;
  for (size_t i = 0; i < n; ++i) {
    const py::object mv = max_vs.is_none() ? py::object(py::none()) : py::object(max_vs[py::int_(i)]);
    for (NamedArray& a : adam_arrays(dev_f32, params[i], grads[i], ms[i], vs[i], amsgrad, mv, "[" + std::to_string(i) + "]"))
      all.push_back(std::move(a));
  }
  require_disjoint(all);
  const AdamParams p = adam_hyper(step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad);
  const size_t per = amsgrad ? 5 : 4;
  std::vector<cuda::AdamTensor> tensors;
  for (size_t i = 0; i < n; ++i) tensors.push_back(adam_tensor(all.data() + i * per, amsgrad));
  launch_adam(tensors, p);
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

cuda::SgdTensor sgd_tensor(const NamedArray* a, bool momentum) {
  return {a[0].v.data, a[1].v.data, momentum ? a[2].v.data : nullptr, a[0].v.size()};
}

void launch_sgd(const std::vector<cuda::SgdTensor>& tensors, const SgdParams& p) {
  require_device();
  const cudaStream_t stream = current_stream();
  py::gil_scoped_release release;
  check(cuda::sgd_step(tensors, p, stream), "sgd_step");
}

void sgd_step_py(const py::object& param, const py::object& grad, const py::object& buf, double lr, double momentum,
                 double dampening, bool nesterov, double weight_decay, bool first_step) {
  const SgdParams p = sgd_hyper(lr, momentum, dampening, nesterov, weight_decay, first_step);
  const std::vector<NamedArray> arrays = sgd_arrays(dev_f32, param, grad, buf, momentum);
  require_disjoint(arrays);
  launch_sgd({sgd_tensor(arrays.data(), momentum != 0.0)}, p);
}

void multi_tensor_sgd_step_py(const py::list& params, const py::list& grads, const py::object& bufs, double lr,
                              double momentum, double dampening, bool nesterov, double weight_decay, bool first_step) {
  const SgdParams p = sgd_hyper(lr, momentum, dampening, nesterov, weight_decay, first_step);
  const size_t n = list_length({{"params", params}, {"grads", grads}, {"momentum_bufs", bufs}});
  std::vector<NamedArray> all;
  for (size_t i = 0; i < n; ++i) {
    const py::object b = bufs.is_none() ? py::object(py::none()) : py::object(bufs[py::int_(i)]);
    for (NamedArray& a : sgd_arrays(dev_f32, params[i], grads[i], b, momentum, "[" + std::to_string(i) + "]"))
      all.push_back(std::move(a));
  }
  require_disjoint(all);
  const size_t per = momentum != 0.0 ? 3 : 2;
  std::vector<cuda::SgdTensor> tensors;
  for (size_t i = 0; i < n; ++i) tensors.push_back(sgd_tensor(all.data() + i * per, momentum != 0.0));
  launch_sgd(tensors, p);
}

// The total norm is returned as a Python float (as the CPU does), so this call synchronises: the
// partial and total kernels, one 16-byte copy back, then (only when clipping) the scale launch.
double clip_grad_norm_py(const py::list& grads, double max_norm, double norm_type) {
  const std::vector<GradSpan> spans = clip_grad_norm_args(dev_f32, grads, max_norm, norm_type);
  auto [scratch_arr, scratch] = empty_view<double>({cuda::grad_norm_scratch(spans)}, "scratch");
  const cudaStream_t stream = current_stream();
  double host[2] = {0.0, 0.0};
  {
    py::gil_scoped_release release;
    check(cuda::grad_norm(spans, norm_type, max_norm, scratch.data, stream), "clip_grad_norm");
    check(cudaMemcpyAsync(host, scratch.data, sizeof(host), cudaMemcpyDeviceToHost, stream), "clip_grad_norm (copy back)");
    check(cudaStreamSynchronize(stream), "clip_grad_norm (synchronise)");
    const float coef = static_cast<float>(host[1]);
    // g * 1 == g for every float (NaN stays NaN): the CPU's scaling by a coefficient of 1 is skipped.
    if (coef != 1.0f) check(cuda::scale_grads(spans, coef, stream), "clip_grad_norm (scale)");
  }
  return host[0];
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
  register_family(m, "optim", {"multi_tensor_kernel", "grad_norm_partial_kernel", "grad_norm_total_kernel"});
}
