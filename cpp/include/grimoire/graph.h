// Graph kernels (primer 7.3, 7.4) on a graph in CSR form: the neighbours of node v are
// indices[indptr[v] .. indptr[v+1]), sorted ascending, with optional edge weights alongside.
#pragma once

#include <cstdint>

namespace grimoire {

struct CsrGraph {
  int64_t n_nodes = 0;
  const int64_t* indptr = nullptr;   // (n_nodes + 1,)
  const int64_t* indices = nullptr;  // (n_edges,), each row sorted
  // Per-row running sums of the edge weights (n_edges,), or nullptr for unweighted sampling:
  // a neighbour is drawn with probability w / sum(w) by a binary search in its row.
  const double* cumulative_weights = nullptr;
};

// Random walks (DeepWalk, and node2vec's second-order walk when p or q != 1).
//   out is (n_walks, walk_length) int64: walk i starts at starts[i]; a walk that reaches a node
//   without out-edges stops and the rest of its row is -1.
// node2vec: from t -> v, the next node x is drawn with weight w(v,x) * alpha(t,x), where
//   alpha = 1/p if x == t, 1 if x is a neighbour of t, 1/q otherwise (rejection sampling, so the
//   cost per step does not grow with the degree). Each walk has its own random stream derived
//   from (seed, i): the result does not depend on the number of threads.
void random_walks(const CsrGraph& g, const int64_t* starts, int64_t n_walks, int64_t walk_length, double p,
                  double q, uint64_t seed, int64_t* out);

// Message passing (primer 7.4), the AGGREGATE step as a sparse-dense product:
//   Y (n_nodes, n_features) = A @ X, A the CSR matrix with `values` (n_edges,) (1 if nullptr),
//   X (n_cols, n_features) with row stride x_row_stride, Y C-contiguous.
void spmm_csr(const CsrGraph& a, int64_t n_cols, const float* values, const float* x, int64_t x_row_stride,
              int64_t n_features, float* y);

}  // namespace grimoire
