// Binding for UMAP's SGD layout (_core.umap_optimize), used by grimoire.ml.UMAP.
#include "grimoire/umap.h"

#include <cmath>
#include <string>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {
constexpr int64_t kUmapMaxEpochs = 1000000;
constexpr double kUmapMaxNegativeRate = 1000.0;
}  // namespace

void bind_umap(py::module_& m) {
  m.def(
      "umap_optimize",
      [](py::object h_obj, py::object t_obj, py::object e_obj, py::object y_obj, py::object yt_obj, int64_t n_epochs,
         double a, double b, double gamma, double initial_alpha, double negative_sample_rate, uint64_t seed) {
        const Strided<int64_t> hv = contiguous_view<int64_t>(require_ndarray(h_obj, "head"), "head");
        const Strided<int64_t> tv = contiguous_view<int64_t>(require_ndarray(t_obj, "tail"), "tail");
        const Strided<double> ev = contiguous_view<double>(require_ndarray(e_obj, "epochs_per_sample"), "epochs_per_sample");
        if (hv.ndim() != 1) throw py::value_error("head must be 1-D");
        const int64_t ne = hv.shape[0];
        require_same_shape(tv.shape, {ne}, "tail", "head");
        require_same_shape(ev.shape, {ne}, "epochs_per_sample", "head");
        py::array ya = require_ndarray(y_obj, "Y");
        require_ndim(ya, "Y", 2, 2);
        const Strided<double> yv = contiguous_view<double>(ya, "Y", /*writable=*/true);
        const bool same = y_obj.is(yt_obj) || yt_obj.is_none();
        py::array yta = same ? ya : require_ndarray(yt_obj, "Y_tail");
        require_ndim(yta, "Y_tail", 2, 2);
        const Strided<double> ytv = contiguous_view<double>(yta, "Y_tail", /*writable=*/true);
        if (ytv.shape[1] != yv.shape[1]) throw py::value_error("Y and Y_tail must have the same number of columns");
        if (!same && may_overlap(ya, yta)) throw py::value_error("Y_tail must not overlap Y (pass None to use Y)");
        const int64_t n = yv.shape[0], nt = ytv.shape[0], dim = yv.shape[1];
        if (nt < 1) throw py::value_error("Y_tail must have at least one row");
        for (int64_t e = 0; e < ne; ++e) {
          if (hv.data[e] < 0 || hv.data[e] >= n) throw py::value_error("head must index rows of Y");
          if (tv.data[e] < 0 || tv.data[e] >= nt) throw py::value_error("tail must index rows of Y_tail");
          if (!(ev.data[e] > 0) || !std::isfinite(ev.data[e])) throw py::value_error("epochs_per_sample must be finite and > 0");
        }
        // Upper bounds keep the work finite: the negatives drawn per edge and epoch are
        // negative_sample_rate / epochs_per_sample (umap-learn uses 5).
        UmapParams p;
        p.n_epochs = checked_int(n_epochs, "n_epochs", 0, kUmapMaxEpochs);
        p.a = checked_scalar<double>(a, "a", above(0.0));
        p.b = checked_scalar<double>(b, "b", above(0.0));
        p.gamma = checked_scalar<double>(gamma, "gamma", at_least(0.0));
        p.initial_alpha = checked_scalar<double>(initial_alpha, "initial_alpha", above(0.0));
        p.negative_sample_rate =
            checked_scalar<double>(negative_sample_rate, "negative_sample_rate", {0.0, kUmapMaxNegativeRate, true, false});
        p.seed = seed;
        p.move_other = same;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          umap_optimize(hv.data, tv.data, ev.data, ne, yv.data, n, ytv.data, nt, dim, p);
        }
        interrupt.raise_if_interrupted();
      },
      py::arg("head"), py::arg("tail"), py::arg("epochs_per_sample"), py::arg("Y"), py::arg("Y_tail"),
      py::arg("n_epochs"), py::arg("a"), py::arg("b"), py::arg("gamma") = 1.0, py::arg("initial_alpha") = 1.0,
      py::arg("negative_sample_rate") = 5.0, py::arg("seed") = 0,
      "UMAP SGD layout, Y updated in place; Y_tail None (fit: edges inside Y) or a fixed embedding (transform).");
}
