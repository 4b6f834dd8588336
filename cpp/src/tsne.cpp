// Barnes-Hut t-SNE (see tsne.h); scalar reference path, threads over points with parallel_for.
#include "grimoire/tsne.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {
const bool registered = (register_family("tsne", {Isa::scalar}), true);

// A point-region quadtree over the 2-D embedding: each node keeps its count, centre of mass and
// width; a leaf holds one point (or several identical ones, at the depth limit).
struct QuadTree {
  struct Node {
    double cx, cy, half;          // cell centre and half-width
    double mx = 0, my = 0;        // centre of mass (sum, then divided)
    int64_t count = 0, point = -1;
    int64_t child = -1;           // index of the first of 4 children, -1 for a leaf
  };
  std::vector<Node> nodes;
  const double* y;

  QuadTree(const double* y_, int64_t n) : y(y_) {
    double lo_x = std::numeric_limits<double>::infinity(), lo_y = lo_x, hi_x = -lo_x, hi_y = -lo_x;
    for (int64_t i = 0; i < n; ++i) {
      lo_x = std::min(lo_x, y[2 * i]);
      hi_x = std::max(hi_x, y[2 * i]);
      lo_y = std::min(lo_y, y[2 * i + 1]);
      hi_y = std::max(hi_y, y[2 * i + 1]);
    }
    const double half = std::max(hi_x - lo_x, hi_y - lo_y) / 2 * (1 + 1e-6) + 1e-12;
    nodes.reserve(4 * n + 1);
    nodes.push_back(Node{(lo_x + hi_x) / 2, (lo_y + hi_y) / 2, half});
    for (int64_t i = 0; i < n; ++i) insert(0, i, 0);
    for (auto& nd : nodes)
      if (nd.count > 0) {
        nd.mx /= static_cast<double>(nd.count);
        nd.my /= static_cast<double>(nd.count);
      }
  }

  int quadrant(const Node& nd, double px, double py) const { return (px >= nd.cx ? 1 : 0) + (py >= nd.cy ? 2 : 0); }

  void insert(int64_t at, int64_t i, int depth) {
    const double px = y[2 * i], py = y[2 * i + 1];
    while (true) {
      Node& nd = nodes[at];
      nd.mx += px;
      nd.my += py;
      nd.count += 1;
      if (nd.child < 0) {
        if (nd.count == 1) {
          nd.point = i;
          return;
        }
        const int64_t old = nd.point;
        const bool same = old >= 0 && y[2 * old] == px && y[2 * old + 1] == py;
        if (same || depth > 60) return;  // identical points stay together in one leaf
        // Split: create 4 children and push the old point down.
        const int64_t first = static_cast<int64_t>(nodes.size());
        const double h = nd.half / 2, cx = nd.cx, cy = nd.cy;
        nodes[at].child = first;
        nodes[at].point = -1;
        for (int q = 0; q < 4; ++q)
          nodes.push_back(Node{cx + ((q & 1) ? h : -h), cy + ((q & 2) ? h : -h), h});
        if (old >= 0) {
          Node& c = nodes[first + quadrant(nodes[at], y[2 * old], y[2 * old + 1])];
          c.mx += y[2 * old];
          c.my += y[2 * old + 1];
          c.count = 1;
          c.point = old;
        }
      }
      at = nodes[at].child + quadrant(nodes[at], px, py);
      ++depth;
    }
  }

  // Adds sum_j q_ij^2 (y_i - y_j) (unnormalised q) to f and returns sum_j q_ij, for j != i.
  double repulse(int64_t i, double theta2, double* f) const {
    const double px = y[2 * i], py = y[2 * i + 1];
    double z = 0;
    int64_t stack[256];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const Node& nd = nodes[stack[--top]];
      if (nd.count == 0) continue;
      const double dx = px - nd.mx, dy = py - nd.my, d2 = dx * dx + dy * dy;
      const bool leaf = nd.child < 0;
      if (leaf || (2 * nd.half) * (2 * nd.half) < theta2 * d2) {
        double cnt = static_cast<double>(nd.count);
        if (leaf && (nd.point == i || d2 == 0.0)) {
          // this leaf holds i (alone or with duplicates of it): the others sit at distance 0
          if (nd.point == i || (px == nd.mx && py == nd.my)) cnt -= 1;
          if (cnt <= 0) continue;
        }
        const double q = 1.0 / (1.0 + d2);
        z += cnt * q;
        f[0] += cnt * q * q * dx;
        f[1] += cnt * q * q * dy;
      } else {
        for (int c = 0; c < 4; ++c) stack[top++] = nd.child + c;
      }
    }
    return z;
  }
};
}  // namespace

