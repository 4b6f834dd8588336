// Decision-tree builders and traversal (see tree.h). Scalar code: the work is scattered
// histogram updates and branchy scans, which SIMD does not help; speed comes from binning,
// the sort path for small nodes, and threads (over features in a node, over trees in a forest).
// Two builders: Builder (CART: gini, entropy, squared_error) and NewtonBuilder (boosting).
#include "grimoire/tree.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <queue>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

const bool registered = (register_family("tree", {Isa::scalar}), true);

struct Rng {  // splitmix64: small, fast, good enough for sampling features and bootstraps
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

// The criterion's per-sample channels (the last one is the sample count) and scores.
template <Criterion C>
struct Ops {
  static int channels(const TreeData& d) {
    if constexpr (C == Criterion::gini || C == Criterion::entropy) return d.n_classes + 1;
    else return 4;  // squared_error: w, w y, w y^2, count
  }
  static inline void add(const TreeData& d, int64_t i, double* h, int nc) {
    const double w = d.w ? d.w[i] : 1.0;
    if constexpr (C == Criterion::gini || C == Criterion::entropy) {
      h[d.y_class[i]] += w;
    } else {
      const double y = d.y[i];
      h[0] += w;
      h[1] += w * y;
      h[2] += w * y * y;
    }
    h[nc - 1] += 1.0;
  }
  static double weight(const double* h, int nc) {
    if constexpr (C == Criterion::gini || C == Criterion::entropy) {
      double w = 0;
      for (int k = 0; k < nc - 1; ++k) w += h[k];
      return w;
    } else {
      return h[0];
    }
  }
  // -W * impurity up to a term linear in the channels (which cancels in a gain).
  static double score(const double* h, int nc) {
    if constexpr (C == Criterion::gini) {
      double w = 0, s = 0;
      for (int k = 0; k < nc - 1; ++k) {
        w += h[k];
        s += h[k] * h[k];
      }
      return w > 0 ? s / w : 0.0;
    } else if constexpr (C == Criterion::entropy) {
      double w = 0, s = 0;
      for (int k = 0; k < nc - 1; ++k) {
        w += h[k];
        if (h[k] > 0) s += h[k] * std::log2(h[k]);
      }
      return w > 0 ? s - w * std::log2(w) : 0.0;
    } else {
      return h[0] > 0 ? h[1] * h[1] / h[0] : 0.0;
    }
  }
  static bool child_ok(const double* h, int nc, const TreeParams& p) {
    if (h[nc - 1] < static_cast<double>(p.min_samples_leaf)) return false;
    return weight(h, nc) > 0;
  }
  static double impurity(const double* h, int nc) {
    if constexpr (C == Criterion::gini || C == Criterion::entropy) {
      const double w = weight(h, nc);
      if (w <= 0) return 0.0;
      double s = 0;
      for (int k = 0; k < nc - 1; ++k) {
        const double p = h[k] / w;
        if constexpr (C == Criterion::gini) s += p * p;
        else if (p > 0) s -= p * std::log2(p);
      }
      return C == Criterion::gini ? 1.0 - s : s;
    } else {
      if (h[0] <= 0) return 0.0;
      const double m = h[1] / h[0];
      return std::max(0.0, h[2] / h[0] - m * m);
    }
  }
  static void value(const double* h, int nc, double* out) {
    if constexpr (C == Criterion::gini || C == Criterion::entropy) {
      const double w = weight(h, nc);
      for (int k = 0; k < nc - 1; ++k) out[k] = w > 0 ? h[k] / w : 0.0;
    } else {
      out[0] = h[0] > 0 ? h[1] / h[0] : 0.0;
    }
  }
};

// A gain beats the best so far only by more than rounding: equal gains summed in a different
// order (histogram vs sort path, weights vs repeated samples) must not change which split wins.
inline bool better(double gain, double best) {
  if (best == -std::numeric_limits<double>::infinity()) return true;
  return gain > best + 1e-10 * std::max(1.0, std::fabs(best));
}

struct Split {
  int64_t feature = -1, bin = -1, bin_hi = -1;  // left: codes <= bin; bin_hi: the right child's lowest bin
  double gain = -std::numeric_limits<double>::infinity();
  std::vector<double> left;  // channel sums of the left child
};

struct Node {
  int64_t id, start, end, depth;
  std::vector<double> total;
  Split split;
};

template <Criterion C>
class Builder {
 public:
  Builder(const TreeData& d, const TreeParams& p, const int64_t* idx, int64_t n_idx)
      : d_(d), p_(p), idx_(idx, idx + n_idx), rng_(p.seed ^ 0x5DEECE66Dull) {
    nc_ = Ops<C>::channels(d);
    max_bins_ = 1;
    for (int64_t f = 0; f < d.n_features; ++f) max_bins_ = std::max<int64_t>(max_bins_, d.n_bins[f]);
    threads_ = std::max(1, p.num_threads);
    hist_.assign(threads_, std::vector<double>(static_cast<size_t>(max_bins_) * nc_));
    pairs_.resize(threads_);
    features_.resize(d.n_features);
    std::iota(features_.begin(), features_.end(), int64_t{0});
    max_features_ = p.max_features <= 0 || p.max_features > d.n_features ? d.n_features : p.max_features;
  }

