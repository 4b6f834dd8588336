// Bindings for the tree family: grimoire.ml's trees, forests and gradient boosting sit on
// _core.tree_build, _core.forest_build, _core.tree_apply and _core.tree_apply_binned.
#include "grimoire/tree.h"

#include <pybind11/stl.h>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

Criterion criterion_from(const std::string& name) {
  if (name == "gini") return Criterion::gini;
  if (name == "entropy") return Criterion::entropy;
  if (name == "squared_error") return Criterion::squared_error;
  if (name == "newton") return Criterion::newton;
  throw py::value_error("criterion must be 'gini', 'entropy', 'squared_error' or 'newton', got '" + name + "'");
}

template <typename T>
py::array_t<T> to_array(const std::vector<T>& v, std::vector<int64_t> shape) {
  py::array_t<T> a = empty<T>(shape);
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::dict tree_to_dict(const Tree& t) {
  py::dict d;
  const int64_t n = t.n_nodes();
  d["children_left"] = to_array(t.left, {n});
  d["children_right"] = to_array(t.right, {n});
  d["feature"] = to_array(t.feature, {n});
  d["threshold_bin"] = to_array(t.threshold_bin, {n});
  d["threshold_bin_hi"] = to_array(t.threshold_bin_hi, {n});
  d["value"] = to_array(t.value, {n, t.n_values});
  d["impurity"] = to_array(t.impurity, {n});
  d["gain"] = to_array(t.gain, {n});
  d["n_node_samples"] = to_array(t.n_node_samples, {n});
  d["weighted_n_node_samples"] = to_array(t.weighted_n_node_samples, {n});
  d["max_depth"] = t.max_depth;
  return d;
}

struct Inputs {
  TreeData data;
  TreeParams params;
};

// Checks and gathers the arguments shared by tree_build and forest_build.
Inputs gather(const py::object& codes_obj, const py::object& n_bins_obj, const std::string& criterion,
              const py::object& y_obj, const py::object& h_obj, const py::object& w_obj, int32_t n_classes,
              int64_t max_depth, int64_t min_samples_split, int64_t min_samples_leaf, int64_t max_features,
              int64_t max_leaf_nodes, double min_impurity_decrease, double l2, uint64_t seed, int num_threads) {
  Inputs in;
  TreeParams& p = in.params;
  p.criterion = criterion_from(criterion);
  p.max_depth = max_depth;
  if (min_samples_split < 2) throw py::value_error("min_samples_split must be >= 2, got " + std::to_string(min_samples_split));
  if (min_samples_leaf < 1) throw py::value_error("min_samples_leaf must be >= 1, got " + std::to_string(min_samples_leaf));
  if (max_leaf_nodes == 0 || max_leaf_nodes == 1)
    throw py::value_error("max_leaf_nodes must be >= 2 or negative (unlimited), got " + std::to_string(max_leaf_nodes));
  checked_scalar<double>(min_impurity_decrease, "min_impurity_decrease", at_least(0.0));
  checked_scalar<double>(l2, "l2", at_least(0.0));
  checked_int(num_threads, "num_threads", 1, 4096);  // per-thread histograms are allocated up front
  p.min_samples_split = min_samples_split;
  p.min_samples_leaf = min_samples_leaf;
  p.max_features = max_features;
  p.max_leaf_nodes = max_leaf_nodes;
  p.min_impurity_decrease = min_impurity_decrease;
  p.l2 = l2;
  p.seed = seed;
  p.num_threads = num_threads;

  py::array codes = require_ndarray(codes_obj, "codes");
  require_ndim(codes, "codes", 2, 2);
  TreeData& d = in.data;
  // uint8 codes (<= 256 bins) for boosting, whose builder streams them; uint16 for every criterion.
  if (p.criterion == Criterion::newton && has_dtype<uint8_t>(codes)) {
    const Strided<uint8_t> cv = contiguous_view<uint8_t>(codes, "codes");
    d.codes8 = cv.data;
    d.n_features = cv.shape[0];
    d.n_samples = cv.shape[1];
  } else {
    const Strided<uint16_t> cv = contiguous_view<uint16_t>(codes, "codes");
    d.codes = cv.data;
    d.n_features = cv.shape[0];
    d.n_samples = cv.shape[1];
  }
  py::array nb = require_ndarray(n_bins_obj, "n_bins");
  require_ndim(nb, "n_bins", 1, 1);
  const Strided<int32_t> nbv = contiguous_view<int32_t>(nb, "n_bins");
  require_same_shape(nbv.shape, {d.n_features}, "n_bins", "codes' first axis");
  d.n_bins = nbv.data;
  for (int64_t f = 0; f < d.n_features; ++f)
    if (nbv.data[f] < 1 || nbv.data[f] > 65536)
      throw py::value_error("n_bins[" + std::to_string(f) + "] must be in [1, 65536], got " + std::to_string(nbv.data[f]));
  // Every code must lie below its feature's bin count (the histograms are sized by n_bins).
  for (int64_t f = 0; f < d.n_features; ++f) {
    const int64_t mx = d.codes8 ? max_code(d.codes8 + f * d.n_samples, d.n_samples)
                                : max_code(d.codes + f * d.n_samples, d.n_samples);
    if (d.n_samples && mx >= nbv.data[f])
      throw py::value_error("codes[" + std::to_string(f) + "] holds bin " + std::to_string(mx) + " but n_bins[" +
                            std::to_string(f) + "] is " + std::to_string(nbv.data[f]));
  }
  py::array y = require_ndarray(y_obj, "y");
  require_ndim(y, "y", 1, 1);
  if (p.criterion == Criterion::gini || p.criterion == Criterion::entropy) {
    const Strided<int32_t> yv = contiguous_view<int32_t>(y, "y");
    require_same_shape(yv.shape, {d.n_samples}, "y", "codes' second axis");
    // (Histograms hold n_classes counts per bin and node: bounded so they are allocated, not refused.)
    checked_int(n_classes, "n_classes (for classification)", 1, 1 << 20);
    for (int64_t i = 0; i < d.n_samples; ++i)
      if (yv.data[i] < 0 || yv.data[i] >= n_classes)
        throw py::value_error("y[" + std::to_string(i) + "] = " + std::to_string(yv.data[i]) + " is not a class index in [0, " +
                              std::to_string(n_classes) + ")");
    d.y_class = yv.data;
    d.n_classes = n_classes;
  } else {
    const Strided<double> yv = contiguous_view<double>(y, "y");
    require_same_shape(yv.shape, {d.n_samples}, "y", "codes' second axis");
    d.y = yv.data;
    if (p.criterion == Criterion::newton) {
      if (h_obj.is_none()) throw py::value_error("h (the hessian) is required for criterion 'newton'");
      py::array h = require_ndarray(h_obj, "h");
      require_ndim(h, "h", 1, 1);
      const Strided<double> hv = contiguous_view<double>(h, "h");
      require_same_shape(hv.shape, {d.n_samples}, "h", "codes' second axis");
      d.h = hv.data;
    }
  }
  if (!w_obj.is_none()) {
    py::array w = require_ndarray(w_obj, "sample_weight");
    require_ndim(w, "sample_weight", 1, 1);
    const Strided<double> wv = contiguous_view<double>(w, "sample_weight");
    require_same_shape(wv.shape, {d.n_samples}, "sample_weight", "codes' second axis");
    for (int64_t i = 0; i < d.n_samples; ++i)
      if (!(wv.data[i] >= 0) || std::isinf(wv.data[i]))
        throw py::value_error("sample_weight must be finite and >= 0 (sample " + std::to_string(i) + ")");
    d.w = wv.data;
  }
  return in;
}

// The node arrays of a fitted tree, as the traversal reads them.
struct TreeNodes {
  Strided<int64_t> left, right, feature;
};

// The node arrays, checked to describe a tree the traversal can walk: children inside the
// array and after their parent (so every walk ends), features inside [0, n_features).
TreeNodes checked_nodes(const py::object& l_obj, const py::object& r_obj, const py::object& f_obj,
                        int64_t n_features) {
  const Strided<int64_t> l = contiguous_view<int64_t>(require_ndarray(l_obj, "children_left"), "children_left");
  const Strided<int64_t> r = contiguous_view<int64_t>(require_ndarray(r_obj, "children_right"), "children_right");
  const Strided<int64_t> f = contiguous_view<int64_t>(require_ndarray(f_obj, "feature"), "feature");
  if (l.ndim() != 1) throw py::value_error("children_left must be 1-D");
  const int64_t n = l.shape[0];
  if (n < 1) throw py::value_error("children_left must hold at least one node");
  require_same_shape(r.shape, l.shape, "children_right", "children_left");
  require_same_shape(f.shape, l.shape, "feature", "children_left");
  for (int64_t i = 0; i < n; ++i) {
    const bool leaf_l = l.data[i] < 0, leaf_r = r.data[i] < 0;
    if (leaf_l != leaf_r) throw py::value_error("children_left/children_right: node " + std::to_string(i) + " has one child only");
    if (leaf_l) continue;
    if (l.data[i] <= i || l.data[i] >= n || r.data[i] <= i || r.data[i] >= n)
      throw py::value_error("children_left/children_right: node " + std::to_string(i) + " has a child outside (" +
                            std::to_string(i) + ", " +
                            std::to_string(n) + ")");
    if (f.data[i] < 0 || f.data[i] >= n_features)
      throw py::value_error("feature: node " + std::to_string(i) + " splits on feature " + std::to_string(f.data[i]) +
                            ", outside [0, " + std::to_string(n_features) + ")");
  }
  return {l, r, f};
}

}  // namespace

