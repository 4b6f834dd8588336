// Symmetric eigen- and singular-value decompositions: blocked Householder reductions on the GEMM,
// the tridiagonal QL / bidiagonal QR iterations, and the ISA dispatch of their microkernels
// (linalg_kernels.h; the scalar table below is the reference, linalg_<isa>.cpp the fast ones).
#include "grimoire/linalg.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/gemm.h"
#include "grimoire/parallel.h"
#include "linalg_kernels.h"

namespace grimoire {
namespace linalg_detail {
namespace {

double dot_ref(const double* x, const double* y, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}
void axpy_ref(double alpha, const double* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
void gemv_t_ref(const double* a, int64_t ld, const double* coef, int64_t rows, double* y, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) axpy_ref(coef[r], a + r * ld, y, n);
}
void gemv_n_ref(const double* a, int64_t ld, const double* p, int64_t n, double* x, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) x[r] = dot_ref(a + r * ld, p, n);
}
double dot_axpy_ref(const double* row, const double* x, double* y, int64_t n, double alpha) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    s += row[i] * x[i];
    y[i] += alpha * row[i];
  }
  return s;
}
void dot_axpy4_ref(const double* a, int64_t ld, const double* x, double* y, int64_t n, const double* alpha,
                   double* dots) {
  for (int r = 0; r < 4; ++r) dots[r] = dot_axpy_ref(a + r * ld, x, y, n, alpha[r]);
}
void rotate_ref(double* x, double* y, int64_t n, double c, double s) {
  for (int64_t i = 0; i < n; ++i) {
    const double xi = x[i], yi = y[i];
    x[i] = c * xi - s * yi;
    y[i] = s * xi + c * yi;
  }
}
void replay_ref(double* block, int64_t w, const Rotation* rots, int64_t count) {
  for (int64_t r = 0; r < count; ++r) rotate_ref(block + rots[r].a * w, block + rots[r].b * w, w, rots[r].c, -rots[r].s);
}

}  // namespace

extern const LinalgKernels kernels_scalar = {&dot_ref,      &axpy_ref,      &gemv_t_ref, &gemv_n_ref,
                                              &dot_axpy_ref, &dot_axpy4_ref, &rotate_ref, &replay_ref, 32};

}  // namespace linalg_detail

namespace {
using linalg_detail::LinalgKernels;
using linalg_detail::Rotation;

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("linalg", kPaths), true);

const LinalgKernels& kernels() {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return linalg_detail::kernels_avx512;
    case Isa::avx2: return linalg_detail::kernels_avx2;
    default: return linalg_detail::kernels_scalar;
  }
}

constexpr int64_t kPanel = 32;  // reflectors per panel: the trailing GEMM update has k = 2 * kPanel
constexpr int64_t kRowBlock = 128;  // rows per GEMM of the lower-triangle trailing update
constexpr int64_t kQBlock = 64;  // reflectors per block when forming Q: GEMMs with k = 64

// Rows per thread chunk so that a parallel region carries at least ~2 Mflop: on a busy machine a
// region's barrier costs a time slice.
int64_t grain_rows(int64_t row_len) { return std::max<int64_t>(64, (int64_t{1} << 21) / std::max<int64_t>(row_len, 1)); }

// sqrt(x^2 + y^2) without std::hypot's careful scaling (a third of the QL loop's time at n = 512)
// where the squares can neither overflow nor underflow; std::hypot otherwise.
inline double hypot2(double x, double y) {
  const double r = std::sqrt(x * x + y * y);
  return (r > 1e-150 && r < 1e150) ? r : std::hypot(x, y);
}

// Scales a (count entries) by a power of two (exact) that brings its largest |entry| to [1, 2):
// the reflectors' sums of squares then neither overflow nor underflow (LAPACK scales likewise).
// Returns the factor to multiply the eigen- or singular values by afterwards.
double normalize_scale(double* a, int64_t count) {
  double amax = 0.0;
  for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(a[i]));
  if (amax == 0.0) return 1.0;
  const int ex = std::ilogb(amax);
  for (int64_t i = 0; i < count; ++i) a[i] = std::ldexp(a[i], -ex);
  return std::ldexp(1.0, ex);
}