  Tree build() {
    Tree t;
    t.n_values = (C == Criterion::gini || C == Criterion::entropy) ? d_.n_classes : 1;
    std::vector<double> total(nc_, 0.0);
    for (int64_t i : idx_) Ops<C>::add(d_, i, total.data(), nc_);
    w_root_ = Ops<C>::weight(total.data(), nc_);
    Node root = make_node(t, 0, static_cast<int64_t>(idx_.size()), 0, std::move(total));
    const bool best_first = p_.max_leaf_nodes > 0;
    auto cmp = [](const Node& a, const Node& b) {
      return a.split.gain < b.split.gain || (a.split.gain == b.split.gain && a.id > b.id);
    };
    std::priority_queue<Node, std::vector<Node>, decltype(cmp)> heap(cmp);
    std::vector<Node> stack;
    if (best_first) heap.push(std::move(root));
    else stack.push_back(std::move(root));
    int64_t leaves = 1;
    while (best_first ? !heap.empty() : !stack.empty()) {
      if (interrupted()) break;  // Ctrl-C: the tree is left unfinished and the binding raises
      Node node;
      if (best_first) {
        node = heap.top();
        heap.pop();
      } else {
        node = std::move(stack.back());
        stack.pop_back();
      }
      if (node.split.feature < 0 || (best_first && leaves >= p_.max_leaf_nodes)) continue;
      // Partition the node's samples: codes <= bin first.
      const uint16_t* col = d_.codes + node.split.feature * d_.n_samples;
      const int64_t b = node.split.bin;
      auto mid_it = std::partition(idx_.begin() + node.start, idx_.begin() + node.end,
                                   [&](int64_t i) { return col[i] <= b; });
      const int64_t mid = mid_it - idx_.begin();
      std::vector<double> right(nc_);
      for (int k = 0; k < nc_; ++k) right[k] = node.total[k] - node.split.left[k];
      right[nc_ - 1] = static_cast<double>(node.end - mid);
      std::vector<double> left = std::move(node.split.left);
      left[nc_ - 1] = static_cast<double>(mid - node.start);
      const int64_t id = node.id;
      t.feature[id] = node.split.feature;
      t.threshold_bin[id] = b;
      t.threshold_bin_hi[id] = node.split.bin_hi;
      t.gain[id] = node.split.gain;
      Node l = make_node(t, node.start, mid, node.depth + 1, std::move(left));
      Node r = make_node(t, mid, node.end, node.depth + 1, std::move(right));
      t.left[id] = l.id;
      t.right[id] = r.id;
      ++leaves;
      if (best_first) {
        heap.push(std::move(l));
        heap.push(std::move(r));
      } else {
        stack.push_back(std::move(r));
        stack.push_back(std::move(l));
      }
    }
    return t;
  }

 private:
  Node make_node(Tree& t, int64_t start, int64_t end, int64_t depth, std::vector<double> total) {
    Node node;
    node.id = t.n_nodes();
    node.start = start;
    node.end = end;
    node.depth = depth;
    t.max_depth = std::max(t.max_depth, depth);
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(-2);
    t.threshold_bin.push_back(-2);
    t.threshold_bin_hi.push_back(-2);
    t.gain.push_back(0.0);
    const size_t v0 = t.value.size();
    t.value.resize(v0 + t.n_values);
    Ops<C>::value(total.data(), nc_, t.value.data() + v0);
    const double imp = Ops<C>::impurity(total.data(), nc_);
    t.impurity.push_back(imp);
    t.n_node_samples.push_back(end - start);
    t.weighted_n_node_samples.push_back(Ops<C>::weight(total.data(), nc_));
    const int64_t m = end - start;
    const bool leaf = (p_.max_depth >= 0 && depth >= p_.max_depth) || m < p_.min_samples_split ||
                      m / 2 < p_.min_samples_leaf ||  // m < 2 min_samples_leaf, without overflow
                      imp <= std::numeric_limits<double>::epsilon();
    node.total = std::move(total);
    if (!leaf) find_split(node);
    if (node.split.feature >= 0) {
      const double improvement = node.split.gain / (w_root_ > 0 ? w_root_ : 1.0);
      if (improvement + std::numeric_limits<double>::epsilon() < p_.min_impurity_decrease) node.split = Split();
    }
    return node;
  }

