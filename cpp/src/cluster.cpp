// k-means assignment and elastic-net coordinate descent (see cluster.h).
#include "grimoire/cluster.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {
const bool registered = (register_family("cluster", {Isa::scalar}), true);
constexpr int64_t kBlock = 256;  // rows per GEMM block: block x k dot products stay in L1/L2
}  // namespace

double kmeans_assign(const double* x, const double* x_sqnorm, int64_t n, int64_t d, const double* centers,
                     int64_t k, const double* w, int32_t* labels, double* min_dist, double* sums,
                     double* weights_out) {
  std::vector<double> c_sqnorm(k);
  for (int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (int64_t f = 0; f < d; ++f) s += centers[j * d + f] * centers[j * d + f];
    c_sqnorm[j] = s;
  }
  const int64_t n_blocks = (n + kBlock - 1) / kBlock;
  // A thread per >= 16 blocks (4096 rows): small problems stay on one thread, no region to open.
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_threads(), n_blocks / 16)));
  const bool accumulate = sums != nullptr && weights_out != nullptr;
  std::vector<double> t_sums(accumulate ? threads * k * d : 0, 0.0), t_w(accumulate ? threads * k : 0, 0.0);
  std::vector<double> t_inertia(threads, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int tid = omp_get_thread_num();
    std::vector<double> dots(kBlock * k);
    double* my_sums = accumulate ? t_sums.data() + tid * k * d : nullptr;
    double* my_w = accumulate ? t_w.data() + tid * k : nullptr;
    double inertia = 0;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < n_blocks; ++b) {
      if (interrupted()) continue;  // Ctrl-C: the remaining blocks are skipped, the binding raises
      const int64_t r0 = b * kBlock, rows = std::min(kBlock, n - r0);
      // dots (rows, k) = x[r0:r0+rows] (rows, d) @ centers^T (d, k): the GEMM of the trick, written
      // out because k and d are small (a general GEMM's packing would cost more than the product).
      for (int64_t r = 0; r < rows; ++r) {
        const double* xi = x + (r0 + r) * d;
        double* out = dots.data() + r * k;
        for (int64_t j = 0; j < k; ++j) {
          const double* cj = centers + j * d;
          double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          int64_t f = 0;
          for (; f + 4 <= d; f += 4) {
            s0 += xi[f] * cj[f];
            s1 += xi[f + 1] * cj[f + 1];
            s2 += xi[f + 2] * cj[f + 2];
            s3 += xi[f + 3] * cj[f + 3];
          }
          for (; f < d; ++f) s0 += xi[f] * cj[f];
          out[j] = (s0 + s1) + (s2 + s3);
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = r0 + r;
        int32_t best = 0;
        double best_d = std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < k; ++j) {
          const double dist = c_sqnorm[j] - 2.0 * dots[r * k + j];
          if (dist < best_d) {
            best_d = dist;
            best = static_cast<int32_t>(j);
          }
        }
        best_d = std::max(0.0, best_d + x_sqnorm[i]);
        labels[i] = best;
        min_dist[i] = best_d;
        const double wi = w ? w[i] : 1.0;
        inertia += wi * best_d;
        if (accumulate) {
          double* s = my_sums + best * d;
          const double* xi = x + i * d;
          for (int64_t f = 0; f < d; ++f) s[f] += wi * xi[f];
          my_w[best] += wi;
        }
      }
    }
    t_inertia[tid] = inertia;
  }
  if (accumulate) {
    std::fill(sums, sums + k * d, 0.0);
    std::fill(weights_out, weights_out + k, 0.0);
    for (int t = 0; t < threads; ++t) {
      for (int64_t q = 0; q < k * d; ++q) sums[q] += t_sums[t * k * d + q];
      for (int64_t j = 0; j < k; ++j) weights_out[j] += t_w[t * k + j];
    }
  }
  double inertia = 0;
  for (double v : t_inertia) inertia += v;
  return inertia;
}