// Shape: dist2 (n, k) -> p (n, k).
void tsne_binary_search(const double* dist2, int64_t n, int64_t k, double perplexity, double* p) {
  const double target = std::log(perplexity);
  parallel_for(n, 1024, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const double* d = dist2 + i * k;
      double* pi = p + i * k;
      double beta = 1.0, lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
      for (int step = 0; step < 100; ++step) {
        double sum = 0;
        for (int64_t j = 0; j < k; ++j) sum += (pi[j] = std::exp(-d[j] * beta));
        if (sum == 0) sum = 1e-8;
        double h = 0;
        for (int64_t j = 0; j < k; ++j) {
          pi[j] /= sum;
          h += d[j] * pi[j];
        }
        const double entropy = std::log(sum) + beta * h;
        const double diff = entropy - target;
        if (std::fabs(diff) <= 1e-5) break;
        if (diff > 0) {
          lo = beta;
          beta = hi == std::numeric_limits<double>::infinity() ? beta * 2 : (beta + hi) / 2;
        } else {
          hi = beta;
          beta = lo == -std::numeric_limits<double>::infinity() ? beta / 2 : (beta + lo) / 2;
        }
      }
    }
  });
}

// Shape: P CSR (n, n), y (n, 2) in place.
double tsne_optimize(const int64_t* indptr, const int64_t* indices, const double* values, int64_t n, double* y,
                     const TsneParams& p) {
  std::vector<double> grad(2 * n), update(2 * n, 0.0), gains(2 * n, 1.0), rep(2 * n), zs(n);
  const double theta2 = p.theta * p.theta;
  double z_total = 1.0;
  for (int64_t it = 0; it < p.max_iter; ++it) {
    if (interrupted()) return std::numeric_limits<double>::quiet_NaN();  // Ctrl-C: Y is left mid-way
    const bool early = it < p.exaggeration_iter;
    const double exag = early ? p.early_exaggeration : 1.0;
    const double momentum = early ? p.momentum_early : p.momentum_late;
    QuadTree tree(y, n);
    // One parallel region per iteration (attraction and repulsion together): on a loaded machine
    // every fork/join can cost a scheduler time slice, so regions are few and big.
    parallel_for(n, 1024, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        double f[2] = {0, 0};
        zs[i] = tree.repulse(i, theta2, f);
        rep[2 * i] = f[0];
        rep[2 * i + 1] = f[1];
        double ax = 0, ay = 0;
        for (int64_t e = indptr[i]; e < indptr[i + 1]; ++e) {
          const int64_t j = indices[e];
          const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
          const double q = 1.0 / (1.0 + dx * dx + dy * dy);
          ax += values[e] * q * dx;
          ay += values[e] * q * dy;
        }
        grad[2 * i] = ax;
        grad[2 * i + 1] = ay;
      }
    });
    double z = 0;
    for (int64_t i = 0; i < n; ++i) z += zs[i];
    z_total = std::max(z, std::numeric_limits<double>::min());
    for (int64_t t = 0; t < 2 * n; ++t) grad[t] = 4.0 * (exag * grad[t] - rep[t] / z_total);
    for (int64_t t = 0; t < 2 * n; ++t) {
      const bool same_sign = (grad[t] > 0) == (update[t] > 0);
      gains[t] = std::max(same_sign ? gains[t] * 0.8 : gains[t] + 0.2, p.min_gain);
      update[t] = momentum * update[t] - p.learning_rate * gains[t] * grad[t];
      y[t] += update[t];
    }
  }
  // KL(P || Q) with q_ij = (1 + d_ij^2)^-1 / Z.
  QuadTree tree(y, n);
  double z = 0;
  for (int64_t i = 0; i < n; ++i) {
    double f[2] = {0, 0};
    z += tree.repulse(i, theta2, f);
  }
  double kl = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = indptr[i]; e < indptr[i + 1]; ++e) {
      const int64_t j = indices[e];
      const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      const double q = std::max(1.0 / (1.0 + dx * dx + dy * dy) / z, std::numeric_limits<double>::min());
      if (values[e] > 0) kl += values[e] * std::log(std::max(values[e], 1e-300) / q);
    }
  return kl;
}

}  // namespace grimoire