  // Best split of one feature over idx_[start, end); returns false if no valid split.
  bool best_on_feature(int64_t f, const Node& node, int tid, Split& out) {
    const int64_t nb = d_.n_bins[f];
    if (nb < 2) return false;
    const uint16_t* col = d_.codes + f * d_.n_samples;
    const int64_t m = node.end - node.start;
    const double parent = Ops<C>::score(node.total.data(), nc_);
    std::vector<double> left(nc_, 0.0), right(nc_);
    bool found = false;
    auto consider = [&](int64_t bin, int64_t bin_hi) {
      if (!Ops<C>::child_ok(left.data(), nc_, p_)) return true;
      for (int k = 0; k < nc_; ++k) right[k] = node.total[k] - left[k];
      if (right[nc_ - 1] < static_cast<double>(p_.min_samples_leaf)) return false;  // only shrinks
      if (!Ops<C>::child_ok(right.data(), nc_, p_)) return true;
      const double gain = Ops<C>::score(left.data(), nc_) + Ops<C>::score(right.data(), nc_) - parent;
      if (better(gain, out.gain)) {
        out.gain = gain;
        out.feature = f;
        out.bin = bin;
        out.bin_hi = bin_hi;
        out.left = left;
        found = true;
      }
      return true;
    };
    if (m * 8 < nb) {  // sort path: few samples, many bins
      auto& pairs = pairs_[tid];
      pairs.clear();
      for (int64_t s = node.start; s < node.end; ++s) pairs.emplace_back(col[idx_[s]], idx_[s]);
      std::sort(pairs.begin(), pairs.end());
      if (pairs.front().first == pairs.back().first) return false;
      for (size_t s = 0; s < pairs.size();) {
        const uint16_t code = pairs[s].first;
        while (s < pairs.size() && pairs[s].first == code) Ops<C>::add(d_, pairs[s++].second, left.data(), nc_);
        if (s == pairs.size()) break;
        if (!consider(code, pairs[s].first)) break;
      }
    } else {  // histogram path
      double* hist = hist_[tid].data();
      std::fill(hist, hist + nb * nc_, 0.0);
      for (int64_t s = node.start; s < node.end; ++s) {
        const int64_t i = idx_[s];
        Ops<C>::add(d_, i, hist + static_cast<int64_t>(col[i]) * nc_, nc_);
      }
      scan_histogram(hist, nb, m, consider, left);
    }
    return found;
  }

  // Offers each boundary between non-empty bins of one feature's histogram (m samples) to
  // ``consider``, accumulating the bins below it into ``left``. Bins are skipped by their count
  // (exact also after a subtraction), not by their sums.
  template <class Consider>
  void scan_histogram(const double* hist, int64_t nb, int64_t m, Consider& consider, std::vector<double>& left) {
    double seen = 0;
    int64_t last = -1;  // the last non-empty bin, all of it on the left
    for (int64_t b = 0; b < nb; ++b) {
      const double* hb = hist + b * nc_;
      if (hb[nc_ - 1] == 0) continue;
      if (last >= 0 && !consider(last, b)) break;
      for (int k = 0; k < nc_; ++k) left[k] += hb[k];
      last = b;
      seen += hb[nc_ - 1];
      if (seen >= static_cast<double>(m)) break;
    }
  }

