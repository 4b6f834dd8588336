// Linear attention, forward and backward (see linear_attention.h for the formulas). Scalar code:
// the inner loops run over v_dim, contiguous, and the compiler vectorises them.
#include "grimoire/linear_attention.h"

#include <cmath>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

inline float feature(float x) { return x > 0.0f ? x + 1.0f : std::exp(x); }        // elu(x) + 1
inline float feature_grad(float x) { return x > 0.0f ? 1.0f : std::exp(x); }       // d/dx

// S += phi(k_j) v_j',  z += phi(k_j)
void accumulate(const float* kj, const float* vj, int64_t d, int64_t e, double* s, double* z) {
  for (int64_t a = 0; a < d; ++a) {
    const double fk = feature(kj[a]);
    z[a] += fk;
    double* row = s + a * e;
    for (int64_t c = 0; c < e; ++c) row[c] += fk * vj[c];
  }
}

// out_i = phi(q_i)' S / (phi(q_i)' z + eps); returns the denominator.
double read_out(const float* qi, const double* s, const double* z, int64_t d, int64_t e, float eps, double* num,
                float* out) {
  double den = eps;
  for (int64_t c = 0; c < e; ++c) num[c] = 0.0;
  for (int64_t a = 0; a < d; ++a) {
    const double fq = feature(qi[a]);
    den += fq * z[a];
    const double* row = s + a * e;
    for (int64_t c = 0; c < e; ++c) num[c] += fq * row[c];
  }
  for (int64_t c = 0; c < e; ++c) out[c] = static_cast<float>(num[c] / den);
  return den;
}

void forward_head(const LinearAttentionParams& p, int64_t bh) {
  const int64_t d = p.head_dim, e = p.v_dim, offset = p.k_len - p.q_len;
  const float* q = p.q + bh * p.q_len * d;
  const float* k = p.k + bh * p.k_len * d;
  const float* v = p.v + bh * p.k_len * e;
  float* out = p.out + bh * p.q_len * e;
  std::vector<double> s(d * e, 0.0), z(d, 0.0), num(e);
  int64_t added = 0;  // keys summed into S, z so far
  if (!p.causal)
    for (; added < p.k_len; ++added) accumulate(k + added * d, v + added * e, d, e, s.data(), z.data());
  for (int64_t i = 0; i < p.q_len; ++i) {
    if (p.causal)
      for (; added <= offset + i && added < p.k_len; ++added)
        accumulate(k + added * d, v + added * e, d, e, s.data(), z.data());
    read_out(q + i * d, s.data(), z.data(), d, e, p.eps, num.data(), out + i * e);
  }
}

// From dout_i: dnum_i = dout_i / den_i, dden_i = -(dout_i . out_i) / den_i, and
// dphi(q_i) = S_i dnum_i + z_i dden_i; dq_i = dphi(q_i) * phi'(q_i). Also leaves dnum (q_len x e)
// and dden (q_len) for the key pass.
void query_grads(const LinearAttentionParams& p, int64_t bh, std::vector<double>& dnum, std::vector<double>& dden) {
  const int64_t d = p.head_dim, e = p.v_dim, offset = p.k_len - p.q_len;
  const float* q = p.q + bh * p.q_len * d;
  const float* k = p.k + bh * p.k_len * d;
  const float* v = p.v + bh * p.k_len * e;
  const float* g = p.grad_out + bh * p.q_len * e;
  float* dq = p.dq + bh * p.q_len * d;
  std::vector<double> s(d * e, 0.0), z(d, 0.0), num(e);
  std::vector<float> out(e);
  int64_t added = 0;
  if (!p.causal)
    for (; added < p.k_len; ++added) accumulate(k + added * d, v + added * e, d, e, s.data(), z.data());
  for (int64_t i = 0; i < p.q_len; ++i) {
    if (p.causal)
      for (; added <= offset + i && added < p.k_len; ++added)
        accumulate(k + added * d, v + added * e, d, e, s.data(), z.data());
    const double den = read_out(q + i * d, s.data(), z.data(), d, e, p.eps, num.data(), out.data());
    double g_dot_out = 0.0;
    for (int64_t c = 0; c < e; ++c) {
      dnum[i * e + c] = g[i * e + c] / den;
      g_dot_out += g[i * e + c] * (num[c] / den);
    }
    dden[i] = -g_dot_out / den;
    for (int64_t a = 0; a < d; ++a) {
      double acc = z[a] * dden[i];
      const double* row = s.data() + a * e;
      for (int64_t c = 0; c < e; ++c) acc += row[c] * dnum[i * e + c];
      dq[i * d + a] = static_cast<float>(acc * feature_grad(q[i * d + a]));
    }
  }
}

// Key j feeds the outputs of queries i with j <= offset + i (all of them when non-causal):
// G = sum of phi(q_i) dnum_i' over those i, gz = sum of phi(q_i) dden_i;
// dphi(k_j) = G v_j + gz, dk_j = dphi(k_j) * phi'(k_j), dv_j = G' phi(k_j).
void key_grads(const LinearAttentionParams& p, int64_t bh, const std::vector<double>& dnum,
               const std::vector<double>& dden) {
  const int64_t d = p.head_dim, e = p.v_dim, offset = p.k_len - p.q_len;
  const float* q = p.q + bh * p.q_len * d;
  const float* k = p.k + bh * p.k_len * d;
  const float* v = p.v + bh * p.k_len * e;
  float* dk = p.dk + bh * p.k_len * d;
  float* dv = p.dv + bh * p.k_len * e;
  std::vector<double> gs(d * e, 0.0), gz(d, 0.0), dvj(e);
  int64_t next_query = p.q_len - 1;  // queries are added to G from the last one down
  const auto add_query = [&](int64_t i) {
    for (int64_t a = 0; a < d; ++a) {
      const double fq = feature(q[i * d + a]);
      gz[a] += fq * dden[i];
      double* row = gs.data() + a * e;
      for (int64_t c = 0; c < e; ++c) row[c] += fq * dnum[i * e + c];
    }
  };
  if (!p.causal)
    for (; next_query >= 0; --next_query) add_query(next_query);
  for (int64_t j = p.k_len - 1; j >= 0; --j) {
    if (p.causal)
      for (; next_query >= 0 && next_query + offset >= j; --next_query) add_query(next_query);
    for (int64_t c = 0; c < e; ++c) dvj[c] = 0.0;
    for (int64_t a = 0; a < d; ++a) {
      const double fk = feature(k[j * d + a]);
      const double* row = gs.data() + a * e;
      double acc = gz[a];
      for (int64_t c = 0; c < e; ++c) {
        acc += row[c] * v[j * e + c];
        dvj[c] += row[c] * fk;
      }
      dk[j * d + a] = static_cast<float>(acc * feature_grad(k[j * d + a]));
    }
    for (int64_t c = 0; c < e; ++c) dv[j * e + c] = static_cast<float>(dvj[c]);
  }
}

}  // namespace

void linear_attention_forward(const LinearAttentionParams& p) {
  parallel_for(p.batch_heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) forward_head(p, bh);
  });
}

void linear_attention_backward(const LinearAttentionParams& p) {
  parallel_for(p.batch_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> dnum(p.q_len * p.v_dim), dden(p.q_len);
    for (int64_t bh = begin; bh < end; ++bh) {
      query_grads(p, bh, dnum, dden);
      key_grads(p, bh, dnum, dden);
    }
  });
}

namespace {
const bool registered = (register_family("linear_attention", {Isa::scalar}), true);
}

}  // namespace grimoire
