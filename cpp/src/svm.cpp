// SMO for the C-SVC dual (see svm.h). Scalar reference path; the kernel columns are the only
// O(n d) work and are computed with unrolled dot products, threaded over rows with parallel_for.
#include "grimoire/svm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <list>
#include <numeric>
#include <random>
#include <unordered_map>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {
const bool registered = (register_family("svm", {Isa::scalar}), true);
constexpr double kTau = 1e-12;

inline double dot(const double* a, const double* b, int64_t d) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t f = 0;
  for (; f + 4 <= d; f += 4) {
    s0 += a[f] * b[f];
    s1 += a[f + 1] * b[f + 1];
    s2 += a[f + 2] * b[f + 2];
    s3 += a[f + 3] * b[f + 3];
  }
  for (; f < d; ++f) s0 += a[f] * b[f];
  return (s0 + s1) + (s2 + s3);
}

inline double apply_kernel(double xy, double xx, double yy, const SvmParams& p) {
  switch (p.kernel) {
    case SvmKernel::linear: return xy;
    case SvmKernel::poly: return std::pow(p.gamma * xy + p.coef0, p.degree);
    case SvmKernel::rbf: return std::exp(-p.gamma * std::max(0.0, xx + yy - 2.0 * xy));
    case SvmKernel::sigmoid: return std::tanh(p.gamma * xy + p.coef0);
  }
  return 0.0;
}

// K(x_i, x_j) for every j, LRU-cached by column.
class KernelCache {
 public:
  KernelCache(const double* x, int64_t n, int64_t d, const SvmParams& p)
      : x_(x), n_(n), d_(d), p_(p), sq_(n) {
    for (int64_t i = 0; i < n; ++i) sq_[i] = dot(x + i * d, x + i * d, d);
    const int64_t col_bytes = std::max<int64_t>(1, n) * static_cast<int64_t>(sizeof(double));
    capacity_ = std::max<int64_t>(2, p.cache_bytes / col_bytes);
  }
  double diag(int64_t i) const { return apply_kernel(sq_[i], sq_[i], sq_[i], p_); }

  const double* column(int64_t i) {
    auto it = map_.find(i);
    if (it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first.data();
    }
    std::vector<double> col;
    if (static_cast<int64_t>(map_.size()) >= capacity_) {  // evict the least recently used column
      const int64_t victim = lru_.back();
      lru_.pop_back();
      col = std::move(map_[victim].first);
      map_.erase(victim);
    }
    col.resize(n_);
    const double* xi = x_ + i * d_;
    double* out = col.data();
    const double sqi = sq_[i];
    // A column is cheap (n d flops): threads only pay when it is big (a fork per column otherwise costs
    // more than the column, worst on a loaded machine).
    parallel_for(n_, std::max<int64_t>(4096, (int64_t{1} << 20) / std::max<int64_t>(d_, 1)), [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) out[j] = apply_kernel(dot(xi, x_ + j * d_, d_), sqi, sq_[j], p_);
    });
    lru_.push_front(i);
    auto& slot = map_[i];
    slot.first = std::move(col);
    slot.second = lru_.begin();
    return slot.first.data();
  }

 private:
  const double* x_;
  int64_t n_, d_;
  SvmParams p_;
  std::vector<double> sq_;
  int64_t capacity_;
  std::list<int64_t> lru_;
  std::unordered_map<int64_t, std::pair<std::vector<double>, std::list<int64_t>::iterator>> map_;
};
}  // namespace

void svm_kernel_matrix(const double* a, int64_t m, const double* b, int64_t s, int64_t d, const SvmParams& p,
                       double* out) {
  std::vector<double> sb(s);
  for (int64_t j = 0; j < s; ++j) sb[j] = dot(b + j * d, b + j * d, d);
  parallel_for(m, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, s * d / 64 + 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const double* ai = a + i * d;
      const double sa = dot(ai, ai, d);
      for (int64_t j = 0; j < s; ++j) out[i * s + j] = apply_kernel(dot(ai, b + j * d, d), sa, sb[j], p);
    }
  });
}