  void find_split(Node& node) {
    // Candidate features in a random order (when sampling); the first max_features are tried,
    // and more only if none of them gives a valid split (sklearn's rule).
    const int64_t nf = d_.n_features;
    // Shuffled even when all are tried, so that ties between features go to a random one
    // (as in sklearn, where random_state decides them).
    for (int64_t j = 0; j < nf - 1; ++j) std::swap(features_[j], features_[j + rng_.below(nf - j)]);
    const int64_t m = node.end - node.start;
    std::vector<Split> results(nf);
    int64_t begin = 0;
    while (begin < nf) {
      const int64_t end = begin == 0 ? max_features_ : nf;
      const int nt = (threads_ > 1 && m * (end - begin) >= 500000) ? threads_ : 1;
      if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
        for (int64_t j = begin; j < end; ++j) best_on_feature(features_[j], node, omp_get_thread_num(), results[j]);
      } else {
        for (int64_t j = begin; j < end; ++j) best_on_feature(features_[j], node, 0, results[j]);
      }
      for (int64_t j = begin; j < end; ++j)
        if (results[j].feature >= 0 && better(results[j].gain, node.split.gain)) node.split = std::move(results[j]);
      if (node.split.feature >= 0) return;
      begin = end;
    }
  }

  const TreeData& d_;
  const TreeParams& p_;
  std::vector<int64_t> idx_;
  Rng rng_;
  int nc_ = 0;
  int64_t max_bins_ = 1;
  int threads_ = 1;
  int64_t max_features_ = 0;
  double w_root_ = 0;
  std::vector<std::vector<double>> hist_;
  std::vector<std::vector<std::pair<uint16_t, int64_t>>> pairs_;
  std::vector<int64_t> features_;
};

// ---------------------------------------------------------------------------------------------
// Gradient boosting's builder (criterion newton), LightGBM's scheme: the rows of each leaf are kept
// contiguous in one index array (a split partitions its range, stably, so the indices stay
// increasing and the code columns are read forwards); the leaf's gradients and hessians are
// gathered into that order, so the histogram pass streams them; only the smaller child's
// histograms are built, the larger's are the parent's minus them; the best leaf splits first.
// ---------------------------------------------------------------------------------------------

struct Bin {  // one bin's sums: w g, w h and the number of samples (exact in a double up to 2^53)
  double g = 0, h = 0, n = 0;
  Bin& operator+=(const Bin& o) { g += o.g; h += o.h; n += o.n; return *this; }
};

struct NewtonSplit {
  int64_t feature = -1, bin = -1, bin_hi = -1;
  double gain = -std::numeric_limits<double>::infinity();
  Bin left;
};

struct NewtonLeaf {
  int64_t id = 0, start = 0, end = 0, depth = 0;
  Bin total;
  NewtonSplit split;
  std::vector<Bin> hist;  // every feature's bins, kept until the leaf splits (for the subtraction)
};

// Histogram buffers outlive a build, in a pool per thread: a boosting fit grows hundreds of trees
// of ~30 buffers each (~100 KB: 20 features x 256 bins), and fresh ones are faulted in page by
// page every time (glibc gives blocks that size back to the OS), a quarter of a small tree's time.
thread_local std::vector<std::vector<Bin>> hist_pool;

std::vector<Bin> take_histograms(size_t size) {
  if (hist_pool.empty()) return std::vector<Bin>(size);
  std::vector<Bin> h = std::move(hist_pool.back());
  hist_pool.pop_back();
  h.assign(size, Bin{});
  return h;
}

void release_histograms(std::vector<Bin>& h) {
  if (h.capacity() > 0 && hist_pool.size() < 64) hist_pool.push_back(std::move(h));
  h = std::vector<Bin>();
}

// The builder's per-row scratch (rows of each leaf, the partition's right side, gathered w g and
// w h), kept per thread for the same reason: 2 MB at 64k rows, faulted in again for every tree.
struct RowScratch {
  std::vector<int64_t> idx, tmp;
  std::vector<double> og, oh;
};
thread_local RowScratch row_scratch;

// Adds rows idx[start, end) (gradients og/oh in the same positions) to the histograms of F
// features at once: one pass over the rows for F columns, whose updates are independent (the
// bins of one feature repeat often, and a chain of read-modify-writes to one bin is the cost).
// Direct: the rows are start..end themselves (the root without subsampling), idx is not read.
template <int F, bool Direct, class Code>
void accumulate(const Code* const* cols, Bin* const* hist, const int64_t* idx, const double* og,
                const double* oh, int64_t start, int64_t end) {
  for (int64_t k = start; k < end; ++k) {
    const int64_t i = Direct ? k : idx[k];
    const double g = og[k], h = oh[k];
    for (int j = 0; j < F; ++j) {
      Bin& b = hist[j][cols[j][i]];
      b.g += g;
      b.h += h;
      b.n += 1.0;
    }
  }
}