// C (m x n, row stride ldc) = alpha op(A) op(B) + beta C, A and B given by element strides.
void gemm_acc(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t ars, int64_t acs,
              const double* b, int64_t brs, int64_t bcs, double beta, double* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  GemmParams<double> p;
  p.m = m, p.n = n, p.k = k;
  p.a = a, p.a_row_stride = ars, p.a_col_stride = acs;
  p.b = b, p.b_row_stride = brs, p.b_col_stride = bcs;
  p.c = c, p.c_row_stride = ldc, p.c_col_stride = 1;
  p.alpha = alpha, p.beta = beta;
  gemm(p);
}

// Householder reflector H = I - beta v v^T with H x = (alpha, 0, ..., 0): x (length m) becomes
// v in place. Returns alpha; beta = 0 (H = I) when x[1:] is already zero.
double householder(const LinalgKernels& K, double* x, int64_t m, double& beta) {
  beta = 0.0;
  if (m <= 1) return m == 1 ? x[0] : 0.0;
  const double tail2 = K.dot(x + 1, x + 1, m - 1);
  if (tail2 == 0.0) return x[0];
  const double xnorm = std::sqrt(x[0] * x[0] + tail2);
  const double alpha = x[0] > 0 ? -xnorm : xnorm;
  x[0] -= alpha;
  beta = 2.0 / (x[0] * x[0] + tail2);
  return alpha;
}

// w = S v for the symmetric S (m x m, row stride ld) held in its lower triangle, one pass over
// it (each stored entry serves its row and its column). Threads take row ranges of equal
// triangle area, each summing into its own copy of w.
void symv_lower(const LinalgKernels& K, int64_t m, const double* s, int64_t ld, const double* v, double* w,
                std::vector<double>& parts) {
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(num_threads(), m * m / (int64_t{1} << 20)));
  parts.assign(threads * m, 0.0);
  parallel_for(threads, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      double* part = parts.data() + t * m;
      const auto edge = [&](int64_t q) { return static_cast<int64_t>(m * std::sqrt(double(q) / threads)); };
      const int64_t lo = edge(t), hi = t + 1 == threads ? m : edge(t + 1);
      int64_t i = lo;
      for (; i + 4 <= hi; i += 4) {  // four rows over their common columns [0, i), then the corner
        double dots[4];
        K.dot_axpy4(s + i * ld, ld, v, part, i, v + i, dots);
        for (int64_t r = i; r < i + 4; ++r) {
          const double* row = s + r * ld;
          double acc = dots[r - i] + row[r] * v[r];
          for (int64_t c = i; c < r; ++c) {
            acc += row[c] * v[c];
            part[c] += row[c] * v[r];
          }
          part[r] += acc;
        }
      }
      for (; i < hi; ++i) {
        const double* row = s + i * ld;
        part[i] += K.dot_axpy(row, v, part, i, v[i]) + row[i] * v[i];
      }
    }
  });
  std::copy(parts.begin(), parts.begin() + m, w);
  for (int64_t t = 1; t < threads; ++t) K.axpy(1.0, parts.data() + t * m, w, m);
}

// One panel of the tridiagonal reduction (LAPACK latrd): reflectors for columns [k0, k1) of the
// symmetric a (n x n) held in its lower triangle, whose rows/columns >= k0 are stale by
// V W^T + W V^T of this panel. Reflector j goes to row j of vs (support [j+1, n)), the matching
// w to row j - k0 of wt.
void tridiag_panel(const LinalgKernels& K, int64_t n, const double* a, int64_t k0, int64_t k1, double* d, double* e,
                   double* vs, double* betas, double* wt, std::vector<double>& scratch) {
  std::vector<double> x(n);
  for (int64_t j = k0; j < k1; ++j) {
    if (interrupted()) return;  // Ctrl-C (a column reads the trailing triangle): the caller gives up
    const int64_t jj = j - k0, m = n - j - 1;
    for (int64_t r = j; r < n; ++r) x[r] = a[r * n + j];  // column j, brought up to date here
    for (int64_t i = 0; i < jj; ++i) {
      K.axpy(-wt[i * n + j], vs + (k0 + i) * n + j, x.data() + j, n - j);
      K.axpy(-vs[(k0 + i) * n + j], wt + i * n + j, x.data() + j, n - j);
    }
    d[j] = x[j];
    double* v = vs + j * n + j + 1;
    std::copy(x.begin() + j + 1, x.end(), v);
    double beta;
    e[j] = householder(K, v, m, beta);
    betas[j] = beta;
    double* w = wt + jj * n + j + 1;
    if (beta == 0.0) {  // H = I: zero v and w (w's row still holds the previous panel's)
      std::fill(v, v + m, 0.0);
      std::fill(w, w + m, 0.0);
      continue;
    }
    symv_lower(K, m, a + (j + 1) * n + (j + 1), n, v, w, scratch);  // the stale trailing matrix
    for (int64_t i = 0; i < jj; ++i) {  // w -= V (W^T v) + W (V^T v), the panel's pending update
      const double* vi = vs + (k0 + i) * n + j + 1;
      const double* wi = wt + i * n + j + 1;
      const double wv = K.dot(wi, v, m), vv = K.dot(vi, v, m);
      K.axpy(-wv, vi, w, m);
      K.axpy(-vv, wi, w, m);
    }
    for (int64_t i = 0; i < m; ++i) w[i] *= beta;
    K.axpy(-0.5 * beta * K.dot(w, v, m), v, w, m);
  }
}

