// Bindings for t-SNE (_core.tsne_binary_search, _core.tsne_optimize), used by grimoire.ml.TSNE.
#include "grimoire/tsne.h"

#include <cmath>
#include <string>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {
constexpr int64_t kTsneMaxIter = 100000000;
}  // namespace

void bind_tsne(py::module_& m) {
  m.def(
      "tsne_binary_search",
      [](py::object d_obj, double perplexity) {
        py::array da = require_ndarray(d_obj, "dist2");
        require_ndim(da, "dist2", 2, 2);
        const Strided<double> dv = contiguous_view<double>(da, "dist2");
        const int64_t n = dv.shape[0], k = dv.shape[1];
        perplexity = checked_scalar<double>(perplexity, "perplexity", above(0.0));
        for (int64_t i = 0; i < n * k; ++i)
          if (!(dv.data[i] >= 0) || !std::isfinite(dv.data[i])) throw py::value_error("dist2 must hold finite values >= 0");
        py::array_t<double> p = empty<double>({n, k});
        double* pp = p.mutable_data();
        {
          py::gil_scoped_release release;
          tsne_binary_search(dv.data, n, k, perplexity, pp);
        }
        return p;
      },
      py::arg("dist2"), py::arg("perplexity"),
      "Conditional probabilities p_j|i (n, k) from squared neighbour distances, calibrated to the perplexity.");

  m.def(
      "tsne_optimize",
      [](py::object ip_obj, py::object ix_obj, py::object v_obj, py::object y_obj, int64_t max_iter,
         int64_t exaggeration_iter, double early_exaggeration, double learning_rate, double theta,
         double momentum_early, double momentum_late, double min_gain) {
        const Strided<double> yv = contiguous_view<double>(require_ndarray(y_obj, "Y"), "Y", /*writable=*/true);
        if (yv.ndim() != 2 || yv.shape[1] != 2) throw py::value_error("Y must have shape (n, 2), got " + shape_str(yv.shape));
        const int64_t n = yv.shape[0];
        const Strided<int64_t> ip = contiguous_view<int64_t>(require_ndarray(ip_obj, "indptr"), "indptr");
        require_same_shape(ip.shape, {n + 1}, "indptr", "Y's rows + 1");
        const Strided<int64_t> ix = contiguous_view<int64_t>(require_ndarray(ix_obj, "indices"), "indices");
        const Strided<double> vv = contiguous_view<double>(require_ndarray(v_obj, "values"), "values");
        if (ix.ndim() != 1 || vv.ndim() != 1 || ix.shape[0] != vv.shape[0])
          throw py::value_error("indices and values must be 1-D of the same length");
        const int64_t nnz = ix.shape[0];
        if (ip.data[0] != 0 || ip.data[n] != nnz) throw py::value_error("indptr must start at 0 and end at nnz");
        for (int64_t i = 0; i < n; ++i)
          if (ip.data[i + 1] < ip.data[i]) throw py::value_error("indptr must be non-decreasing");
        for (int64_t e = 0; e < nnz; ++e) {
          if (ix.data[e] < 0 || ix.data[e] >= n) throw py::value_error("indices must be in [0, n)");
          if (!(vv.data[e] >= 0) || !std::isfinite(vv.data[e])) throw py::value_error("values must be finite and >= 0");
        }
        for (int64_t t = 0; t < 2 * n; ++t)
          if (!std::isfinite(yv.data[t])) throw py::value_error("Y must be finite");
        TsneParams p;
        p.max_iter = checked_int(max_iter, "max_iter", 0, kTsneMaxIter);
        p.exaggeration_iter = checked_int(exaggeration_iter, "exaggeration_iter", 0, kTsneMaxIter);
        p.early_exaggeration = checked_scalar<double>(early_exaggeration, "early_exaggeration", above(0.0));
        p.learning_rate = checked_scalar<double>(learning_rate, "learning_rate", above(0.0));
        p.theta = checked_scalar<double>(theta, "theta", at_least(0.0));
        p.momentum_early = checked_scalar<double>(momentum_early, "momentum_early", between(0.0, 1.0));
        p.momentum_late = checked_scalar<double>(momentum_late, "momentum_late", between(0.0, 1.0));
        p.min_gain = checked_scalar<double>(min_gain, "min_gain", at_least(0.0));
        double kl;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          kl = tsne_optimize(ip.data, ix.data, vv.data, n, yv.data, p);
        }
        interrupt.raise_if_interrupted();
        return kl;
      },
      py::arg("indptr"), py::arg("indices"), py::arg("values"), py::arg("Y"), py::arg("max_iter"),
      py::arg("exaggeration_iter"), py::arg("early_exaggeration"), py::arg("learning_rate"), py::arg("theta"),
      py::arg("momentum_early") = 0.5, py::arg("momentum_late") = 0.8, py::arg("min_gain") = 0.01,
      "Barnes-Hut t-SNE gradient descent on Y (n, 2) in place; returns the final KL divergence.");
}
