// Bindings for the time-series recursions.
#include "grimoire/timeseries.h"

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

Strided<double> vector_arg(const py::object& obj, const char* name) {
  const py::array arr = require_ndarray(obj, name);
  require_ndim(arr, name, 1, 1);
  return contiguous_view<double>(arr, name);
}

}  // namespace

void bind_timeseries(py::module_& m) {
  m.def(
      "arma_residuals",
      [](const py::object& w_obj, double mu, const py::object& ar_obj, const py::object& ma_obj) {
        const auto w = vector_arg(w_obj, "w"), ar = vector_arg(ar_obj, "ar"), ma = vector_arg(ma_obj, "ma");
        checked_scalar<double>(mu, "mu");
        auto e = empty<double>({w.shape[0]});
        {
          py::gil_scoped_release release;
          arma_residuals(w.data, w.shape[0], mu, ar.data, ar.shape[0], ma.data, ma.shape[0], e.mutable_data());
        }
        return e;
      },
      py::arg("w"), py::arg("mu"), py::arg("ar"), py::arg("ma"),
      "Conditional ARMA residuals e_t (float64, C-contiguous 1-D arrays).");
}
