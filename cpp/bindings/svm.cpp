// Bindings for the SMO solver and kernel matrices (_core.svm_smo, _core.svm_kernel), used by
// grimoire.ml.SVC.
#include "grimoire/svm.h"

#include <cmath>
#include <string>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {
SvmParams make_params(const std::string& kernel, double gamma, double coef0, int degree) {
  SvmParams p;
  if (kernel == "linear") p.kernel = SvmKernel::linear;
  else if (kernel == "poly") p.kernel = SvmKernel::poly;
  else if (kernel == "rbf") p.kernel = SvmKernel::rbf;
  else if (kernel == "sigmoid") p.kernel = SvmKernel::sigmoid;
  else throw py::value_error("kernel must be 'linear', 'poly', 'rbf' or 'sigmoid', got '" + kernel + "'");
  checked_scalar<double>(gamma, "gamma", at_least(0.0));
  checked_scalar<double>(coef0, "coef0");
  if (degree < 0) throw py::value_error("degree must be >= 0, got " + std::to_string(degree));
  p.gamma = gamma;
  p.coef0 = coef0;
  p.degree = degree;
  return p;
}

Strided<double> matrix(py::object obj, const char* name) {
  py::array a = require_ndarray(obj, name);
  require_ndim(a, name, 2, 2);
  return contiguous_view<double>(a, name);
}
}  // namespace

void bind_svm(py::module_& m) {
  m.def(
      "svm_smo",
      [](py::object x_obj, py::object y_obj, py::object c_obj, const std::string& kernel, double gamma, double coef0,
         int degree, double tol, int64_t max_iter, double cache_mb) {
        const Strided<double> xv = matrix(x_obj, "X");
        const int64_t n = xv.shape[0], d = xv.shape[1];
        const Strided<double> yv = contiguous_view<double>(require_ndarray(y_obj, "y"), "y");
        require_same_shape(yv.shape, {n}, "y", "X's rows");
        const Strided<double> cv = contiguous_view<double>(require_ndarray(c_obj, "C"), "C");
        require_same_shape(cv.shape, {n}, "C", "X's rows");
        bool pos = false, neg = false;
        for (int64_t i = 0; i < n; ++i) {
          if (yv.data[i] == 1.0) pos = true;
          else if (yv.data[i] == -1.0) neg = true;
          else throw py::value_error("y must hold only -1.0 and +1.0, got " + std::to_string(yv.data[i]) + " at " + std::to_string(i));
          if (!(cv.data[i] > 0) || !std::isfinite(cv.data[i]))
            throw py::value_error("C must be finite and > 0, got " + std::to_string(cv.data[i]) + " at " + std::to_string(i));
        }
        if (!pos || !neg) throw py::value_error("y must hold both classes (-1 and +1)");
        SvmParams p = make_params(kernel, gamma, coef0, degree);
        checked_scalar<double>(tol, "tol", above(0.0));
        if (max_iter < -1 || max_iter == 0) throw py::value_error("max_iter must be -1 (no limit) or >= 1");
        if (!(cache_mb > 0) || !(cache_mb < 1e7)) throw py::value_error("cache_size must be in (0, 1e7) MB");
        p.tol = tol;
        p.max_iter = max_iter;
        p.cache_bytes = static_cast<int64_t>(cache_mb * 1048576.0);
        py::array_t<double> alpha = empty<double>({n});
        double* ap = alpha.mutable_data();
        double rho = 0;
        int64_t it;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          it = svm_smo_solve(xv.data, n, d, yv.data, cv.data, p, ap, &rho);
        }
        interrupt.raise_if_interrupted();
        return py::make_tuple(alpha, rho, it);
      },
      py::arg("X"), py::arg("y"), py::arg("C"), py::arg("kernel"), py::arg("gamma"), py::arg("coef0"),
      py::arg("degree"), py::arg("tol"), py::arg("max_iter"), py::arg("cache_size"),
      "SMO (WSS3, LRU kernel cache) for the C-SVC dual: returns (alpha (n), rho, iterations).");

  m.def(
      "svm_kernel",
      [](py::object a_obj, py::object b_obj, const std::string& kernel, double gamma, double coef0, int degree) {
        const Strided<double> av = matrix(a_obj, "A"), bv = matrix(b_obj, "B");
        if (av.shape[1] != bv.shape[1])
          throw py::value_error("A and B must have the same number of columns, got " + std::to_string(av.shape[1]) +
                                " and " + std::to_string(bv.shape[1]));
        const SvmParams p = make_params(kernel, gamma, coef0, degree);
        const int64_t m_ = av.shape[0], s = bv.shape[0], d = av.shape[1];
        py::array_t<double> out = empty<double>({m_, s});
        double* op = out.mutable_data();
        {
          py::gil_scoped_release release;
          svm_kernel_matrix(av.data, m_, bv.data, s, d, p, op);
        }
        return out;
      },
      py::arg("A"), py::arg("B"), py::arg("kernel"), py::arg("gamma"), py::arg("coef0"), py::arg("degree"),
      "Kernel matrix K (m, s) between the rows of A (m, d) and B (s, d).");

  m.def(
      "linear_svm_dcd",
      [](py::object x_obj, py::object y_obj, py::object c_obj, bool hinge, int64_t max_iter, double tol,
         uint64_t seed) {
        const Strided<double> xv = matrix(x_obj, "X");
        const int64_t n = xv.shape[0], d = xv.shape[1];
        const Strided<double> yv = contiguous_view<double>(require_ndarray(y_obj, "y"), "y");
        require_same_shape(yv.shape, {n}, "y", "X's rows");
        const Strided<double> cv = contiguous_view<double>(require_ndarray(c_obj, "C"), "C");
        require_same_shape(cv.shape, {n}, "C", "X's rows");
        for (int64_t i = 0; i < n; ++i) {
          if (yv.data[i] != 1.0 && yv.data[i] != -1.0)
            throw py::value_error("y must hold only -1.0 and +1.0, got " + std::to_string(yv.data[i]));
          if (!(cv.data[i] >= 0) || !std::isfinite(cv.data[i]))
            throw py::value_error("C must be finite and >= 0, got " + std::to_string(cv.data[i]));
        }
        if (max_iter < 1) throw py::value_error("max_iter must be >= 1");
        checked_scalar<double>(tol, "tol", above(0.0));
        py::array_t<double> w = empty<double>({d});
        double* wp = w.mutable_data();
        int64_t it;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          it = linear_svm_dcd(xv.data, n, d, yv.data, cv.data, hinge, max_iter, tol, seed, wp);
        }
        interrupt.raise_if_interrupted();
        return py::make_tuple(w, it);
      },
      py::arg("X"), py::arg("y"), py::arg("C"), py::arg("hinge"), py::arg("max_iter"), py::arg("tol"),
      py::arg("seed"), "Linear SVM by dual coordinate descent: returns (w (d), sweeps).");
}
