// Bindings for the activation family: grimoire.kernels.activation (gelu, gelu_backward).
#include "grimoire/activation.h"

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

py::array gelu_py(const py::object& x_obj) {
  py::array xa = require_ndarray(x_obj, "x");
  const Strided<float> x = contiguous_view<float>(xa, "x");
  py::array_t<float> y = empty<float>(x.shape);
  ActivationParams p;
  p.n = x.size();
  p.x = x.data;
  p.out = y.mutable_data();
  {
    py::gil_scoped_release release;
    gelu_forward(p);
  }
  return y;
}

py::array gelu_backward_py(const py::object& gy_obj, const py::object& x_obj) {
  py::array gya = require_ndarray(gy_obj, "grad_y"), xa = require_ndarray(x_obj, "x");
  const Strided<float> gy = contiguous_view<float>(gya, "grad_y");
  const Strided<float> x = contiguous_view<float>(xa, "x");
  require_same_shape(gy.shape, x.shape, "grad_y", "x");
  py::array_t<float> gx = empty<float>(x.shape);
  ActivationParams p;
  p.n = x.size();
  p.x = x.data;
  p.grad = gy.data;
  p.out = gx.mutable_data();
  {
    py::gil_scoped_release release;
    gelu_backward(p);
  }
  return gx;
}

}  // namespace

void bind_activation(py::module_& m) {
  m.def("gelu", &gelu_py, py::arg("x"),
        "Exact GELU y = x Phi(x) of a float32 C-contiguous array (any shape).");
  m.def("gelu_backward", &gelu_backward_py, py::arg("grad_y"), py::arg("x"),
        "grad_x = grad_y (Phi(x) + x phi(x)): the gradient of gelu at its input x.");
}