template <class Code>
class NewtonBuilder {
 public:
  NewtonBuilder(const TreeData& d, const TreeParams& p, const Code* codes, const int64_t* idx, int64_t n_idx)
      : d_(d), p_(p), codes_(codes), rng_(p.seed ^ 0x5DEECE66Dull) {
    idx_.assign(idx, idx + n_idx);
    tmp_.resize(n_idx);
    og_.resize(n_idx);
    oh_.resize(n_idx);
    const int64_t nf = d.n_features;
    offset_.resize(nf + 1, 0);
    for (int64_t f = 0; f < nf; ++f) offset_[f + 1] = offset_[f] + d.n_bins[f];
    features_.resize(nf);
    std::iota(features_.begin(), features_.end(), int64_t{0});
    max_features_ = p.max_features <= 0 || p.max_features > nf ? nf : p.max_features;
    threads_ = std::max(1, p.num_threads);
    // All rows in order (no subsampling, no zero weight): the root's pass reads the columns and,
    // unweighted, the gradients themselves, with no index and no gather.
    identity_ = n_idx == d.n_samples;
    for (int64_t k = 0; k < n_idx && identity_; ++k) identity_ = idx[k] == k;
  }

  // The tree; leaf_of_row[i] (n_samples of them, when not null) gets the leaf of every row.
  Tree build(int64_t* leaf_of_row) {
    Tree t;
    const int64_t n = static_cast<int64_t>(idx_.size());
    if (identity_ && !d_.w) {
      root_g_ = d_.y;
      root_h_ = d_.h;
    } else {
      gather(0, n);
      root_g_ = og_.data();
      root_h_ = oh_.data();
    }
    NewtonLeaf root;
    for (int64_t k = 0; k < n; ++k) root.total += Bin{root_g_[k], root_h_[k], 1.0};
    w_root_ = root.total.n;
    root.end = n;
    open(t, root, /*hist_ready=*/false);
    const bool best_first = p_.max_leaf_nodes > 0;
    auto cmp = [](const NewtonLeaf& a, const NewtonLeaf& b) {
      return a.split.gain < b.split.gain || (a.split.gain == b.split.gain && a.id > b.id);
    };
    std::priority_queue<NewtonLeaf, std::vector<NewtonLeaf>, decltype(cmp)> heap(cmp);
    std::vector<NewtonLeaf> stack;
    std::vector<std::pair<int64_t, int64_t>> ranges{{0, n}};  // each node's rows in idx_
    if (best_first) heap.push(std::move(root));
    else stack.push_back(std::move(root));
    int64_t leaves = 1;
    while (best_first ? !heap.empty() : !stack.empty()) {
      if (interrupted()) break;  // Ctrl-C: the tree is left unfinished and the binding raises
      NewtonLeaf node;
      if (best_first) {
        node = std::move(const_cast<NewtonLeaf&>(heap.top()));  // popped right after
        heap.pop();
      } else {
        node = std::move(stack.back());
        stack.pop_back();
      }
      if (node.split.feature < 0 || (best_first && leaves >= p_.max_leaf_nodes)) {
        release_histograms(node.hist);
        continue;
      }
      NewtonLeaf l, r;
      // The split that reaches max_leaf_nodes makes two leaves for good: no histograms for them.
      split(t, node, l, r, best_first && leaves + 1 >= p_.max_leaf_nodes);
      ranges.emplace_back(l.start, l.end);
      ranges.emplace_back(r.start, r.end);
      ++leaves;
      if (best_first) {
        heap.push(std::move(l));
        heap.push(std::move(r));
      } else {
        stack.push_back(std::move(r));
        stack.push_back(std::move(l));
      }
    }
    if (leaf_of_row) write_leaves(t, ranges, leaf_of_row);
    return t;
  }

