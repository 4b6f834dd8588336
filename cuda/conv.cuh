// conv2d forward and backward on NVIDIA GPUs as implicit GEMMs (primer 5.2.1): the same
// cross-correlation, shapes and conventions as the CPU core's grimoire/conv.h (NCHW, C-contiguous,
// stride / padding / dilation / groups). No im2col buffer: the GEMM's operand loaders compute the
// input coordinates of each element they stage.
//
//   forward  y (N*OH*OW, C_out/g) = im2col(x) (N*OH*OW, C_in/g*KH*KW) @ W_g^T      per group g
//   dgrad    dx (N*H*W, C_in/g) = col(dy) (N*H*W, C_out/g*KH*KW) @ W_g'             per group g
//            (dy at oh = (h + ph - kh*dh) / sh where that divides and lies in range, else 0)
//   wgrad    dw_g (C_out/g, C_in/g*KH*KW) = dy_g (C_out/g, N*OH*OW) @ im2col(x)     per group g
//   db       sum of dy over (n, oh, ow), one block per channel (a fixed tree: deterministic)
// Every path is deterministic (no atomics; wgrad runs its whole k = N*OH*OW in one block tile).
//
// float32 runs on the SIMT mainloop (fp32 FMAs: the CPU core's tolerance); bf16 (uint16 bits)
// x / w / dy run on the tensor-core mainloop (mma.sync bf16, fp32 accumulation). Outputs are
// float32 for both; the bias is float32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "grimoire/conv.h"

namespace grimoire::cuda {

enum class ConvType : int { f32 = 0, bf16 = 1 };

// x, w, dy point to float32 or bf16 bits per `type`; b, y, dx, dw, db are float32. Any of dx, dw,
// db may be null (not computed).
cudaError_t conv2d_forward(const Conv2dShape& s, ConvType type, const void* x, const void* w, const float* b,
                           float* y, cudaStream_t stream);
cudaError_t conv2d_backward(const Conv2dShape& s, ConvType type, const void* dy, const void* x, const void* w,
                            float* dx, float* dw, float* db, cudaStream_t stream);

}  // namespace grimoire::cuda
