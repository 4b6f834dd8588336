// CUDA optim family (primer 6.5.1): Adam/AdamW and SGD as ONE fused multi-tensor launch over a
// list of parameters, and clip_grad_norm; the twins of cpp/include/grimoire/optim.h.
//
// Multi-tensor apply (as torch's multi_tensor_apply / apex): the tensors' pointers and sizes
// travel in the kernel's parameters (a TensorList, under the 4 KiB parameter limit of sm_80),
// every tensor is cut into chunks of kChunk elements, and block b of a launch updates chunk
// block_chunk[b] of tensor block_tensor[b]. A list that does not fit one TensorList (more than
// kMaxTensors tensors or kMaxBlocks chunks) takes further launches of the same kernel.
//
// The arithmetic is the CPU SIMD kernel's (cpp/src/optim_simd.h), operation for operation with
// the same fused multiply-adds (fmaf) and the same float32 constants (optim_detail::adam_consts),
// so a GPU step is bit-identical to the CPU's AVX2/AVX-512 step.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "grimoire/optim.h"

namespace grimoire::cuda {

struct AdamTensor {
  float* param;
  const float* grad;
  float* m;
  float* v;
  float* max_v;  // amsgrad only
  int64_t n;
};

struct SgdTensor {
  float* param;
  const float* grad;
  float* momentum_buf;  // when momentum != 0
  int64_t n;
};

// hyper: the step's hyper-parameters (its pointers and n are unused).
cudaError_t adam_step(const std::vector<AdamTensor>& tensors, const AdamParams& hyper, cudaStream_t stream);
cudaError_t sgd_step(const std::vector<SgdTensor>& tensors, const SgdParams& hyper, cudaStream_t stream);

// Doubles of scratch grad_norm needs for its per-chunk partials (+ 2 for the result).
int64_t grad_norm_scratch(const std::vector<GradSpan>& grads);
// Stage 1: one partial per chunk (sum |g|^p in double, or max |g|); stage 2: one block folds the
// partials in chunk order and writes scratch[0] = the total norm as float32 gives it (as a
// double) and scratch[1] = the clip coefficient min(1, max_norm / (total + 1e-6)) in float32.
cudaError_t grad_norm(const std::vector<GradSpan>& grads, double norm_type, double max_norm, double* scratch,
                      cudaStream_t stream);
// g *= coef for every tensor (one multi-tensor launch).
cudaError_t scale_grads(const std::vector<GradSpan>& grads, float coef, cudaStream_t stream);

}  // namespace grimoire::cuda