// T = Q^T A Q with Q = H_0 ... H_{n-3}, from a's lower triangle; d (n), e (n, e[n-1] = 0);
// reflectors in rows of vs.
bool tridiagonalize(const LinalgKernels& K, int64_t n, double* a, double* d, double* e, double* vs, double* betas) {
  std::vector<double> wt(kPanel * n, 0.0), vw(2 * kPanel * n), wv(2 * kPanel * n), scratch;
  for (int64_t k0 = 0; k0 + 2 < n; k0 += kPanel) {
    if (interrupted()) return false;  // Ctrl-C between panels: the binding raises
    const int64_t k1 = std::min(k0 + kPanel, n - 2), nb = k1 - k0, mt = n - k1;
    tridiag_panel(K, n, a, k0, k1, d, e, vs, betas, wt.data(), scratch);
    // A22 -= [V W] [W V]^T on its lower triangle (LAPACK syr2k): GEMMs with k = 2 nb on row
    // blocks, each up to its diagonal block.
    for (int64_t t = 0; t < nb; ++t) {
      const double* vrow = vs + (k0 + t) * n + k1;
      const double* wrow = wt.data() + t * n + k1;
      std::copy(vrow, vrow + mt, vw.data() + t * mt);
      std::copy(wrow, wrow + mt, vw.data() + (nb + t) * mt);
      std::copy(wrow, wrow + mt, wv.data() + t * mt);
      std::copy(vrow, vrow + mt, wv.data() + (nb + t) * mt);
    }
    for (int64_t r0 = 0; r0 < mt; r0 += kRowBlock) {
      const int64_t r1 = std::min(r0 + kRowBlock, mt);
      gemm_acc(r1 - r0, r1, 2 * nb, -1.0, vw.data() + r0, 1, mt, wv.data(), mt, 1, 1.0, a + (k1 + r0) * n + k1, n);
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)];
    e[n - 2] = a[(n - 1) * n + (n - 2)];
  }
  d[n - 1] = a[(n - 1) * n + (n - 1)];
  e[n - 1] = 0.0;
  return true;
}

// Y = Q^T (cols x rows, row-major) for Q = H_0 H_1 ... H_{count-1} applied to the first cols
// columns of I, H_j = I - beta_j v_j v_j^T with v_j in row j of vs (row stride ldv) supported on
// [j + off, rows). Q^T directly (its rows are what the QL / QR rotations mix): blocks of kQBlock
// reflectors, last to first, each B = I - V T V^T (LAPACK larft) applied as Y <- Y B^T on the GEMM.
void form_qt(const LinalgKernels& K, int64_t rows, int64_t cols, const double* vs, int64_t ldv, const double* betas,
             int64_t count, int64_t off, double* y) {
  std::fill(y, y + rows * cols, 0.0);
  for (int64_t i = 0; i < std::min(rows, cols); ++i) y[i * rows + i] = 1.0;
  std::vector<double> t(kQBlock * kQBlock), m1, m2;
  for (int64_t b0 = ((count - 1) / kQBlock) * kQBlock; count > 0 && b0 >= 0; b0 -= kQBlock) {
    if (interrupted()) return;  // the caller checks again and gives up
    const int64_t nb = std::min(kQBlock, count - b0), r0 = b0 + off, mr = rows - r0, mc = cols - r0;
    if (mc <= 0 || mr <= 0) continue;
    const double* v = vs + b0 * ldv + r0;  // V (mr x nb): element (r, i) at v[i * ldv + r]
    std::fill(t.begin(), t.end(), 0.0);
    for (int64_t i = 0; i < nb; ++i) {  // T(0:i, i) = -beta_i T(0:i, 0:i) V(:, 0:i)^T v_i
      t[i * kQBlock + i] = betas[b0 + i];
      std::vector<double> z(i);
      for (int64_t k = 0; k < i; ++k) z[k] = K.dot(v + k * ldv, v + i * ldv, mr);
      for (int64_t r = 0; r < i; ++r) {
        double acc = 0;
        for (int64_t k = r; k < i; ++k) acc += t[r * kQBlock + k] * z[k];
        t[r * kQBlock + i] = -betas[b0 + i] * acc;
      }
    }
    m1.assign(mc * nb, 0.0);
    m2.assign(mc * nb, 0.0);
    double* ys = y + r0 * rows + r0;  // (mc x mr): the rest of Y is still the identity's
    gemm_acc(mc, nb, mr, 1.0, ys, rows, 1, v, 1, ldv, 0.0, m1.data(), nb);                 // Y V
    gemm_acc(mc, nb, nb, 1.0, m1.data(), nb, 1, t.data(), 1, kQBlock, 0.0, m2.data(), nb);  // Y V T^T
    gemm_acc(mc, mr, nb, -1.0, m2.data(), nb, 1, v, ldv, 1, 1.0, ys, rows);                // Y -= Y V T^T V^T
  }
}

