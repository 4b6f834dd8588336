// Attention: out = softmax(scale * Q K^T + mask) V   (primer 5.4.2, 5.4.4; FlashAttention-2)
//
//   q, out, grad_out, dq  (batch, heads,    q_len, head_dim)
//   k, v, dk, dv          (batch, kv_heads, k_len, head_dim)   heads % kv_heads == 0
//   lse                   (batch, heads,    q_len)             log-sum-exp of the scaled scores
//
// Query head h reads key/value head h / (heads / kv_heads): kv_heads == heads is multi-head
// attention, 1 is multi-query, anything between is grouped-query attention.
//
// Causal masking aligns bottom-right (FlashAttention >= 2.1): query i attends to keys
// 0 .. k_len - q_len + i, which is what a KV-cache decode step needs. The optional mask is
// additive (float, added to the scaled scores) or a keep-mask (byte, nonzero = attend), with
// element strides over (batch, heads, q_len, k_len); a stride of 0 broadcasts.
//
// A row that attends to nothing (every key masked) gives out = 0 and lse = -inf, never NaN;
// its gradients are 0.
//
// The fast paths are tiled with the online softmax: they never form the q_len x k_len score
// matrix, forward or backward (extra memory per thread is a few tiles, plus O((q_len + k_len) x
// head_dim) accumulators in the fused backward); tiles entirely
// above the causal diagonal are skipped. The backward is deterministic (no atomics): dK/dV are
// reduced per key block and dQ per query block, from D = rowsum(dO * O), so the result does not
// depend on the thread count.
#pragma once

#include <cstdint>

namespace grimoire {

inline constexpr int64_t kAttentionMaxHeadDim = 256;

enum class AttentionMask : int { none = 0, additive = 1, keep = 2 };

struct AttentionParams {
  int64_t batch = 0, heads = 0, kv_heads = 0, q_len = 0, k_len = 0, head_dim = 0;
  // Element (b, h, i, c) of q at q[b * q_stride[0] + h * q_stride[1] + i * q_stride[2] + c]:
  // the head dimension is contiguous; the other strides are free (a (B, T, H, D) tensor viewed
  // as (B, H, T, D) reaches the kernel without a copy). The same for k, v, out and grad_out.
  const float* q = nullptr;
  int64_t q_stride[3] = {0, 0, 0};
  const float* k = nullptr;
  int64_t k_stride[3] = {0, 0, 0};
  const float* v = nullptr;
  int64_t v_stride[3] = {0, 0, 0};
  float scale = 1.0f;
  bool causal = false;
  AttentionMask mask_kind = AttentionMask::none;
  const void* mask = nullptr;          // float (additive) or uint8 (keep), by mask_kind
  int64_t mask_stride[4] = {0, 0, 0, 0};

  // Forward writes out and lse; backward reads them. lse is C-contiguous (batch, heads, q_len).
  float* out = nullptr;
  int64_t out_stride[3] = {0, 0, 0};
  float* lse = nullptr;

  // Backward only: grad_out is read; dq (like q), dk and dv (like k) are written C-contiguous.
  const float* grad_out = nullptr;
  int64_t grad_out_stride[3] = {0, 0, 0};
  float* dq = nullptr;
  float* dk = nullptr;
  float* dv = nullptr;

  // Threads for this call: 0 means grimoire::num_threads(); 1 stays on the caller's thread.
  int num_threads = 0;
};

// The fastest allowed path (isa_for): scalar reference, or the tiled AVX2 / AVX-512 kernels.
void attention_forward(const AttentionParams& p);
void attention_backward(const AttentionParams& p);

// The scalar reference: one query (or key) row at a time with the online softmax, O(head_dim)
// extra memory per row; the definition of correctness for the tiled paths.
void attention_forward_reference(const AttentionParams& p);
void attention_backward_reference(const AttentionParams& p);

}  // namespace grimoire
