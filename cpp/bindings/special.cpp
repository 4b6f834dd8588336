// Bindings for the special functions of grimoire.stats: float64, C-contiguous, equal shapes
// (grimoire.stats broadcasts the arguments first); the result has their shape.
#include "grimoire/special.h"

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

Strided<double> values(const py::object& obj, const char* name, const Strided<double>* like) {
  const py::array arr = require_ndarray(obj, name);
  Strided<double> v = contiguous_view<double>(arr, name);
  if (like != nullptr) require_same_shape(v.shape, like->shape, name, "the first argument");
  return v;
}

}  // namespace

void bind_special(py::module_& m) {
  m.def(
      "gammaln",
      [](const py::object& x_obj) {
        const auto x = values(x_obj, "x", nullptr);
        auto out = empty<double>(x.shape);
        {
          py::gil_scoped_release release;
          gammaln(x.data, out.mutable_data(), x.size());
        }
        return out;
      },
      py::arg("x"), "log |Gamma(x)| element-wise (float64, C-contiguous).");
  m.def(
      "gammainc",
      [](const py::object& a_obj, const py::object& x_obj, bool upper) {
        const auto a = values(a_obj, "a", nullptr);
        const auto x = values(x_obj, "x", &a);
        auto out = empty<double>(a.shape);
        {
          py::gil_scoped_release release;
          gammainc(a.data, x.data, out.mutable_data(), a.size(), upper);
        }
        return out;
      },
      py::arg("a"), py::arg("x"), py::arg("upper"),
      "Regularised incomplete gamma: P(a, x), or Q(a, x) with upper=True (float64, equal shapes).");
  m.def(
      "betainc",
      [](const py::object& a_obj, const py::object& b_obj, const py::object& x_obj) {
        const auto a = values(a_obj, "a", nullptr);
        const auto b = values(b_obj, "b", &a);
        const auto x = values(x_obj, "x", &a);
        auto out = empty<double>(a.shape);
        {
          py::gil_scoped_release release;
          betainc(a.data, b.data, x.data, out.mutable_data(), a.size());
        }
        return out;
      },
      py::arg("a"), py::arg("b"), py::arg("x"), "Regularised incomplete beta I_x(a, b) (float64, equal shapes).");
  m.def(
      "ndtr",
      [](const py::object& x_obj) {
        const auto x = values(x_obj, "x", nullptr);
        auto out = empty<double>(x.shape);
        {
          py::gil_scoped_release release;
          ndtr(x.data, out.mutable_data(), x.size());
        }
        return out;
      },
      py::arg("x"), "The standard normal cdf Phi(x) (float64, C-contiguous).");
  m.def(
      "ndtri",
      [](const py::object& q_obj) {
        const auto q = values(q_obj, "q", nullptr);
        auto out = empty<double>(q.shape);
        {
          py::gil_scoped_release release;
          ndtri(q.data, out.mutable_data(), q.size());
        }
        return out;
      },
      py::arg("q"), "The standard normal quantile Phi^-1(q) (float64, C-contiguous; NaN outside [0, 1]).");
}