// out[r * ldo + c] = y[src[c] * ld + r] for c < count, r < len, in 32 x 32 tiles (a transpose
// that picks rows: the sorted eigen- or singular vectors become columns).
void transpose_rows(const double* y, int64_t ld, const int64_t* src, int64_t count, int64_t len, double* out,
                    int64_t ldo) {
  constexpr int64_t B = 32;
  for (int64_t c0 = 0; c0 < count; c0 += B)
    for (int64_t r0 = 0; r0 < len; r0 += B)
      for (int64_t c = c0; c < std::min(c0 + B, count); ++c) {
        const double* row = y + src[c] * ld;
        for (int64_t r = r0; r < std::min(r0 + B, len); ++r) out[r * ldo + c] = row[r];
      }
}

// Replays rots on every column of y (rows x cols, row-major), K.replay_width (16 or 32) columns
// at a time copied to a contiguous block: the whole rotation sequence then runs on L2-resident data.
void replay_rotations(const LinalgKernels& K, int64_t rows, int64_t cols, double* y, const std::vector<Rotation>& rots) {
  if (rots.empty()) return;
  const int64_t chunk = K.replay_width, chunks = (cols + chunk - 1) / chunk;
  parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    std::vector<double> block(rows * chunk);
    for (int64_t ch = cb; ch < ce; ++ch) {
      if (interrupted()) return;  // Ctrl-C: a block is O(rotations x chunk), ~0.1 s at n = 3000
      const int64_t c0 = ch * chunk, w = std::min(chunk, cols - c0);
      for (int64_t r = 0; r < rows; ++r) std::copy(y + r * cols + c0, y + r * cols + c0 + w, block.data() + r * w);
      K.replay(block.data(), w, rots.data(), static_cast<int64_t>(rots.size()));
      for (int64_t r = 0; r < rows; ++r) std::copy(block.data() + r * w, block.data() + (r + 1) * w, y + r * cols + c0);
    }
  });
}

// Implicit QL with Wilkinson shifts on (d, e), e[i] coupling i and i + 1; the rotations on the
// eigenvector rows (i, i + 1) are appended to rots when it is not null.
bool tridiagonal_ql(int64_t n, double* d, double* e, std::vector<Rotation>* rots) {
  for (int64_t l = 0; l < n; ++l) {
    if (interrupted()) return false;
    int iter = 0;
    int64_t m;
    do {
      for (m = l; m < n - 1; ++m) {
        const double dd = std::fabs(d[m]) + std::fabs(d[m + 1]);
        if (std::fabs(e[m]) <= 1e-300 || std::fabs(e[m]) + dd == dd) break;
      }
      if (m == l) break;
      if (iter++ == 60) return false;
      double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
      double r = hypot2(g, 1.0);
      g = d[m] - d[l] + e[l] / (g + std::copysign(r, g));
      double s = 1.0, c = 1.0, pp = 0.0;
      int64_t i;
      for (i = m - 1; i >= l; --i) {
        const double f = s * e[i], b = c * e[i];
        e[i + 1] = (r = hypot2(f, g));
        if (r == 0.0) {
          d[i + 1] -= pp;
          e[m] = 0.0;
          break;
        }
        const double rinv = 1.0 / r;  // one division on the iteration's serial chain, not two
        s = f * rinv;
        c = g * rinv;
        g = d[i + 1] - pp;
        r = (d[i] - g) * s + 2.0 * c * b;
        d[i + 1] = g + (pp = s * r);
        g = c * r - b;
        // z_i <- c z_i - s z_{i+1}; z_{i+1} <- s z_i + c z_{i+1}
        if (rots) rots->push_back({i, i + 1, c, -s});
      }
      if (r == 0.0 && i >= l) continue;
      d[l] -= pp;
      e[l] = g;
      e[m] = 0.0;
    } while (m != l);
  }
  return true;
}

