// Bindings for the distance family (pairwise distances) and the linalg iterations
// (symmetric eigendecomposition, one-sided Jacobi SVD sweeps).
#include "grimoire/distance.h"
#include "grimoire/linalg.h"

#include <limits>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

DistanceMetric metric_from(const std::string& name) {
  if (name == "euclidean") return DistanceMetric::euclidean;
  if (name == "sqeuclidean") return DistanceMetric::sqeuclidean;
  if (name == "cosine") return DistanceMetric::cosine;
  throw py::value_error("metric must be 'euclidean', 'sqeuclidean' or 'cosine', got '" + name + "'");
}

template <typename T>
py::array distances_typed(const py::array& x_arr, const py::array& y_arr, DistanceMetric metric, bool same) {
  const Strided<T> x = view<T>(x_arr, "x"), y = view<T>(y_arr, "y");
  // same_input zeroes the diagonal: only right when y holds exactly the rows of x.
  if (same && (x.data != y.data || x.shape != y.shape || (x.shape[0] > 1 && x.strides[0] != y.strides[0])))
    throw py::value_error("same_input=True needs y to be x itself (the same rows in the same memory); pass "
                          "same_input=False to compare different arrays");
  if (x.shape[1] != y.shape[1])
    throw py::value_error("x and y must have the same number of columns, got x " + shape_str(x.shape) +
                          " and y " + shape_str(y.shape));
  const bool x_ok = x.shape[0] == 0 || x.shape[1] <= 1 || x.strides[1] == 1;
  const bool y_ok = y.shape[0] == 0 || y.shape[1] <= 1 || y.strides[1] == 1;
  if (!x_ok || !y_ok)
    throw py::value_error("x and y must have contiguous rows (last stride of one element)");
  if (x.shape[0] > 0 && y.shape[0] > 0 && x.shape[0] > INT64_MAX / y.shape[0])
    throw py::value_error("x and y: the distance matrix (" + std::to_string(x.shape[0]) + " x " +
                          std::to_string(y.shape[0]) + ") is too large");
  py::array_t<T> d = empty<T>({x.shape[0], y.shape[0]});
  DistanceParams<T> p;
  p.m = x.shape[0];
  p.n = y.shape[0];
  p.k = x.shape[1];
  p.x = x.data;
  p.x_row_stride = x.strides[0];
  p.y = y.data;
  p.y_row_stride = y.strides[0];
  p.d = d.mutable_data();
  p.d_row_stride = y.shape[0];
  p.metric = metric;
  p.same_input = same;
  {
    py::gil_scoped_release release;
    pairwise_distances(p);
  }
  return d;
}

Strided<double> square_f64(const py::object& obj, const char* name) {
  py::array a = require_ndarray(obj, name);
  require_ndim(a, name, 2, 2);
  Strided<double> v = contiguous_view<double>(a, name, /*writable=*/true);
  return v;
}

}  // namespace