void pairwise_sq_distances(const double* x, const double* x_sqnorm, int64_t n, int64_t d, const double* c,
                           int64_t m, double* out) {
  std::vector<double> c_sq(m);
  for (int64_t j = 0; j < m; ++j) {
    double s = 0;
    for (int64_t f = 0; f < d; ++f) s += c[j * d + f] * c[j * d + f];
    c_sq[j] = s;
  }
  parallel_for(n, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* xi = x + i * d;
      for (int64_t j = 0; j < m; ++j) {
        const double* cj = c + j * d;
        double s = 0;
        for (int64_t f = 0; f < d; ++f) s += xi[f] * cj[f];
        out[i * m + j] = std::max(0.0, x_sqnorm[i] - 2.0 * s + c_sq[j]);
      }
    }
  });
}

int64_t enet_coordinate_descent(const double* x, int64_t n, int64_t d, const double* y, double* w, double l1,
                                double l2, int64_t max_iter, double tol, bool positive, double* gap_out) {
  // r = y - X w, the residual kept up to date as each coordinate moves.
  std::vector<double> r(y, y + n), col_sq(d);
  for (int64_t j = 0; j < d; ++j) {
    const double* xj = x + j * n;
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += xj[i] * xj[i];
    col_sq[j] = s;
    if (w[j] != 0.0)
      for (int64_t i = 0; i < n; ++i) r[i] -= xj[i] * w[j];
  }
  double y_sq = 0;
  for (int64_t i = 0; i < n; ++i) y_sq += y[i] * y[i];
  const double tol_gap = tol * y_sq;
  double gap = tol_gap + 1.0;
  int64_t it = 0;
  for (; it < max_iter; ++it) {
    double w_max = 0, dw_max = 0;
    for (int64_t j = 0; j < d; ++j) {
      if (col_sq[j] == 0.0) continue;
      const double* xj = x + j * n;
      const double w_old = w[j];
      double rho = 0;  // x_j . (r + x_j w_j)
      for (int64_t i = 0; i < n; ++i) rho += xj[i] * r[i];
      rho += col_sq[j] * w_old;
      double w_new;
      if (positive && rho < 0) w_new = 0.0;
      else w_new = std::copysign(std::max(std::fabs(rho) - l1, 0.0), rho) / (col_sq[j] + l2);
      if (w_new != w_old) {
        const double delta = w_new - w_old;
        for (int64_t i = 0; i < n; ++i) r[i] -= xj[i] * delta;
        w[j] = w_new;
      }
      dw_max = std::max(dw_max, std::fabs(w_new - w_old));
      w_max = std::max(w_max, std::fabs(w_new));
    }
    if (w_max == 0.0 || dw_max / w_max <= tol || it == max_iter - 1) {
      // Duality gap (sklearn's enet_coordinate_descent): dual point nu = r scaled into the
      // feasible set |X^T nu - l2 w|_inf <= l1.
      double dual_norm = 0, r_sq = 0, w_l1 = 0, w_sq = 0, ry = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double* xj = x + j * n;
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += xj[i] * r[i];
        s -= l2 * w[j];
        dual_norm = std::max(dual_norm, positive ? s : std::fabs(s));
        w_l1 += std::fabs(w[j]);
        w_sq += w[j] * w[j];
      }
      for (int64_t i = 0; i < n; ++i) {
        r_sq += r[i] * r[i];
        ry += r[i] * y[i];
      }
      double scale = 1.0;
      if (dual_norm > l1) scale = l1 / dual_norm;
      const double r_scaled_sq = r_sq * scale * scale;
      gap = 0.5 * (r_sq + r_scaled_sq) + l1 * w_l1 - scale * ry + 0.5 * l2 * (1.0 + scale * scale) * w_sq;
      if (gap <= tol_gap) {
        ++it;
        break;
      }
    }
  }
  *gap_out = gap;
  return it;
}

}  // namespace grimoire