void bind_tree(py::module_& m) {
  m.def(
      "tree_build",
      [](py::object codes, py::object n_bins, const std::string& criterion, py::object y, py::object h,
         py::object sample_weight, py::object sample_indices, int32_t n_classes, int64_t max_depth,
         int64_t min_samples_split, int64_t min_samples_leaf, int64_t max_features, int64_t max_leaf_nodes,
         double min_impurity_decrease, double l2, uint64_t seed, int num_threads) {
        Inputs in = gather(codes, n_bins, criterion, y, h, sample_weight, n_classes, max_depth, min_samples_split,
                           min_samples_leaf, max_features, max_leaf_nodes, min_impurity_decrease, l2, seed,
                           num_threads);
        std::vector<int64_t> idx;
        if (sample_indices.is_none()) {
          idx.reserve(in.data.n_samples);
          for (int64_t i = 0; i < in.data.n_samples; ++i)
            if (!in.data.w || in.data.w[i] > 0) idx.push_back(i);
        } else {
          py::array si = require_ndarray(sample_indices, "sample_indices");
          require_ndim(si, "sample_indices", 1, 1);
          const Strided<int64_t> sv = contiguous_view<int64_t>(si, "sample_indices");
          for (int64_t k = 0; k < sv.shape[0]; ++k) {
            if (sv.data[k] < 0 || sv.data[k] >= in.data.n_samples)
              throw py::value_error("sample_indices[" + std::to_string(k) + "] is outside [0, n_samples)");
            idx.push_back(sv.data[k]);
          }
        }
        Tree t;
        const bool newton = in.params.criterion == Criterion::newton;
        py::array_t<int64_t> leaf = empty<int64_t>({newton ? in.data.n_samples : 0});
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          t = build_tree(in.data, in.params, idx.data(), static_cast<int64_t>(idx.size()),
                         newton ? leaf.mutable_data() : nullptr);
        }
        interrupt.raise_if_interrupted();
        py::dict out = tree_to_dict(t);
        if (newton) out["leaf"] = leaf;
        return out;
      },
      py::arg("codes"), py::arg("n_bins"), py::arg("criterion"), py::arg("y"), py::arg("h") = py::none(),
      py::arg("sample_weight") = py::none(), py::arg("sample_indices") = py::none(), py::arg("n_classes") = 0,
      py::arg("max_depth") = -1, py::arg("min_samples_split") = 2, py::arg("min_samples_leaf") = 1,
      py::arg("max_features") = 0, py::arg("max_leaf_nodes") = -1, py::arg("min_impurity_decrease") = 0.0,
      py::arg("l2") = 0.0, py::arg("seed") = 0, py::arg("num_threads") = 1,
      "Grow one CART tree on binned features (uint16 codes; uint8 also for 'newton'); returns its node arrays "
      "as a dict, for 'newton' with 'leaf': the leaf each sample (column of codes) reaches.");

  m.def(
      "forest_build",
      [](py::object codes, py::object n_bins, const std::string& criterion, py::object y, py::object sample_weight,
         int32_t n_classes, py::object seeds_obj, bool bootstrap, int64_t max_samples, int64_t max_depth,
         int64_t min_samples_split, int64_t min_samples_leaf, int64_t max_features, int64_t max_leaf_nodes,
         double min_impurity_decrease, bool return_inbag) {
        Inputs in = gather(codes, n_bins, criterion, y, py::none(), sample_weight, n_classes, max_depth,
                           min_samples_split, min_samples_leaf, max_features, max_leaf_nodes, min_impurity_decrease,
                           0.0, 0, 1);
        if (in.params.criterion == Criterion::newton) throw py::value_error("forest_build does not take 'newton'");
        py::array sa = require_ndarray(seeds_obj, "seeds");
        require_ndim(sa, "seeds", 1, 1);
        const Strided<uint64_t> sv = contiguous_view<uint64_t>(sa, "seeds");
        const int64_t n_trees = sv.shape[0];
        // Bootstrap draws max_samples rows per tree: at most n_samples (sklearn's bound), which
        // also bounds the work.
        if (bootstrap) checked_int(max_samples, "max_samples", 1, std::max<int64_t>(1, in.data.n_samples));
        py::object inbag_obj = py::none();
        uint16_t* inbag = nullptr;
        if (return_inbag && bootstrap) {
          py::array_t<uint16_t> a = empty<uint16_t>({n_trees, in.data.n_samples});
          inbag = a.mutable_data();
          inbag_obj = a;
        }
        std::vector<Tree> trees;
        Interruptible interrupt;
        {
          py::gil_scoped_release release;
          trees = build_forest(in.data, in.params, n_trees, sv.data, bootstrap, max_samples, inbag);
        }
        interrupt.raise_if_interrupted();
        py::list out;
        for (const Tree& t : trees) out.append(tree_to_dict(t));
        return py::make_tuple(out, inbag_obj);
      },
      py::arg("codes"), py::arg("n_bins"), py::arg("criterion"), py::arg("y"), py::arg("sample_weight"),
      py::arg("n_classes"), py::arg("seeds"), py::arg("bootstrap"), py::arg("max_samples"), py::arg("max_depth") = -1,
      py::arg("min_samples_split") = 2, py::arg("min_samples_leaf") = 1, py::arg("max_features") = 0,
      py::arg("max_leaf_nodes") = -1, py::arg("min_impurity_decrease") = 0.0, py::arg("return_inbag") = false,
      "Grow len(seeds) trees in parallel (one per thread); returns (list of node-array dicts, in-bag counts or None).");

  m.def(
      "tree_apply",
      [](py::object x_obj, py::object l_obj, py::object r_obj, py::object f_obj, py::object t_obj) {
        py::array x = require_ndarray(x_obj, "X");
        require_ndim(x, "X", 2, 2);
        const Strided<double> xv = view<double>(x, "X");
        const TreeNodes nodes = checked_nodes(l_obj, r_obj, f_obj, xv.shape[1]);
        const Strided<double> t = contiguous_view<double>(require_ndarray(t_obj, "threshold"), "threshold");
        require_same_shape(t.shape, nodes.left.shape, "threshold", "children_left");
        py::array_t<int64_t> out = empty<int64_t>({xv.shape[0]});
        int64_t* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          tree_apply(xv.data, xv.shape[0], xv.strides[0], xv.strides[1], nodes.left.data, nodes.right.data,
                     nodes.feature.data, t.data, o);
        }
        return out;
      },
      py::arg("X"), py::arg("children_left"), py::arg("children_right"), py::arg("feature"), py::arg("threshold"),
      "Leaf index reached by each row of X (float64, any strides): x[feature] <= threshold goes left.");

  m.def(
      "tree_apply_binned",
      [](py::object c_obj, py::object l_obj, py::object r_obj, py::object f_obj, py::object t_obj) {
        py::array c = require_ndarray(c_obj, "codes");
        require_ndim(c, "codes", 2, 2);
        const Strided<uint16_t> cv = contiguous_view<uint16_t>(c, "codes");
        const TreeNodes nodes = checked_nodes(l_obj, r_obj, f_obj, cv.shape[0]);
        const Strided<int64_t> t = contiguous_view<int64_t>(require_ndarray(t_obj, "threshold_bin"), "threshold_bin");
        require_same_shape(t.shape, nodes.left.shape, "threshold_bin", "children_left");
        py::array_t<int64_t> out = empty<int64_t>({cv.shape[1]});
        int64_t* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          tree_apply_binned(cv.data, cv.shape[1], nodes.left.data, nodes.right.data, nodes.feature.data, t.data, o);
        }
        return out;
      },
      py::arg("codes"), py::arg("children_left"), py::arg("children_right"), py::arg("feature"),
      py::arg("threshold_bin"),
      "Leaf index reached by each column of codes (n_features, n_samples) uint16: code <= threshold_bin goes left.");
}
