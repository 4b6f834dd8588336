// Bindings for k-means' assignment step and the elastic net's coordinate descent
// (_core.kmeans_assign, _core.enet_coordinate_descent), used by grimoire.ml.
#include "grimoire/cluster.h"

#include <cmath>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

void bind_cluster(py::module_& m) {
  m.def(
      "kmeans_assign",
      [](py::object x_obj, py::object xsq_obj, py::object c_obj, py::object w_obj, bool accumulate) {
        py::array x = require_ndarray(x_obj, "X");
        require_ndim(x, "X", 2, 2);
        const Strided<double> xv = contiguous_view<double>(x, "X");
        const int64_t n = xv.shape[0], d = xv.shape[1];
        py::array xsq = require_ndarray(xsq_obj, "x_sqnorm");
        const Strided<double> qv = contiguous_view<double>(xsq, "x_sqnorm");
        require_same_shape(qv.shape, {n}, "x_sqnorm", "X's rows");
        py::array c = require_ndarray(c_obj, "centers");
        require_ndim(c, "centers", 2, 2);
        const Strided<double> cv = contiguous_view<double>(c, "centers");
        const int64_t k = cv.shape[0];
        if (k < 1) throw py::value_error("centers must hold at least one centre");
        if (k > 2147483647) throw py::value_error("too many centres");
        if (cv.shape[1] != d)
          throw py::value_error("centers must have " + std::to_string(d) + " columns (X's), got " + std::to_string(cv.shape[1]));
        const double* w = nullptr;
        if (!w_obj.is_none()) {
          py::array wa = require_ndarray(w_obj, "sample_weight");
          const Strided<double> wv = contiguous_view<double>(wa, "sample_weight");
          require_same_shape(wv.shape, {n}, "sample_weight", "X's rows");
          w = wv.data;
        }
        py::array_t<int32_t> labels = empty<int32_t>({n});
        py::array_t<double> dist = empty<double>({n});
        py::object sums_obj = py::none(), wout_obj = py::none();
        double* sums = nullptr;
        double* wout = nullptr;
        if (accumulate) {
          py::array_t<double> s = empty<double>({k, d}), ww = empty<double>({k});
          sums = s.mutable_data();
          wout = ww.mutable_data();
          sums_obj = s;
          wout_obj = ww;
        }
        int32_t* lp = labels.mutable_data();
        double* dp = dist.mutable_data();
        double inertia;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          inertia = kmeans_assign(xv.data, qv.data, n, d, cv.data, k, w, lp, dp, sums, wout);
        }
        interrupt.raise_if_interrupted();
        return py::make_tuple(labels, dist, inertia, sums_obj, wout_obj);
      },
      py::arg("X"), py::arg("x_sqnorm"), py::arg("centers"), py::arg("sample_weight") = py::none(),
      py::arg("accumulate") = true,
      "Nearest centre of each row: (labels int32, squared distance, inertia, per-cluster weighted sums or None, "
      "per-cluster weights or None).");

  m.def(
      "pairwise_sq_distances",
      [](py::object x_obj, py::object xsq_obj, py::object c_obj) {
        py::array x = require_ndarray(x_obj, "X");
        require_ndim(x, "X", 2, 2);
        const Strided<double> xv = contiguous_view<double>(x, "X");
        const int64_t n = xv.shape[0], d = xv.shape[1];
        const Strided<double> qv = contiguous_view<double>(require_ndarray(xsq_obj, "x_sqnorm"), "x_sqnorm");
        require_same_shape(qv.shape, {n}, "x_sqnorm", "X's rows");
        py::array c = require_ndarray(c_obj, "centers");
        require_ndim(c, "centers", 2, 2);
        const Strided<double> cv = contiguous_view<double>(c, "centers");
        if (cv.shape[1] != d)
          throw py::value_error("centers must have " + std::to_string(d) + " columns (X's), got " + std::to_string(cv.shape[1]));
        const int64_t m = cv.shape[0];
        py::array_t<double> out = empty<double>({n, m});
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          pairwise_sq_distances(xv.data, qv.data, n, d, cv.data, m, o);
        }
        return out;
      },
      py::arg("X"), py::arg("x_sqnorm"), py::arg("centers"),
      "Squared Euclidean distances (n, m) from each row of X to each row of centers.");

  m.def(
      "enet_coordinate_descent",
      [](py::object x_obj, py::object y_obj, py::object w_obj, double l1, double l2, int64_t max_iter, double tol,
         bool positive) {
        py::array x = require_ndarray(x_obj, "X");
        require_ndim(x, "X", 2, 2);
        const Strided<double> xv = view<double>(x, "X");
        const int64_t n = xv.shape[0], d = xv.shape[1];
        if (!(n <= 1 || xv.strides[0] == 1) || !(d <= 1 || xv.strides[1] == n))
          throw py::value_error("X must be Fortran-contiguous (use numpy.asfortranarray)");
        const Strided<double> yv = contiguous_view<double>(require_ndarray(y_obj, "y"), "y");
        require_same_shape(yv.shape, {n}, "y", "X's rows");
        py::array wa = require_ndarray(w_obj, "coef");
        const Strided<double> wv = contiguous_view<double>(wa, "coef", /*writable=*/true);
        require_same_shape(wv.shape, {d}, "coef", "X's columns");
        l1 = checked_scalar<double>(l1, "l1", at_least(0.0));
        l2 = checked_scalar<double>(l2, "l2", at_least(0.0));
        if (max_iter < 0) throw py::value_error("max_iter must be >= 0");
        tol = checked_scalar<double>(tol, "tol", at_least(0.0));
        double gap = 0;
        int64_t it;
        {
          py::gil_scoped_release release;
          it = enet_coordinate_descent(xv.data, n, d, yv.data, wv.data, l1, l2, max_iter, tol, positive, &gap);
        }
        return py::make_tuple(it, gap);
      },
      py::arg("X"), py::arg("y"), py::arg("coef"), py::arg("l1"), py::arg("l2"), py::arg("max_iter"), py::arg("tol"),
      py::arg("positive") = false,
      "Elastic-net coordinate descent on Fortran-ordered X, coef updated in place; returns (sweeps, duality gap).");
}