// Shape: x (n, d), y (n), c (n) -> alpha (n), rho.
int64_t svm_smo_solve(const double* x, int64_t n, int64_t d, const double* y, const double* c,
                      const SvmParams& p, double* alpha, double* rho) {
  const double inf = std::numeric_limits<double>::infinity();
  KernelCache cache(x, n, d, p);
  std::vector<double> qd(n), grad(n, -1.0);  // gradient of the dual at a = 0 is -e
  for (int64_t i = 0; i < n; ++i) {
    qd[i] = cache.diag(i);
    alpha[i] = 0.0;
  }
  const int64_t max_iter = p.max_iter < 0 ? std::numeric_limits<int64_t>::max() : p.max_iter;
  int64_t iter = 0;
  auto upper = [&](int64_t t) { return alpha[t] >= c[t]; };
  auto lower = [&](int64_t t) { return alpha[t] <= 0.0; };
  while (iter < max_iter) {
    if (interrupted()) break;  // Ctrl-C: alpha is left mid-way, the binding raises
    // WSS3: i maximises -y_t G_t over I_up; j minimises the second-order decrease over I_low.
    double gmax = -inf, gmax2 = -inf;
    int64_t i = -1;
    for (int64_t t = 0; t < n; ++t) {
      if (y[t] > 0) {
        if (!upper(t) && -grad[t] >= gmax) { gmax = -grad[t]; i = t; }
      } else if (!lower(t) && grad[t] >= gmax) {
        gmax = grad[t];
        i = t;
      }
    }
    if (i < 0) break;
    const double* ki = cache.column(i);
    int64_t j = -1;
    double best = inf;
    for (int64_t t = 0; t < n; ++t) {
      double diff;
      if (y[t] > 0) {
        if (lower(t)) continue;
        diff = gmax + grad[t];
        gmax2 = std::max(gmax2, grad[t]);
      } else {
        if (upper(t)) continue;
        diff = gmax - grad[t];
        gmax2 = std::max(gmax2, -grad[t]);
      }
      if (diff > 0) {
        const double quad = qd[i] + qd[t] - 2.0 * ki[t];  // ||phi_i - phi_t||^2
        const double obj = -(diff * diff) / (quad > 0 ? quad : kTau);
        if (obj <= best) { best = obj; j = t; }
      }
    }
    if (gmax + gmax2 < p.tol || j < 0) break;
    ++iter;
    ki = cache.column(i);  // may have been evicted by nothing in between; cheap lookup
    const double* kj = cache.column(j);
    ki = cache.column(i);
    const double ci = c[i], cj = c[j], old_i = alpha[i], old_j = alpha[j];
    double ai = old_i, aj = old_j;
    const double quad0 = qd[i] + qd[j] - 2.0 * ki[j];
    const double quad = quad0 > 0 ? quad0 : kTau;
    if (y[i] != y[j]) {
      const double delta = (-grad[i] - grad[j]) / quad, diff = ai - aj;
      ai += delta;
      aj += delta;
      if (diff > 0) {
        if (aj < 0) { aj = 0; ai = diff; }
      } else if (ai < 0) {
        ai = 0;
        aj = -diff;
      }
      if (diff > ci - cj) {
        if (ai > ci) { ai = ci; aj = ci - diff; }
      } else if (aj > cj) {
        aj = cj;
        ai = cj + diff;
      }
    } else {
      const double delta = (grad[i] - grad[j]) / quad, sum = ai + aj;
      ai -= delta;
      aj += delta;
      if (sum > ci) {
        if (ai > ci) { ai = ci; aj = sum - ci; }
      } else if (aj < 0) {
        aj = 0;
        ai = sum;
      }
      if (sum > cj) {
        if (aj > cj) { aj = cj; ai = sum - cj; }
      } else if (ai < 0) {
        ai = 0;
        aj = sum;
      }
    }
    alpha[i] = ai;
    alpha[j] = aj;
    // G_t += Q_ti da_i + Q_tj da_j with Q_ts = y_t y_s K_ts.
    const double di = (ai - old_i) * y[i], dj = (aj - old_j) * y[j];
    for (int64_t t = 0; t < n; ++t) grad[t] += y[t] * (ki[t] * di + kj[t] * dj);
  }
  // rho: the mean of y_t G_t over free vectors, else the middle of the feasible interval.
  double ub = inf, lb = -inf, sum_free = 0;
  int64_t n_free = 0;
  for (int64_t t = 0; t < n; ++t) {
    const double yg = y[t] * grad[t];
    if (upper(t)) {
      if (y[t] < 0) ub = std::min(ub, yg); else lb = std::max(lb, yg);
    } else if (lower(t)) {
      if (y[t] > 0) ub = std::min(ub, yg); else lb = std::max(lb, yg);
    } else {
      ++n_free;
      sum_free += yg;
    }
  }
  *rho = n_free > 0 ? sum_free / static_cast<double>(n_free) : (ub + lb) / 2;
  return iter;
}

// Shape: x (n, d), y (n), c (n) -> w (d).
int64_t linear_svm_dcd(const double* x, int64_t n, int64_t d, const double* y, const double* c, bool hinge,
                       int64_t max_iter, double tol, uint64_t seed, double* w) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> a(n, 0.0), qd(n), upper(n), diag(n);
  std::vector<int64_t> order;
  for (int64_t i = 0; i < n; ++i) {
    diag[i] = hinge ? 0.0 : (c[i] > 0 ? 0.5 / c[i] : inf);
    upper[i] = hinge ? c[i] : inf;
    qd[i] = dot(x + i * d, x + i * d, d) + diag[i];
    if (c[i] > 0) order.push_back(i);
  }
  std::fill(w, w + d, 0.0);
  std::mt19937_64 rng(seed);
  int64_t it = 0, visited = 0;
  while (it < max_iter) {
    ++it;
    std::shuffle(order.begin(), order.end(), rng);
    double max_pg = -inf, min_pg = inf;
    for (int64_t i : order) {
      // Ctrl-C, every 1024 samples (a sweep over a large X is seconds): w is left mid-way, the binding raises
      if ((++visited & 1023) == 0 && interrupted()) return it;
      const double* xi = x + i * d;
      const double g = y[i] * dot(xi, w, d) - 1.0 + diag[i] * a[i];
      double pg = g;
      if (a[i] == 0) pg = std::min(g, 0.0);
      else if (a[i] == upper[i]) pg = std::max(g, 0.0);
      max_pg = std::max(max_pg, pg);
      min_pg = std::min(min_pg, pg);
      if (pg != 0 && qd[i] > 0) {
        const double old = a[i];
        a[i] = std::min(std::max(old - g / qd[i], 0.0), upper[i]);
        const double step = (a[i] - old) * y[i];
        for (int64_t f = 0; f < d; ++f) w[f] += step * xi[f];
      }
    }
    if (max_pg - min_pg <= tol) break;
  }
  return it;
}

}  // namespace grimoire
