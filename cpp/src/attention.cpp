// Attention driver and scalar reference (primer 5.4.2). The reference walks one query row (or,
// for dK/dV, one key row) at a time with the online softmax in double precision: O(head_dim)
// extra memory per row, no tiling, the definition of correctness. The tiled FlashAttention-2
// kernels live in attention_tiled.h, instantiated into one table per ISA (attention_kernels.h) by
// attention_avx2.cpp and attention_avx512.cpp, and are chosen at run time by isa_for().
#include "grimoire/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention_kernels.h"
#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace grimoire {

namespace {

const std::vector<Isa>& attention_paths() {
  static const std::vector<Isa> paths = {Isa::scalar, Isa::avx2, Isa::avx512};
  return paths;
}

const bool registered = (register_family("attention", attention_paths()), true);

int threads_for(const AttentionParams& p) { return p.num_threads == 1 ? 1 : num_threads(); }

const float* row(const float* base, const int64_t* s, int64_t b, int64_t h, int64_t i) {
  return base + b * s[0] + h * s[1] + i * s[2];
}

// Scaled score of query (b, h, i) against key j with the mask and causal rule applied
// (-inf where the query may not attend).
double score(const AttentionParams& p, const float* qi, int64_t b, int64_t h, int64_t hk, int64_t i, int64_t j) {
  if (p.causal && j > i + (p.k_len - p.q_len)) return -std::numeric_limits<double>::infinity();
  const float* kj = row(p.k, p.k_stride, b, hk, j);
  double s = 0.0;
  for (int64_t c = 0; c < p.head_dim; ++c) s += double(qi[c]) * double(kj[c]);
  s *= p.scale;
  const int64_t mo = b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2] + j * p.mask_stride[3];
  if (p.mask_kind == AttentionMask::additive) s += static_cast<const float*>(p.mask)[mo];
  else if (p.mask_kind == AttentionMask::keep && static_cast<const uint8_t*>(p.mask)[mo] == 0)
    return -std::numeric_limits<double>::infinity();
  return s;
}

double dot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t c = 0; c < n; ++c) s += double(a[c]) * double(b[c]);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Forward reference: for each query row, m = running max, l = running sum of exp(s - m),
// acc = running sum of exp(s - m) v; out = acc / l, lse = m + log l.
// ---------------------------------------------------------------------------------------------
void attention_forward_reference(const AttentionParams& p) {
  const int64_t d = p.head_dim, group = p.kv_heads > 0 ? p.heads / p.kv_heads : 1;
  const int64_t rows = p.batch * p.heads * p.q_len;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  auto body = [&](int64_t begin, int64_t end) {
    std::vector<double> acc(d);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % p.q_len, h = (r / p.q_len) % p.heads, b = r / (p.q_len * p.heads);
      const int64_t hk = h / group;
      const float* qi = row(p.q, p.q_stride, b, h, i);
      double m = neg_inf, l = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < p.k_len; ++j) {
        const double s = score(p, qi, b, h, hk, i, j);
        if (s == neg_inf) continue;
        if (s > m) {  // rescale what was summed under the old maximum
          const double alpha = m == neg_inf ? 0.0 : std::exp(m - s);
          for (double& a : acc) a *= alpha;
          l *= alpha;
          m = s;
        }
        const double w = std::exp(s - m);
        l += w;
        const float* vj = row(p.v, p.v_stride, b, hk, j);
        for (int64_t c = 0; c < d; ++c) acc[c] += w * vj[c];
      }
      float* o = p.out + b * p.out_stride[0] + h * p.out_stride[1] + i * p.out_stride[2];
      if (l == 0.0) {  // attends to nothing
        for (int64_t c = 0; c < d; ++c) o[c] = 0.0f;
        p.lse[r] = -std::numeric_limits<float>::infinity();
      } else {
        for (int64_t c = 0; c < d; ++c) o[c] = static_cast<float>(acc[c] / l);
        p.lse[r] = static_cast<float>(m + std::log(l));
      }
    }
  };
  if (threads_for(p) == 1) body(0, rows);
  else parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, p.k_len * d)), body);
}

