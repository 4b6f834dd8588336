#include "grimoire/special.h"

#include <cmath>
#include <limits>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {
namespace {

constexpr double kEps = 1e-16;
constexpr double kTiny = 1e-300;
constexpr int kMaxIter = 10000;
constexpr int64_t kGrain = 2048;  // values per thread at least: a few microseconds of work
const double kNaN = std::numeric_limits<double>::quiet_NaN();

double lgam(double x) {
  int sign;
  return lgamma_r(x, &sign);  // lgamma writes the global signgam: not thread-safe
}

double tiny_guard(double v) { return std::fabs(v) < kTiny ? kTiny : v; }

// P(a, x) by its series e^-x x^a / Gamma(a+1) sum_n x^n / ((a+1)...(a+n)), for x < a + 1.
double gamma_series(double a, double x) {
  double ap = a, s = 1.0 / a, term = 1.0 / a;
  for (int i = 0; i < kMaxIter; ++i) {
    ap += 1.0;
    term *= x / ap;
    s += term;
    if (std::fabs(term) < std::fabs(s) * kEps) break;
  }
  return s * std::exp(-x + a * std::log(x) - lgam(a));
}

// Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1.
double gamma_fraction(double a, double x) {
  double b = x + 1.0 - a, c = 1.0 / kTiny, d = 1.0 / b, h = d;
  for (int i = 1; i < kMaxIter; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = tiny_guard(an * d + b);
    c = tiny_guard(b + an / c);
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEps) break;
  }
  return std::exp(-x + a * std::log(x) - lgam(a)) * h;
}

double gammainc_one(double a, double x, bool upper) {
  if (std::isnan(a) || std::isnan(x) || x < 0 || a <= 0) return kNaN;
  if (x == 0) return upper ? 1.0 : 0.0;
  if (std::isinf(x)) return upper ? 0.0 : 1.0;
  if (x < a + 1.0) {
    const double p = gamma_series(a, x);
    return upper ? 1.0 - p : p;
  }
  const double q = gamma_fraction(a, x);
  return upper ? q : 1.0 - q;
}

// The continued fraction of the incomplete beta function (modified Lentz).
double beta_fraction(double a, double b, double x) {
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 / tiny_guard(1.0 - qab * x / qap), h = d;
  for (int m = 1; m < kMaxIter; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 / tiny_guard(1.0 + aa * d);
    c = tiny_guard(1.0 + aa / c);
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 / tiny_guard(1.0 + aa * d);
    c = tiny_guard(1.0 + aa / c);
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEps) break;
  }
  return h;
}

double betainc_one(double a, double b, double x) {
  if (std::isnan(a) || std::isnan(b) || std::isnan(x) || a <= 0 || b <= 0) return kNaN;
  if (x <= 0) return 0.0;
  if (x >= 1) return 1.0;
  const double bt = std::exp(lgam(a + b) - lgam(a) - lgam(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return bt * beta_fraction(a, b, x) / a;
  return 1.0 - bt * beta_fraction(b, a, 1.0 - x) / b;
}

double ndtr_one(double x) { return 0.5 * std::erfc(-x * M_SQRT1_2); }

double ndtri_one(double p) {
  static constexpr double a[] = {-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
                                 1.383577518672690e02,  -3.066479806614716e01, 2.506628277459239e00};
  static constexpr double b[] = {-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
                                 6.680131188771972e01, -1.328068155288572e01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
                                 -2.549732539343734e00,  4.374664141464968e00,   2.938163982698783e00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
                                 3.754408661907416e00};
  if (!(p >= 0 && p <= 1)) return kNaN;
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  double x;
  if (p < 0.02425 || p > 1 - 0.02425) {
    const double r = std::sqrt(-2 * (p < 0.5 ? std::log(p) : std::log1p(-p)));
    x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
        ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
    if (p > 0.5) x = -x;
  } else {
    const double r = p - 0.5, s = r * r;
    x = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r /
        (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
  }
  for (int i = 0; i < 2; ++i) {
    // e = Phi(x) - p, from the tail on the side of p so that it does not cancel.
    const double e = p < 0.5 ? 0.5 * std::erfc(-x * M_SQRT1_2) - p : (1 - p) - 0.5 * std::erfc(x * M_SQRT1_2);
    const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    x = x - u / (1 + x * u / 2);
  }
  return x;
}

const bool registered = (register_family("special", {Isa::scalar}), true);

}  // namespace

void gammaln(const double* x, double* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = lgam(x[i]);
  });
}

void gammainc(const double* a, const double* x, double* out, int64_t n, bool upper) {
  parallel_for(n, kGrain / 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = gammainc_one(a[i], x[i], upper);
  });
}

void betainc(const double* a, const double* b, const double* x, double* out, int64_t n) {
  parallel_for(n, kGrain / 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = betainc_one(a[i], b[i], x[i]);
  });
}

void ndtr(const double* x, double* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = ndtr_one(x[i]);
  });
}

void ndtri(const double* q, double* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = ndtri_one(q[i]);
  });
}

}  // namespace grimoire