// One panel of the bidiagonalisation (LAPACK labrd, m >= n): left reflector j on column j (row j
// of us, support [j, m)), right reflector j on row j (row j of ps, support [j + 1, n)), for
// j in [k0, k1). a's rows/columns >= k0 are stale by U Y^T + X P^T of this panel; x and y of
// reflector j go to row j - k0 of xt (length m) and yt (length n).
void bidiag_panel(const LinalgKernels& K, int64_t m, int64_t n, const double* a, int64_t k0, int64_t k1, double* d,
                  double* e, double* us, double* bu, double* ps, double* bp, double* xt, double* yt) {
  for (int64_t j = k0; j < k1; ++j) {
    if (interrupted()) return;  // a column reads the trailing matrix twice (0.05 s at 3000^2)
    const int64_t i = j - k0, len = m - j, nr = n - j - 1, mr = m - j - 1;
    double* u = us + j * m + j;
    for (int64_t r = 0; r < len; ++r) u[r] = a[(j + r) * n + j];
    for (int64_t t = 0; t < i; ++t) {
      K.axpy(-yt[t * n + j], us + (k0 + t) * m + j, u, len);
      K.axpy(-ps[(k0 + t) * n + j], xt + t * m + j, u, len);
    }
    d[j] = householder(K, u, len, bu[j]);
    if (bu[j] == 0.0) std::fill(u, u + len, 0.0);
    double* y = yt + i * n + j + 1;  // y = beta_u A_cur^T u on columns (j, n)
    std::fill(y, y + nr, 0.0);
    if (bu[j] != 0.0 && nr > 0) {
      parallel_for(nr, 256, [&](int64_t cb, int64_t ce) { K.gemv_t(a + j * n + j + 1 + cb, n, u, len, y + cb, ce - cb); });
      for (int64_t t = 0; t < i; ++t) {
        K.axpy(-K.dot(us + (k0 + t) * m + j, u, len), yt + t * n + j + 1, y, nr);
        K.axpy(-K.dot(xt + t * m + j, u, len), ps + (k0 + t) * n + j + 1, y, nr);
      }
      for (int64_t c = 0; c < nr; ++c) y[c] *= bu[j];
    }
    if (nr <= 0) continue;
    double* p = ps + j * n + j + 1;  // row j after the left reflector
    std::copy(a + j * n + j + 1, a + (j + 1) * n, p);
    for (int64_t t = 0; t <= i; ++t) K.axpy(-us[(k0 + t) * m + j], yt + t * n + j + 1, p, nr);
    for (int64_t t = 0; t < i; ++t) K.axpy(-xt[t * m + j], ps + (k0 + t) * n + j + 1, p, nr);
    e[j] = householder(K, p, nr, bp[j]);
    double* x = xt + i * m + j + 1;  // x = beta_p A_cur p on rows (j, m)
    std::fill(x, x + mr, 0.0);
    if (bp[j] == 0.0) {
      std::fill(p, p + nr, 0.0);
      continue;
    }
    parallel_for(mr, grain_rows(nr), [&](int64_t b, int64_t en) { K.gemv_n(a + (j + 1 + b) * n + j + 1, n, p, nr, x + b, en - b); });
    for (int64_t t = 0; t <= i; ++t) K.axpy(-K.dot(yt + t * n + j + 1, p, nr), us + (k0 + t) * m + j + 1, x, mr);
    for (int64_t t = 0; t < i; ++t) K.axpy(-K.dot(ps + (k0 + t) * n + j + 1, p, nr), xt + t * m + j + 1, x, mr);
    for (int64_t r = 0; r < mr; ++r) x[r] *= bp[j];
  }
}

