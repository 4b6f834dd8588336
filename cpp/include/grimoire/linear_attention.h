// Linear attention (primer 5.4.5; Katharopoulos et al. 2020, "Transformers are RNNs"):
//
//   phi(x) = elu(x) + 1 > 0 (elementwise),   out_i = phi(q_i)' S_i / (phi(q_i)' z_i + eps)
//   non-causal:  S_i = S = sum_j phi(k_j) v_j'   (head_dim x v_dim),  z_i = z = sum_j phi(k_j)
//   causal:      S_i, z_i = the same sums over j <= k_len - q_len + i (bottom-right, as attention)
//
//   q, dq        (batch_heads, q_len, head_dim)      C-contiguous float32
//   k, dk        (batch_heads, k_len, head_dim)
//   v, dv        (batch_heads, k_len, v_dim)
//   out, dout    (batch_heads, q_len, v_dim)
//
// Time O(len * head_dim * v_dim) and extra memory O(head_dim * v_dim) per head: linear in the
// sequence length, where softmax attention is quadratic in time. The sums S and z accumulate in
// float64 (a prefix over 32k positive terms would lose float32 digits). The backward recomputes
// S, z (non-causal: once; causal: a forward scan for dq and a reverse scan of the suffix sums
// G_j = sum_{i >= j} phi(q_i) dnum_i', g_j = sum_{i >= j} phi(q_i) dden_i for dk, dv), so nothing
// but q, k, v is saved between passes; heads run in parallel, so results do not depend on the
// thread count.
#pragma once

#include <cstdint>

namespace grimoire {

struct LinearAttentionParams {
  int64_t batch_heads = 0, q_len = 0, k_len = 0, head_dim = 0, v_dim = 0;
  bool causal = false;
  float eps = 1e-6f;
  const float *q = nullptr, *k = nullptr, *v = nullptr;
  float* out = nullptr;             // forward
  const float* grad_out = nullptr;  // backward
  float *dq = nullptr, *dk = nullptr, *dv = nullptr;
};

void linear_attention_forward(const LinearAttentionParams& p);
void linear_attention_backward(const LinearAttentionParams& p);

}  // namespace grimoire