 private:
  // Splits `node`: partitions its rows, builds the smaller child's histograms, subtracts them
  // from the parent's for the larger child, and finds both children's best splits.
  void split(Tree& t, NewtonLeaf& node, NewtonLeaf& l, NewtonLeaf& r, bool last) {
    const int64_t mid = partition(node.start, node.end, node.split.feature, node.split.bin);
    const int64_t id = node.id;
    t.feature[id] = node.split.feature;
    t.threshold_bin[id] = node.split.bin;
    t.threshold_bin_hi[id] = node.split.bin_hi;
    t.gain[id] = node.split.gain;
    l.start = node.start, l.end = mid, r.start = mid, r.end = node.end;
    l.depth = r.depth = node.depth + 1;
    l.total = node.split.left;
    r.total = Bin{node.total.g - l.total.g, node.total.h - l.total.h, node.total.n - l.total.n};
    NewtonLeaf& small = (mid - node.start <= node.end - mid) ? l : r;
    NewtonLeaf& large = &small == &l ? r : l;
    // Children that cannot split need no histograms; the larger one needs the smaller's.
    const bool want_small = !last && splittable(small), want_large = !last && splittable(large);
    if (want_small || want_large) {
      gather(small.start, small.end);
      small.hist = build_histograms(small.start, small.end);
      if (want_large) {
        large.hist = std::move(node.hist);
        Bin* big = large.hist.data();
        const Bin* sm = small.hist.data();
        const size_t size = large.hist.size();
        for (size_t k = 0; k < size; ++k) {
          big[k].g -= sm[k].g;
          big[k].h -= sm[k].h;
          big[k].n -= sm[k].n;
        }
      }
    }
    release_histograms(node.hist);
    open(t, l, want_small || want_large, !last);  // l's id is smaller than r's, as in the CART builder
    open(t, r, want_small || want_large, !last);
    t.left[id] = l.id;
    t.right[id] = r.id;
  }

  bool splittable(const NewtonLeaf& node) const {
    const int64_t m = node.end - node.start;
    return !(p_.max_depth >= 0 && node.depth >= p_.max_depth) && m >= p_.min_samples_split &&
           m / 2 >= p_.min_samples_leaf;  // m >= 2 min_samples_leaf, without overflow
  }

  // Appends `node` to the tree and finds its best split (building its histograms if not given).
  void open(Tree& t, NewtonLeaf& node, bool hist_ready, bool grow = true) {
    node.id = t.n_nodes();
    t.max_depth = std::max(t.max_depth, node.depth);
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(-2);
    t.threshold_bin.push_back(-2);
    t.threshold_bin_hi.push_back(-2);
    t.gain.push_back(0.0);
    const double denom = node.total.h + p_.l2;
    t.value.push_back(denom > 0 ? -node.total.g / denom : 0.0);
    t.impurity.push_back(0.0);
    t.n_node_samples.push_back(node.end - node.start);
    t.weighted_n_node_samples.push_back(node.total.n);
    if (!grow || !splittable(node)) {
      release_histograms(node.hist);
      return;
    }
    if (!hist_ready) node.hist = build_histograms(node.start, node.end);
    find_split(node);
    if (node.split.feature >= 0) {
      const double improvement = node.split.gain / (w_root_ > 0 ? w_root_ : 1.0);
      if (improvement + std::numeric_limits<double>::epsilon() < p_.min_impurity_decrease ||
          !(node.split.gain > 1e-12))
        node.split = NewtonSplit();
    }
    if (node.split.feature < 0) release_histograms(node.hist);  // a leaf for good
  }

  // og_/oh_[k] = w g, w h of row idx_[k], for k in [start, end).
  void gather(int64_t start, int64_t end) {
    const double *g = d_.y, *h = d_.h, *w = d_.w;
    for (int64_t k = start; k < end; ++k) {
      const int64_t i = idx_[k];
      const double wi = w ? w[i] : 1.0;
      og_[k] = wi * g[i];
      oh_[k] = wi * h[i];
    }
  }