// A = Q B P^T, B upper bidiagonal (d (n), e (n - 1)); reflectors in the rows of us and ps.
bool bidiagonalize(const LinalgKernels& K, int64_t m, int64_t n, double* a, double* d, double* e, double* us,
                   double* bu, double* ps, double* bp) {
  std::vector<double> xt(kPanel * m), yt(kPanel * n), ux(2 * kPanel * m), yp(2 * kPanel * n);
  for (int64_t k0 = 0; k0 < n; k0 += kPanel) {
    if (interrupted()) return false;
    const int64_t k1 = std::min(k0 + kPanel, n), nb = k1 - k0;
    std::fill(xt.begin(), xt.end(), 0.0);
    std::fill(yt.begin(), yt.end(), 0.0);
    bidiag_panel(K, m, n, a, k0, k1, d, e, us, bu, ps, bp, xt.data(), yt.data());
    if (interrupted()) return false;
    if (k1 >= n) break;
    // A22 -= [U X] [Y P]^T: one GEMM with k = 2 nb
    const int64_t mt = m - k1, nt = n - k1;
    for (int64_t t = 0; t < nb; ++t) {
      std::copy(us + (k0 + t) * m + k1, us + (k0 + t + 1) * m, ux.data() + t * mt);
      std::copy(xt.data() + t * m + k1, xt.data() + (t + 1) * m, ux.data() + (nb + t) * mt);
      std::copy(yt.data() + t * n + k1, yt.data() + (t + 1) * n, yp.data() + t * nt);
      std::copy(ps + (k0 + t) * n + k1, ps + (k0 + t + 1) * n, yp.data() + (nb + t) * nt);
    }
    gemm_acc(mt, nt, 2 * nb, -1.0, ux.data(), 1, mt, yp.data(), nt, 1, 1.0, a + k1 * n + k1, n);
  }
  return true;
}

// c, s with c y + s z = r, -s y + c z = 0 (c = 1, s = 0 when both are 0).
double givens(double y, double z, double& c, double& s) {
  const double r = hypot2(y, z);
  if (r == 0.0) {
    c = 1.0, s = 0.0;
    return 0.0;
  }
  const double rinv = 1.0 / r;
  c = y * rinv, s = z * rinv;
  return r;
}

// One implicit-shift Golub-Kahan QR step on the unreduced block [lo, hi] of the bidiagonal (d, e),
// the shift the eigenvalue of the trailing 2x2 of B^T B nearer its last entry (Wilkinson).
void golub_kahan_step(int64_t lo, int64_t hi, double* d, double* e, std::vector<Rotation>* ru, std::vector<Rotation>* rv) {
  const double dm = d[hi - 1], em = hi - 1 > lo ? e[hi - 2] : 0.0, dn = d[hi], fn = e[hi - 1];
  const double t11 = dm * dm + em * em, t12 = dm * fn, t22 = dn * dn + fn * fn;
  const double delta = 0.5 * (t11 - t22);
  const double mu = t12 == 0.0 ? t22 : t22 - t12 * t12 / (delta + std::copysign(std::hypot(delta, t12), delta));
  double y = d[lo] * d[lo] - mu, z = d[lo] * e[lo], c, s;
  for (int64_t k = lo; k < hi; ++k) {
    const double r1 = givens(y, z, c, s);  // columns k, k+1 (V)
    if (k > lo) e[k - 1] = r1;
    y = c * d[k] + s * e[k];
    e[k] = c * e[k] - s * d[k];
    z = s * d[k + 1];
    d[k + 1] *= c;
    if (rv) rv->push_back({k, k + 1, c, s});
    d[k] = givens(y, z, c, s);  // rows k, k+1 (U)
    y = c * e[k] + s * d[k + 1];
    d[k + 1] = c * d[k + 1] - s * e[k];
    if (k + 1 < hi) {
      z = s * e[k + 1];
      e[k + 1] *= c;
    }
    if (ru) ru->push_back({k, k + 1, c, s});
  }
  e[hi - 1] = y;
}

// A zero d[k] in the block [lo, hi]: rotate e[k] (or e[hi - 1] when k == hi) out of the matrix,
// which splits the block (LAPACK bdsqr's chase).
void chase_zero_diagonal(int64_t lo, int64_t k, int64_t hi, double* d, double* e, std::vector<Rotation>* ru,
                         std::vector<Rotation>* rv) {
  double c, s;
  d[k] = 0.0;
  if (k < hi) {  // along row k with rotations of rows (j, k): U
    double f = e[k];
    e[k] = 0.0;
    for (int64_t j = k + 1; j <= hi && f != 0.0; ++j) {
      d[j] = givens(d[j], f, c, s);
      if (ru) ru->push_back({j, k, c, s});
      if (j < hi) {
        f = -s * e[j];
        e[j] *= c;
      }
    }
    return;
  }
  double f = e[hi - 1];  // up column hi with rotations of columns (j, hi): V
  e[hi - 1] = 0.0;
  for (int64_t j = hi - 1; j >= lo && f != 0.0; --j) {
    d[j] = givens(d[j], f, c, s);
    if (rv) rv->push_back({j, hi, c, s});
    if (j > lo) {
      f = -s * e[j - 1];
      e[j - 1] *= c;
    }
  }
}

