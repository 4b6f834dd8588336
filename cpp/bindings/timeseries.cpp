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

  m.def(
      "kalman_filter",
      [](const py::object& y_obj, const py::object& z_obj, const py::object& t_obj, const py::object& rqr_obj,
         double h, const py::object& a0_obj, const py::object& p0_obj, int64_t burn) {
        const auto y = vector_arg(y_obj, "y"), z = vector_arg(z_obj, "Z"), a0 = vector_arg(a0_obj, "a0");
        const int64_t k = z.shape[0];
        require_at_least(k, 1, "len(Z)");
        require_same_shape(a0.shape, {k}, "a0", "Z");
        const auto square = [&](const py::object& obj, const char* name) {
          const py::array arr = require_ndarray(obj, name);
          require_ndim(arr, name, 2, 2);
          auto view = contiguous_view<double>(arr, name);
          require_same_shape(view.shape, {k, k}, name, "(len(Z), len(Z))");
          return view;
        };
        const auto tm = square(t_obj, "T"), rqr = square(rqr_obj, "RQR"), p0 = square(p0_obj, "P0");
        if (!(h >= 0.0)) throw py::value_error("h must be a finite number >= 0, got " + std::to_string(h));
        require_at_least(burn, 0, "burn");
        const int64_t n = y.shape[0];
        auto v = empty<double>({n}), f = empty<double>({n}), a = empty<double>({k}), p = empty<double>({k, k});
        double loglik;
        {
          py::gil_scoped_release release;
          loglik = kalman_filter(y.data, n, k, z.data, tm.data, rqr.data, h, a0.data, p0.data, burn,
                                 v.mutable_data(), f.mutable_data(), a.mutable_data(), p.mutable_data());
        }
        return py::make_tuple(loglik, v, f, a, p);
      },
      py::arg("y"), py::arg("Z"), py::arg("T"), py::arg("RQR"), py::arg("h"), py::arg("a0"), py::arg("P0"),
      py::arg("burn") = 0,
      "Kalman filter of y_t = Z a_t + N(0, h), a_{t+1} = T a_t + N(0, RQR) from a_0 ~ N(a0, P0) (float64, "
      "C-contiguous). Returns (loglik over t >= burn, innovations v, their variances F, a_{n+1|n}, P_{n+1|n}); "
      "loglik is NaN if some F_t <= 0.");
}
