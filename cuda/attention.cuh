// CUDA attention family: out = softmax(scale * Q K^T + mask) V and its backward (primer 5.4.2,
// FlashAttention-2). The GPU twin of grimoire/attention.h, with the same shapes and rules:
//
//   q, out, grad_out, dq  (batch, heads,    q_len, head_dim)
//   k, v, dk, dv          (batch, kv_heads, k_len, head_dim)   heads % kv_heads == 0
//   lse                   (batch, heads,    q_len)             float32, C-contiguous
//
// Query head h reads key/value head h / (heads / kv_heads). Causal masking aligns bottom-right:
// query i attends to keys 0 .. k_len - q_len + i. A row that attends to nothing gets out = 0,
// lse = -inf and zero gradients. Every pointer is a device pointer; kernels run on `stream`.
//
// Element types: float (SIMT path), and bf16 / fp16 (tensor cores, float32 accumulators; bf16
// arrives as uint16 bits). out has the element type of q; lse, dq, dk, dv are float32.
// The backward is deterministic: no atomics, each output element is one thread's ordered sum.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "grimoire/attention.h"

namespace grimoire::cuda {

enum class AttentionDtype : int { f32 = 0, bf16 = 1, f16 = 2 };

// One call's operands (FlashAttention's Flash_fwd_params / Flash_bwd_params, in one struct).
// Strides are in elements over (batch, heads, len); the head dimension is contiguous; a stride
// of 0 on a size-1 dimension is allowed.
struct AttentionCudaParams {
  AttentionDtype dtype = AttentionDtype::f32;
  int64_t batch = 0, heads = 0, kv_heads = 0, q_len = 0, k_len = 0, head_dim = 0;
  const void* q = nullptr;
  int64_t q_stride[3] = {0, 0, 0};
  const void* k = nullptr;
  int64_t k_stride[3] = {0, 0, 0};
  const void* v = nullptr;
  int64_t v_stride[3] = {0, 0, 0};
  float scale = 1.0f;
  bool causal = false;
  AttentionMask mask_kind = AttentionMask::none;
  const void* mask = nullptr;  // float (additive) or uint8 (keep, nonzero = attend)
  int64_t mask_stride[4] = {0, 0, 0, 0};

  // Forward writes out (element type of q) and lse; the backward reads them.
  void* out = nullptr;
  int64_t out_stride[3] = {0, 0, 0};
  float* lse = nullptr;

  // Backward: grad_out is read (element type of q); dq, dk, dv are written C-contiguous float32.
  const void* grad_out = nullptr;
  int64_t grad_out_stride[3] = {0, 0, 0};
  float* dq = nullptr;
  float* dk = nullptr;
  float* dv = nullptr;
};

// Scratch the caller allocates (from CuPy's pool) before a launch; sizes in bytes.
struct AttentionWorkspace {
  void* data = nullptr;
  int64_t bytes = 0;
};

// Bytes of scratch the forward needs (the split-K partials of the decode path; 0 otherwise) and
// the backward needs (D = rowsum(dO * O)), for this device.
int64_t attention_forward_workspace(const AttentionCudaParams& p, int device);
int64_t attention_backward_workspace(const AttentionCudaParams& p);

// Which kernels a call takes, for tests and the benchmark: "mma" (tensor cores), "mma_splitk"
// (tensor cores, keys split across blocks, then a combine kernel) or "simt".
const char* attention_forward_path(const AttentionCudaParams& p, int device);
const char* attention_backward_path(const AttentionCudaParams& p);

cudaError_t attention_forward(const AttentionCudaParams& p, AttentionWorkspace ws, int device, cudaStream_t stream);
cudaError_t attention_backward(const AttentionCudaParams& p, AttentionWorkspace ws, cudaStream_t stream);

// The kernel names the family builds, for `grimoire info` and the static checks.
inline constexpr const char* kAttentionKernels[] = {
    "attention_fwd_mma", "attention_splitk_combine", "attention_fwd_simt", "attention_bwd_dot_do_o",
    "attention_bwd_dq_mma", "attention_bwd_dkdv_mma", "attention_bwd_dq_simt", "attention_bwd_dkdv_simt"};

}  // namespace grimoire::cuda