// The singular values of the upper bidiagonal (d, e) in d (signed); rotations recorded in ru / rv.
bool bidiagonal_qr(int64_t n, double* d, double* e, std::vector<Rotation>* ru, std::vector<Rotation>* rv) {
  const double eps = std::numeric_limits<double>::epsilon();
  double scale = 0.0;
  for (int64_t i = 0; i < n; ++i) scale = std::max({scale, std::fabs(d[i]), i + 1 < n ? std::fabs(e[i]) : 0.0});
  if (scale == 0.0) return true;
  for (int64_t i = 0; i < n; ++i) d[i] /= scale;  // squares in the shift stay in range
  for (int64_t i = 0; i + 1 < n; ++i) e[i] /= scale;
  double bnorm = 0.0;
  for (int64_t i = 0; i < n; ++i) bnorm = std::max(bnorm, std::fabs(d[i]) + (i + 1 < n ? std::fabs(e[i]) : 0.0));
  int64_t hi = n - 1, steps = 0;
  const int64_t max_steps = 30 * n + 100;
  while (hi > 0) {
    if ((steps & 63) == 0 && interrupted()) return false;
    for (int64_t i = 0; i < hi; ++i)
      if (std::fabs(e[i]) <= eps * (std::fabs(d[i]) + std::fabs(d[i + 1]))) e[i] = 0.0;
    if (e[hi - 1] == 0.0) {
      --hi;
      continue;
    }
    int64_t lo = hi - 1;
    while (lo > 0 && e[lo - 1] != 0.0) --lo;
    int64_t zero = -1;
    for (int64_t k = lo; k <= hi && zero < 0; ++k)
      if (std::fabs(d[k]) <= eps * bnorm) zero = k;
    if (zero >= 0) {
      chase_zero_diagonal(lo, zero, hi, d, e, ru, rv);
      continue;
    }
    if (++steps > max_steps) return false;
    golub_kahan_step(lo, hi, d, e, ru, rv);
  }
  for (int64_t i = 0; i < n; ++i) d[i] *= scale;
  return true;
}

}  // namespace

bool eigh_symmetric(int64_t n, double* a, double* w, double* z) {
  if (n == 0) return true;
  const LinalgKernels& K = kernels();
  const double scale = normalize_scale(a, n * n);
  std::vector<double> d(n), e(n, 0.0), betas(n, 0.0), vs(n * n, 0.0);
  if (!tridiagonalize(K, n, a, d.data(), e.data(), vs.data(), betas.data())) return false;
  std::vector<double> y;
  std::vector<Rotation> rots;
  if (z) {
    y.resize(n * n);
    form_qt(K, n, n, vs.data(), n, betas.data(), std::max<int64_t>(n - 2, 0), 1, y.data());
    if (interrupted()) return false;
    rots.reserve(n * n);
  }
  if (!tridiagonal_ql(n, d.data(), e.data(), z ? &rots : nullptr)) return false;
  if (z) replay_rotations(K, n, n, y.data(), rots);
  if (interrupted()) return false;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t yy) { return d[x] < d[yy]; });
  for (int64_t c = 0; c < n; ++c) w[c] = d[order[c]] * scale;
  if (z) transpose_rows(y.data(), n, order.data(), n, n, z, n);
  return true;
}