  // Every feature's histogram of rows idx_[start, end), features four at a time, the groups in
  // parallel on a large leaf (each histogram is summed by one thread in row order, so the tree
  // does not depend on the thread count).
  std::vector<Bin> build_histograms(int64_t start, int64_t end) {
    const int64_t nf = d_.n_features, groups = (nf + 3) / 4;
    const bool direct = identity_ && start == 0 && end == static_cast<int64_t>(idx_.size());
    const double* og = start == 0 && end == static_cast<int64_t>(idx_.size()) ? root_g_ : og_.data();
    const double* oh = start == 0 && end == static_cast<int64_t>(idx_.size()) ? root_h_ : oh_.data();
    std::vector<Bin> hist = take_histograms(static_cast<size_t>(offset_[nf]));
    const int nt = (threads_ > 1 && (end - start) * nf >= 200000) ? static_cast<int>(std::min<int64_t>(threads_, groups)) : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t gi = 0; gi < groups; ++gi) {
      const int64_t f0 = 4 * gi, nfg = std::min<int64_t>(4, nf - f0);
      const Code* cols[4];
      Bin* hs[4];
      for (int64_t j = 0; j < nfg; ++j) {
        cols[j] = codes_ + (f0 + j) * d_.n_samples;
        hs[j] = hist.data() + offset_[f0 + j];
      }
      if (direct) accumulate_group<true>(nfg, cols, hs, og, oh, start, end);
      else accumulate_group<false>(nfg, cols, hs, og, oh, start, end);
    }
    return hist;
  }

  template <bool Direct>
  void accumulate_group(int64_t nfg, const Code* const* cols, Bin* const* hs, const double* og, const double* oh,
                        int64_t start, int64_t end) const {
    const int64_t* idx = idx_.data();
    switch (nfg) {
      case 4: accumulate<4, Direct>(cols, hs, idx, og, oh, start, end); break;
      case 3: accumulate<3, Direct>(cols, hs, idx, og, oh, start, end); break;
      case 2: accumulate<2, Direct>(cols, hs, idx, og, oh, start, end); break;
      default: accumulate<1, Direct>(cols, hs, idx, og, oh, start, end); break;
    }
  }

  // Stable partition of idx_[start, end): codes <= bin of `feature` first. Returns the middle.
  int64_t partition(int64_t start, int64_t end, int64_t feature, int64_t bin) {
    const Code* col = codes_ + feature * d_.n_samples;
    int64_t* idx = idx_.data();
    int64_t* right = tmp_.data();
    int64_t nl = start, nr = 0;
    for (int64_t k = start; k < end; ++k) {  // writes trail reads: in place for the left rows
      const int64_t i = idx[k];
      const bool go_left = col[i] <= bin;
      idx[nl] = i;
      right[nr] = i;
      nl += go_left;
      nr += !go_left;
    }
    std::copy(right, right + nr, idx + nl);
    return nl;
  }

  // Gain of one feature's best cut (the boundaries between its non-empty bins), into `best`.
  void best_on_feature(int64_t f, const NewtonLeaf& node, NewtonSplit& best) const {
    const int64_t nb = d_.n_bins[f];
    if (nb < 2) return;
    const Bin* hist = node.hist.data() + offset_[f];
    const Bin& tot = node.total;
    const double l2 = p_.l2, msl = static_cast<double>(p_.min_samples_leaf), mh = p_.min_hessian;
    const double parent = tot.g * tot.g / (tot.h + l2);
    Bin left;
    int64_t last = -1;  // the last non-empty bin, all of it on the left
    for (int64_t b = 0; b < nb; ++b) {
      const Bin& hb = hist[b];
      if (hb.n == 0) continue;  // counts are exact also after a subtraction; sums are not
      if (last >= 0 && left.n >= msl && left.h >= mh) {
        const double rn = tot.n - left.n, rh = tot.h - left.h, rg = tot.g - left.g;
        if (rn < msl) break;  // the right child only shrinks from here
        if (rh >= mh) {
          const double gain = left.g * left.g / (left.h + l2) + rg * rg / (rh + l2) - parent;
          if (better(gain, best.gain)) best = NewtonSplit{f, last, b, gain, left};
        }
      }
      left += hb;
      last = b;
      if (left.n >= tot.n) break;
    }
  }

  // Candidate features in a random order (ties go to a random one, as sklearn's random_state
  // decides them); the first max_features are tried, more only if none of them splits.
  void find_split(NewtonLeaf& node) {
    const int64_t nf = d_.n_features;
    for (int64_t j = 0; j < nf - 1; ++j) std::swap(features_[j], features_[j + rng_.below(nf - j)]);
    for (int64_t begin = 0; begin < nf && node.split.feature < 0;) {
      const int64_t end = begin == 0 ? max_features_ : nf;
      for (int64_t j = begin; j < end; ++j) best_on_feature(features_[j], node, node.split);
      begin = end;
    }
  }

  // The leaf of every row: from the index ranges for the rows grown on, by walking the tree for
  // the others (rows left out by subsampling or a zero weight).
  void write_leaves(const Tree& t, const std::vector<std::pair<int64_t, int64_t>>& ranges, int64_t* out) const {
    const int64_t n = d_.n_samples;
    std::fill(out, out + n, -1);
    for (int64_t id = 0; id < t.n_nodes(); ++id)
      if (t.left[id] < 0)
        for (int64_t k = ranges[id].first; k < ranges[id].second; ++k) out[idx_[k]] = id;
    for (int64_t i = 0; i < n; ++i) {
      if (out[i] >= 0) continue;
      int64_t node = 0;
      while (t.left[node] >= 0)
        node = codes_[t.feature[node] * n + i] <= t.threshold_bin[node] ? t.left[node] : t.right[node];
      out[i] = node;
    }
  }

  const TreeData& d_;
  const TreeParams& p_;
  const Code* codes_;
  // Per-row scratch (row_scratch's), each written before it is read.
  std::vector<int64_t>& idx_ = row_scratch.idx;
  std::vector<int64_t>& tmp_ = row_scratch.tmp;
  std::vector<double>& og_ = row_scratch.og;
  std::vector<double>& oh_ = row_scratch.oh;
  std::vector<int64_t> offset_;  // feature f's bins start at offset_[f] in a leaf's histograms
  Rng rng_;
  std::vector<int64_t> features_;
  int64_t max_features_ = 0;
  int threads_ = 1;
  double w_root_ = 0;
  bool identity_ = false;
  const double* root_g_ = nullptr;  // the root's gradients: og_, or the caller's when unweighted
  const double* root_h_ = nullptr;  // and in row order
};

}  // namespace

