// Bindings for the graph family: random walks and CSR sparse-dense products.
#include "grimoire/graph.h"

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

// A CSR structure from Python, checked so that no index can reach outside its arrays.
struct CheckedCsr {
  CsrGraph graph;
  int64_t n_edges = 0;
};

CheckedCsr checked_csr(const py::object& indptr_obj, const py::object& indices_obj, int64_t n_cols) {
  const py::array indptr_arr = require_ndarray(indptr_obj, "indptr");
  const py::array indices_arr = require_ndarray(indices_obj, "indices");
  require_ndim(indptr_arr, "indptr", 1, 1);
  require_ndim(indices_arr, "indices", 1, 1);
  const auto indptr = contiguous_view<int64_t>(indptr_arr, "indptr");
  const auto indices = contiguous_view<int64_t>(indices_arr, "indices");
  if (indptr.shape[0] < 1) throw py::value_error("indptr must have n_nodes + 1 >= 1 entries, got 0");
  const int64_t n = indptr.shape[0] - 1;
  const int64_t nnz = indices.shape[0];
  if (indptr.data[0] != 0 || indptr.data[n] != nnz)
    throw py::value_error("indptr must start at 0 and end at len(indices) = " + std::to_string(nnz));
  for (int64_t v = 0; v < n; ++v)
    if (indptr.data[v + 1] < indptr.data[v]) throw py::value_error("indptr must be non-decreasing");
  const int64_t bound = n_cols < 0 ? n : n_cols;
  for (int64_t e = 0; e < nnz; ++e)
    if (indices.data[e] < 0 || indices.data[e] >= bound)
      throw py::value_error("indices must lie in [0, " + std::to_string(bound) + "), found " +
                            std::to_string(indices.data[e]));
  CheckedCsr c;
  c.graph.n_nodes = n;
  c.graph.indptr = indptr.data;
  c.graph.indices = indices.data;
  c.n_edges = nnz;
  return c;
}

py::array_t<int64_t> random_walks_binding(const py::object& indptr, const py::object& indices,
                                          const py::object& cumulative_weights, const py::object& starts_obj,
                                          int64_t walk_length, double p, double q, uint64_t seed) {
  CheckedCsr c = checked_csr(indptr, indices, -1);
  for (int64_t v = 0; v < c.graph.n_nodes; ++v)
    for (int64_t e = c.graph.indptr[v] + 1; e < c.graph.indptr[v + 1]; ++e)
      if (c.graph.indices[e] <= c.graph.indices[e - 1])
        throw py::value_error("each row of indices must be sorted and without duplicates");
  if (!cumulative_weights.is_none()) {
    const py::array w_arr = require_ndarray(cumulative_weights, "cumulative_weights");
    require_ndim(w_arr, "cumulative_weights", 1, 1);
    const auto w = contiguous_view<double>(w_arr, "cumulative_weights");
    if (w.shape[0] != c.n_edges)
      throw py::value_error("cumulative_weights must have len(indices) = " + std::to_string(c.n_edges) +
                            " entries, got " + std::to_string(w.shape[0]));
    for (int64_t v = 0; v < c.graph.n_nodes; ++v)
      for (int64_t e = c.graph.indptr[v]; e < c.graph.indptr[v + 1]; ++e) {
        const double before = e == c.graph.indptr[v] ? 0.0 : w.data[e - 1];
        if (!(w.data[e] > before)) throw py::value_error("edge weights must be positive and finite");
      }
    c.graph.cumulative_weights = w.data;
  }
  const py::array starts_arr = require_ndarray(starts_obj, "starts");
  require_ndim(starts_arr, "starts", 1, 1);
  const auto starts = contiguous_view<int64_t>(starts_arr, "starts");
  for (int64_t i = 0; i < starts.shape[0]; ++i)
    if (starts.data[i] < 0 || starts.data[i] >= c.graph.n_nodes)
      throw py::value_error("starts must be node ids in [0, " + std::to_string(c.graph.n_nodes) + ")");
  if (walk_length < 1) throw py::value_error("walk_length must be >= 1, got " + std::to_string(walk_length));
  // node2vec's rejection sampling draws about max(1, 1/p, 1/q) / min(1, 1/p, 1/q) times per step:
  // p = 1e-40 never finishes. Within [1e-2, 1e2] a step takes at most ~1e4 draws.
  checked_scalar<double>(p, "p", between(1e-2, 1e2));
  checked_scalar<double>(q, "q", between(1e-2, 1e2));
  auto out = empty<int64_t>({starts.shape[0], walk_length});
  {
    py::gil_scoped_release release;
    random_walks(c.graph, starts.data, starts.shape[0], walk_length, p, q, seed, out.mutable_data());
  }
  return out;
}

py::array_t<float> spmm_binding(const py::object& indptr, const py::object& indices, const py::object& values_obj,
                                const py::object& x_obj) {
  const py::array x_arr = require_ndarray(x_obj, "x");
  require_ndim(x_arr, "x", 2, 2);
  const auto x = view<float>(x_arr, "x");
  if (x.shape[1] > 1 && x.strides[1] != 1)
    throw py::value_error("x must have contiguous rows (x.strides[1] == itemsize)");
  const CheckedCsr c = checked_csr(indptr, indices, x.shape[0]);
  const float* values = nullptr;
  if (!values_obj.is_none()) {
    const py::array v_arr = require_ndarray(values_obj, "values");
    require_ndim(v_arr, "values", 1, 1);
    const auto v = contiguous_view<float>(v_arr, "values");
    if (v.shape[0] != c.n_edges)
      throw py::value_error("values must have len(indices) = " + std::to_string(c.n_edges) + " entries, got " +
                            std::to_string(v.shape[0]));
    values = v.data;
  }
  auto y = empty<float>({c.graph.n_nodes, x.shape[1]});
  {
    py::gil_scoped_release release;
    spmm_csr(c.graph, x.shape[0], values, x.data, x.strides[0], x.shape[1], y.mutable_data());
  }
  return y;
}

}  // namespace

void bind_graph(py::module_& m) {
  m.def("random_walks", &random_walks_binding, py::arg("indptr"), py::arg("indices"),
        py::arg("cumulative_weights"), py::arg("starts"), py::arg("walk_length"), py::arg("p") = 1.0,
        py::arg("q") = 1.0, py::arg("seed") = 0);
  m.def("spmm_csr", &spmm_binding, py::arg("indptr"), py::arg("indices"), py::arg("values"), py::arg("x"),
        "Y = A @ X for a CSR matrix A (float32 values or all ones) and a dense float32 X.");
}