bool svd_bidiagonal(int64_t m, int64_t n, double* a, double* s, double* u, bool full, double* vt) {
  if (n == 0) {
    if (u && full)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j) u[i * m + j] = i == j ? 1.0 : 0.0;
    return true;
  }
  const LinalgKernels& K = kernels();
  const bool vectors = u != nullptr;
  const double scale = normalize_scale(a, m * n);
  std::vector<double> d(n), e(n, 0.0), us(n * m, 0.0), bu(n, 0.0), ps(n * n, 0.0), bp(n, 0.0);
  if (!bidiagonalize(K, m, n, a, d.data(), e.data(), us.data(), bu.data(), ps.data(), bp.data())) return false;
  const int64_t ucols = full ? m : n;
  std::vector<double> yu, yv;
  std::vector<Rotation> ru, rv;
  if (vectors) {
    yu.resize(ucols * m);
    form_qt(K, m, ucols, us.data(), m, bu.data(), n, 0, yu.data());
    yv.resize(n * n);
    form_qt(K, n, n, ps.data(), n, bp.data(), std::max<int64_t>(n - 2, 0), 1, yv.data());
    if (interrupted()) return false;
  }
  if (!bidiagonal_qr(n, d.data(), e.data(), vectors ? &ru : nullptr, vectors ? &rv : nullptr)) return false;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return std::fabs(d[x]) > std::fabs(d[y]); });
  for (int64_t c = 0; c < n; ++c) s[c] = std::fabs(d[order[c]]) * scale;
  if (!vectors) return true;
  replay_rotations(K, n, m, yu.data(), ru);  // the rotations touch only the first n rows
  replay_rotations(K, n, n, yv.data(), rv);
  if (interrupted()) return false;
  std::vector<int64_t> src(ucols);
  for (int64_t c = 0; c < ucols; ++c) src[c] = c < n ? order[c] : c;  // the completion stays put
  transpose_rows(yu.data(), m, src.data(), ucols, m, u, ucols);
  for (int64_t c = 0; c < n; ++c) {
    const double sign = d[order[c]] < 0 ? -1.0 : 1.0;
    const double* row = yv.data() + order[c] * n;
    for (int64_t j = 0; j < n; ++j) vt[c * n + j] = sign * row[j];
  }
  return true;
}

int jacobi_svd_sweeps(int64_t n, int64_t m, double* bt, int64_t nv, double* vt, int max_sweeps, double tol) {
  if (n < 2) return 0;
  const LinalgKernels& K = kernels();
  const int64_t players = n + (n & 1);
  std::vector<int64_t> order(players);
  for (int sweep = 1; sweep <= max_sweeps; ++sweep) {
    std::atomic<bool> rotated{false};
    // Squared column norms, exact at the start of each sweep and then kept up to date through the
    // rotations (alpha' = alpha - t gamma, beta' = beta + t gamma), so a pair costs one dot
    // product to check instead of three.
    std::vector<double> norm2(n);
    double max_norm2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      norm2[i] = K.dot(bt + i * m, bt + i * m, m);
      max_norm2 = std::max(max_norm2, norm2[i]);
    }
    // Columns that are zero to rounding next to the largest are left alone: rotating noise
    // against noise need not converge, and their singular values are 0 either way.
    const double floor2 = max_norm2 * 1e-30;
    std::iota(order.begin(), order.end(), 0);
    for (int64_t round = 0; round + 1 < players; ++round) {
      if (interrupted()) return sweep;  // Ctrl-C (a round is O(n m)): the binding raises
      const int64_t pairs = players / 2;
      const int64_t grain = std::max<int64_t>(8, (int64_t{1} << 18) / std::max<int64_t>(m, 1));
      parallel_for(pairs, grain, [&](int64_t b, int64_t en) {
        bool any = false;
        for (int64_t t = b; t < en; ++t) {
          int64_t i = order[t], j = order[players - 1 - t];
          if (i >= n || j >= n) continue;
          if (i > j) std::swap(i, j);
          double* bi = bt + i * m;
          double* bj = bt + j * m;
          const double alpha = norm2[i], beta = norm2[j];
          if (alpha <= floor2 || beta <= floor2) continue;
          const double gamma = K.dot(bi, bj, m);
          if (gamma == 0.0 || std::fabs(gamma) <= tol * std::sqrt(alpha * beta)) continue;
          any = true;
          const double zeta = (beta - alpha) / (2.0 * gamma);
          const double tt = std::copysign(1.0, zeta) / (std::fabs(zeta) + std::sqrt(1.0 + zeta * zeta));
          const double c = 1.0 / std::sqrt(1.0 + tt * tt), s = c * tt;
          K.rotate(bi, bj, m, c, s);
          norm2[i] = alpha - tt * gamma;
          norm2[j] = beta + tt * gamma;
          if (vt) K.rotate(vt + i * nv, vt + j * nv, nv, c, s);
        }
        if (any) rotated.store(true, std::memory_order_relaxed);
      });
      // next round: keep order[0], rotate the rest by one
      const int64_t last = order[players - 1];
      for (int64_t q = players - 1; q > 1; --q) order[q] = order[q - 1];
      order[1] = last;
    }
    if (!rotated.load()) return sweep;
  }
  return max_sweeps + 1;
}

}  // namespace grimoire