void bind_distance(py::module_& m) {
  m.def(
      "pairwise_distances",
      [](py::object x_obj, py::object y_obj, const std::string& metric, bool same_input) {
        py::array x = require_ndarray(x_obj, "x"), y = require_ndarray(y_obj, "y");
        require_ndim(x, "x", 2, 2);
        require_ndim(y, "y", 2, 2);
        const DistanceMetric mt = metric_from(metric);
        if (has_dtype<float>(x) && has_dtype<float>(y)) return distances_typed<float>(x, y, mt, same_input);
        if (has_dtype<double>(x) && has_dtype<double>(y)) return distances_typed<double>(x, y, mt, same_input);
        throw py::type_error("x and y must both be float32 or both float64, got " + dtype_str(x) + " and " +
                             dtype_str(y));
      },
      py::arg("x"), py::arg("y"), py::arg("metric") = "euclidean", py::arg("same_input") = false);

  m.def(
      "eigh_symmetric",
      [](py::object a_obj, bool vectors) {
        Strided<double> a = square_f64(a_obj, "a");
        const int64_t n = a.shape[0];
        if (a.shape[1] != n) throw py::value_error("a must be square, got " + shape_str(a.shape));
        for (int64_t i = 0; i < n * n; ++i)
          if (!std::isfinite(a.data[i])) throw py::value_error("a must be finite (it holds NaN or inf)");
        py::array_t<double> w = empty<double>({n});
        py::array_t<double> z = empty<double>({vectors ? n : 0, vectors ? n : 0});
        bool ok;
        Interruptible interrupt;
        {
          double* wp = w.mutable_data();
          double* zp = vectors ? z.mutable_data() : nullptr;
          py::gil_scoped_release release;
          ok = eigh_symmetric(n, a.data, wp, zp);
        }
        interrupt.raise_if_interrupted();
        if (!ok) throw py::value_error("eigh of a: the QL iteration did not converge (values of a too large?)");
        return py::make_tuple(w, z);
      },
      py::arg("a"), py::arg("vectors") = true,
      "Eigendecomposition of a symmetric float64 matrix; a (C-contiguous) is overwritten.");

  m.def(
      "svd_bidiagonal",
      [](py::object a_obj, bool compute_uv, bool full_matrices) {
        Strided<double> a = square_f64(a_obj, "a");
        const int64_t rows = a.shape[0], cols = a.shape[1];
        if (rows < cols) throw py::value_error("a must have at least as many rows as columns, got " + shape_str(a.shape));
        for (int64_t i = 0; i < rows * cols; ++i)
          if (!std::isfinite(a.data[i])) throw py::value_error("a must be finite (it holds NaN or inf)");
        const int64_t ucols = full_matrices ? rows : cols;
        py::array_t<double> s = empty<double>({cols});
        py::array_t<double> u = empty<double>({compute_uv ? rows : 0, compute_uv ? ucols : 0});
        py::array_t<double> vt = empty<double>({compute_uv ? cols : 0, compute_uv ? cols : 0});
        bool ok;
        Interruptible interrupt;
        {
          double* sp = s.mutable_data();
          double* up = compute_uv ? u.mutable_data() : nullptr;
          double* vp = compute_uv ? vt.mutable_data() : nullptr;
          py::gil_scoped_release release;
          ok = svd_bidiagonal(rows, cols, a.data, sp, up, full_matrices, vp);
        }
        interrupt.raise_if_interrupted();
        if (!ok) throw py::value_error("svd of a: the bidiagonal QR iteration did not converge");
        return py::make_tuple(u, s, vt);
      },
      py::arg("a"), py::arg("compute_uv") = true, py::arg("full_matrices") = false,
      "SVD (u, s, vt) of a float64 (m, n) matrix with m >= n; a (C-contiguous) is overwritten.");

  m.def(
      "jacobi_svd_sweeps",
      [](py::object bt_obj, py::object vt_obj, int max_sweeps, double tol) {
        Strided<double> bt = square_f64(bt_obj, "bt");
        double* vtp = nullptr;
        int64_t nv = 0;
        if (!vt_obj.is_none()) {
          Strided<double> vt = square_f64(vt_obj, "vt");
          if (vt.shape[0] != bt.shape[0])
            throw py::value_error("vt must have as many rows as bt (" + std::to_string(bt.shape[0]) + "), got " +
                                  shape_str(vt.shape));
          py::array vt_arr = py::reinterpret_borrow<py::array>(vt_obj);
          if (may_overlap(vt_arr, py::reinterpret_borrow<py::array>(bt_obj)))
            throw py::value_error("vt must not share memory with bt");
          vtp = vt.data;
          nv = vt.shape[1];
        }
        if (max_sweeps < 1) throw py::value_error("max_sweeps must be >= 1, got " + std::to_string(max_sweeps));
        // Below float64's epsilon a pair's convergence is decided by rounding (the SIMD and scalar
        // dot products then disagree on the number of sweeps, and a sweep never ends the loop).
        checked_scalar<double>(tol, "tol", at_least(std::numeric_limits<double>::epsilon()));
        int sweeps;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          sweeps = jacobi_svd_sweeps(bt.shape[0], bt.shape[1], bt.data, nv, vtp, max_sweeps, tol);
        }
        interrupt.raise_if_interrupted();
        return sweeps;
      },
      py::arg("bt"), py::arg("vt"), py::arg("max_sweeps") = 60, py::arg("tol") = 1e-15,
      "One-sided Jacobi sweeps on the rows of bt (the columns of B), rotating vt's rows alike.");
}