// ---------------------------------------------------------------------------------------------
// Backward reference, with P = exp(S - lse), D_i = sum_c dO[i,c] O[i,c]:
//   dV[j] = sum_i P[i,j] dO[i]        dS[i,j] = P[i,j] (dO[i] . V[j] - D_i)
//   dQ[i] = scale sum_j dS[i,j] K[j]  dK[j] = scale sum_i dS[i,j] Q[i]
// dQ one query row at a time; dK and dV one key row at a time, summed over the query heads that
// share the key head. Deterministic: every output element is one thread's ordered sum.
// ---------------------------------------------------------------------------------------------
void attention_backward_reference(const AttentionParams& p) {
  const int64_t d = p.head_dim, group = p.kv_heads > 0 ? p.heads / p.kv_heads : 1;
  const int64_t q_rows = p.batch * p.heads * p.q_len, k_rows = p.batch * p.kv_heads * p.k_len;
  const int threads = threads_for(p);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  std::vector<double> D(q_rows);
  for (int64_t r = 0; r < q_rows; ++r) {
    const int64_t i = r % p.q_len, h = (r / p.q_len) % p.heads, b = r / (p.q_len * p.heads);
    D[r] = dot(row(p.grad_out, p.grad_out_stride, b, h, i), row(p.out, p.out_stride, b, h, i), d);
  }
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, p.k_len * d));
  auto dq_rows = [&](int64_t begin, int64_t end) {
    std::vector<double> acc(d);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % p.q_len, h = (r / p.q_len) % p.heads, b = r / (p.q_len * p.heads);
      const int64_t hk = h / group;
      const float* qi = row(p.q, p.q_stride, b, h, i);
      const float* doi = row(p.grad_out, p.grad_out_stride, b, h, i);
      std::fill(acc.begin(), acc.end(), 0.0);
      if (p.lse[r] != -std::numeric_limits<float>::infinity()) {
        for (int64_t j = 0; j < p.k_len; ++j) {
          const double s = score(p, qi, b, h, hk, i, j);
          if (s == neg_inf) continue;
          const double pij = std::exp(s - double(p.lse[r]));
          const double ds = pij * (dot(doi, row(p.v, p.v_stride, b, hk, j), d) - D[r]);
          const float* kj = row(p.k, p.k_stride, b, hk, j);
          for (int64_t c = 0; c < d; ++c) acc[c] += ds * kj[c];
        }
      }
      for (int64_t c = 0; c < d; ++c) p.dq[r * d + c] = static_cast<float>(acc[c] * p.scale);
    }
  };
  auto dkv_rows = [&](int64_t begin, int64_t end) {
    std::vector<double> dk(d), dv(d);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t j = r % p.k_len, hk = (r / p.k_len) % p.kv_heads, b = r / (p.k_len * p.kv_heads);
      const float* vj = row(p.v, p.v_stride, b, hk, j);
      std::fill(dk.begin(), dk.end(), 0.0);
      std::fill(dv.begin(), dv.end(), 0.0);
      for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
        for (int64_t i = 0; i < p.q_len; ++i) {
          const int64_t qr = (b * p.heads + h) * p.q_len + i;
          if (p.lse[qr] == -std::numeric_limits<float>::infinity()) continue;
          const float* qi = row(p.q, p.q_stride, b, h, i);
          const double s = score(p, qi, b, h, hk, i, j);
          if (s == neg_inf) continue;
          const double pij = std::exp(s - double(p.lse[qr]));
          const float* doi = row(p.grad_out, p.grad_out_stride, b, h, i);
          const double ds = pij * (dot(doi, vj, d) - D[qr]);
          for (int64_t c = 0; c < d; ++c) {
            dv[c] += pij * doi[c];
            dk[c] += ds * qi[c];
          }
        }
      }
      for (int64_t c = 0; c < d; ++c) {
        p.dv[r * d + c] = static_cast<float>(dv[c]);
        p.dk[r * d + c] = static_cast<float>(dk[c] * p.scale);
      }
    }
  };
  if (threads == 1) {
    dq_rows(0, q_rows);
    dkv_rows(0, k_rows);
  } else {
    parallel_for(q_rows, grain, dq_rows);
    parallel_for(k_rows, grain, dkv_rows);
  }
}

namespace {

// The tiled kernels of the ISA this run uses, or nullptr for the scalar reference.
const attention_detail::AttentionKernels* tiled_kernels() {
  switch (isa_for(attention_paths())) {
    case Isa::avx512: return &attention_detail::kernels_avx512;
    case Isa::avx2: return &attention_detail::kernels_avx2;
    default: return nullptr;
  }
}

}  // namespace

void attention_forward(const AttentionParams& p) {
  const auto* k = tiled_kernels();
  return k ? k->forward(p) : attention_forward_reference(p);
}

void attention_backward(const AttentionParams& p) {
  const auto* k = tiled_kernels();
  return k ? k->backward(p) : attention_backward_reference(p);
}

}  // namespace grimoire
