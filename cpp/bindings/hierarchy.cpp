// Bindings for agglomerative clustering (_core.pdist_euclidean, _core.nn_chain_linkage), used by
// grimoire.ml.AgglomerativeClustering.
#include "grimoire/hierarchy.h"

#include <cmath>
#include <string>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

void bind_hierarchy(py::module_& m) {
  m.def(
      "pdist_euclidean",
      [](py::object x_obj) {
        py::array x = require_ndarray(x_obj, "X");
        require_ndim(x, "X", 2, 2);
        const Strided<double> xv = contiguous_view<double>(x, "X");
        const int64_t n = xv.shape[0], d = xv.shape[1];
        if (n > 3000000000LL) throw py::value_error("X has too many rows for a condensed distance matrix");
        py::array_t<double> out = empty<double>({n * (n - 1) / 2});
        double* op = out.mutable_data();
        {
          py::gil_scoped_release release;
          pdist_euclidean(xv.data, n, d, op);
        }
        return out;
      },
      py::arg("X"), "Condensed Euclidean distances (n (n-1) / 2,), scipy.spatial.distance.pdist's layout.");

  m.def(
      "nn_chain_linkage",
      [](py::object d_obj, const std::string& method) {
        py::array da = require_ndarray(d_obj, "dist");
        require_ndim(da, "dist", 1, 1);
        const Strided<double> dv = contiguous_view<double>(da, "dist", /*writable=*/true);
        const int64_t len = dv.shape[0];
        const int64_t n = static_cast<int64_t>(std::llround((1.0 + std::sqrt(1.0 + 8.0 * static_cast<double>(len))) / 2.0));
        if (n < 2 || n * (n - 1) / 2 != len)
          throw py::value_error("dist must be a condensed distance matrix of length n (n-1) / 2 with n >= 2, got " +
                                std::to_string(len));
        for (int64_t i = 0; i < len; ++i)
          if (!std::isfinite(dv.data[i]) || dv.data[i] < 0)
            throw py::value_error("dist must hold finite values >= 0");
        Linkage lk;
        if (method == "single") lk = Linkage::single;
        else if (method == "complete") lk = Linkage::complete;
        else if (method == "average") lk = Linkage::average;
        else if (method == "ward") lk = Linkage::ward;
        else throw py::value_error("method must be 'single', 'complete', 'average' or 'ward', got '" + method + "'");
        py::array_t<double> z = empty<double>({n - 1, 4});
        double* zp = z.mutable_data();
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          nn_chain_linkage(dv.data, n, lk, zp);
        }
        interrupt.raise_if_interrupted();
        return z;
      },
      py::arg("dist"), py::arg("method"),
      "NN-chain merges (n-1, 4) as (slot a, slot b, height, size), unsorted; dist is overwritten.");
}