Tree build_tree(const TreeData& data, const TreeParams& params, const int64_t* sample_idx, int64_t n_idx,
                int64_t* leaf_of_row) {
  switch (params.criterion) {
    case Criterion::gini: return Builder<Criterion::gini>(data, params, sample_idx, n_idx).build();
    case Criterion::entropy: return Builder<Criterion::entropy>(data, params, sample_idx, n_idx).build();
    case Criterion::squared_error:
      return Builder<Criterion::squared_error>(data, params, sample_idx, n_idx).build();
    default:
      if (data.codes8)
        return NewtonBuilder<uint8_t>(data, params, data.codes8, sample_idx, n_idx).build(leaf_of_row);
      return NewtonBuilder<uint16_t>(data, params, data.codes, sample_idx, n_idx).build(leaf_of_row);
  }
}

std::vector<Tree> build_forest(const TreeData& data, const TreeParams& params, int64_t n_trees,
                               const uint64_t* seeds, bool bootstrap, int64_t max_samples, uint16_t* inbag) {
  std::vector<Tree> trees(n_trees);
  const int64_t n = data.n_samples;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_threads(), n_trees)));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int64_t t = 0; t < n_trees; ++t) {
    if (interrupted()) continue;  // Ctrl-C: the remaining trees are skipped, the binding raises
    Rng rng(seeds[t]);
    TreeParams p = params;
    p.num_threads = 1;
    p.seed = rng.next();
    TreeData d = data;
    std::vector<double> w;
    std::vector<int64_t> idx;
    if (bootstrap) {
      std::vector<uint32_t> counts(n, 0);
      for (int64_t s = 0; s < max_samples; ++s) ++counts[rng.below(static_cast<uint64_t>(n))];
      w.resize(n);
      for (int64_t i = 0; i < n; ++i) {
        w[i] = (data.w ? data.w[i] : 1.0) * counts[i];
        if (w[i] > 0) idx.push_back(i);
        if (inbag) inbag[t * n + i] = static_cast<uint16_t>(std::min<uint32_t>(counts[i], 65535));
      }
      d.w = w.data();
    } else {
      for (int64_t i = 0; i < n; ++i)
        if (!data.w || data.w[i] > 0) idx.push_back(i);
    }
    trees[t] = build_tree(d, p, idx.data(), static_cast<int64_t>(idx.size()));
  }
  return trees;
}

namespace {
template <typename Code>
int64_t max_of(const Code* codes, int64_t n) {
  Code mx = 0;
  for (int64_t i = 0; i < n; ++i) mx = codes[i] > mx ? codes[i] : mx;
  return mx;
}
}  // namespace

int64_t max_code(const uint8_t* codes, int64_t n) { return max_of(codes, n); }
int64_t max_code(const uint16_t* codes, int64_t n) { return max_of(codes, n); }

void tree_apply(const double* x, int64_t n, int64_t rs, int64_t cs, const int64_t* left, const int64_t* right,
                const int64_t* feature, const double* threshold, int64_t* out) {
  parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* row = x + i * rs;
      int64_t node = 0;
      while (left[node] >= 0) node = row[feature[node] * cs] <= threshold[node] ? left[node] : right[node];
      out[i] = node;
    }
  });
}

void tree_apply_binned(const uint16_t* codes, int64_t n, const int64_t* left, const int64_t* right,
                       const int64_t* feature, const int64_t* threshold_bin, int64_t* out) {
  parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t node = 0;
      while (left[node] >= 0)
        node = codes[feature[node] * n + i] <= threshold_bin[node] ? left[node] : right[node];
      out[i] = node;
    }
  });
}

}  // namespace grimoire
