// Decision trees (primer 4.1.3-4.1.5): CART split search on binned features, and traversal.
//
// The builder grows one tree on features already quantised into bins:
//   codes is (n_features, n_samples) uint16, column-major: codes[f * n_samples + i] is the bin of
//   sample i on feature f; n_bins[f] bins on feature f; a split (f, b) sends a sample left when
//   codes[f, i] <= b (the caller maps b back to a real threshold t_f[b]: x <= t_f[b]).
// Criteria (the gain is the decrease of weighted impurity, W * impurity(node) - W_L * imp(L) - W_R * imp(R)):
//   gini           impurity 1 - sum_k p_k^2             child score sum_k c_k^2 / W
//   entropy        impurity -sum_k p_k log2 p_k         child score sum_k c_k log2 c_k - W log2 W
//   squared_error  impurity mean(y^2) - mean(y)^2       child score (sum w y)^2 / W
//   newton         (gradient boosting) child score G^2 / (H + lambda), leaf value -G / (H + lambda)
//     with G = sum w g, H = sum w h over the node (XGBoost / LightGBM's second-order gain).
// Split finding: for each candidate feature a histogram of the node's samples over the bins
// (per-bin sums of the criterion's channels, O(m + bins)), scanned left to right; nodes with far
// fewer samples than bins sort their samples by bin instead (O(m log m)), which gives the same
// partitions. With one bin per distinct training value the search is exact CART.
// newton has a builder of its own (LightGBM's): the rows of each leaf contiguous in an index array,
// gradients gathered into that order, the smaller child's histograms built and the larger's
// subtracted from the parent's, histograms built in parallel over features; codes may be uint8.
//
// The tree is returned as flat arrays (sklearn's layout): node 0 is the root; children_left/right
// are -1 at leaves; a child's index is always larger than its parent's.
#pragma once

#include <cstdint>
#include <vector>

namespace grimoire {

enum class Criterion : int { gini = 0, entropy = 1, squared_error = 2, newton = 3 };

struct TreeParams {
  Criterion criterion = Criterion::gini;
  int64_t max_depth = -1;            // < 0: unlimited
  int64_t min_samples_split = 2;
  int64_t min_samples_leaf = 1;
  int64_t max_features = 0;          // features tried per node (0 or >= n_features: all)
  int64_t max_leaf_nodes = -1;       // > 0: grow best-first up to this many leaves; else depth-first
  double min_impurity_decrease = 0;  // split only when gain / W_root >= this
  double l2 = 0;                     // newton: lambda
  double min_hessian = 1e-3;         // newton: least H in a child
  uint64_t seed = 0;                 // feature sampling per node
  int num_threads = 1;               // threads over candidate features in one node
};

// What the tree learns from. Classification: y_class (class index per sample) and n_classes;
// squared_error: y; newton: y holds the gradient and h the hessian. w: sample weights or null (1).
struct TreeData {
  const uint16_t* codes = nullptr;
  const uint8_t* codes8 = nullptr;  // newton only: uint8 codes (<= 256 bins) in place of codes

  int64_t n_samples = 0, n_features = 0;
  const int32_t* n_bins = nullptr;
  const int32_t* y_class = nullptr;
  int32_t n_classes = 0;
  const double* y = nullptr;
  const double* h = nullptr;
  const double* w = nullptr;
};

struct Tree {
  int64_t n_values = 1;                  // columns of value: n_classes for gini/entropy, else 1
  std::vector<int64_t> left, right;      // -1 at leaves
  std::vector<int64_t> feature;          // -2 at leaves
  std::vector<int64_t> threshold_bin;    // -2 at leaves
  std::vector<int64_t> threshold_bin_hi; // the right child's lowest bin (for a midpoint threshold)
  std::vector<double> value;             // (n_nodes, n_values): class fractions, mean, or -G/(H+l2)
  std::vector<double> impurity;          // per node (0 for newton)
  std::vector<double> gain;              // the split's weighted impurity decrease (0 at leaves)
  std::vector<int64_t> n_node_samples;   // distinct samples in the node
  std::vector<double> weighted_n_node_samples;
  int64_t n_nodes() const { return static_cast<int64_t>(left.size()); }
  int64_t max_depth = 0;
};

// Grows a tree on the samples listed in `sample_idx` (n_idx of them; samples with weight 0
// should be left out by the caller). newton: leaf_of_row, when not null, gets the leaf that each
// of the n_samples rows reaches (what the boosting update needs, without a traversal).
Tree build_tree(const TreeData& data, const TreeParams& params, const int64_t* sample_idx, int64_t n_idx,
                int64_t* leaf_of_row = nullptr);

// The largest of n codes (0 when n == 0): the bindings check every tree's codes against n_bins
// with it (boosting does once per tree, so it is a vectorised loop, not std::max_element).
int64_t max_code(const uint8_t* codes, int64_t n);
int64_t max_code(const uint16_t* codes, int64_t n);

// n_trees trees, in parallel over trees (each tree single-threaded). Tree t uses seeds[t]; with
// bootstrap it trains on max_samples draws with replacement (sample weights multiplied by the
// draw counts), and the counts are written to inbag[t * n_samples + i] when inbag is not null.
std::vector<Tree> build_forest(const TreeData& data, const TreeParams& params, int64_t n_trees,
                               const uint64_t* seeds, bool bootstrap, int64_t max_samples, uint16_t* inbag);

// Leaf reached by each row of X (n, d), element (i, j) at x[i * rs + j * cs]:
// x_j <= threshold goes left. Nodes must satisfy the layout above (the bindings check it).
void tree_apply(const double* x, int64_t n, int64_t rs, int64_t cs, const int64_t* left, const int64_t* right,
                const int64_t* feature, const double* threshold, int64_t* out);
// The same on binned data (codes as in build_tree): code <= threshold_bin goes left.
void tree_apply_binned(const uint16_t* codes, int64_t n, const int64_t* left, const int64_t* right,
                       const int64_t* feature, const int64_t* threshold_bin, int64_t* out);

}  // namespace grimoire
