// CUDA GEMM family: C = alpha * op(A) @ op(B) + beta * C   (primer 2.2.1)
//
// The same contract as the CPU core's grimoire/gemm.h (whose GemmParams/GemmBatch describe the
// operands by element strides, so transposes and NumPy/CuPy views need no copy); all pointers
// are device pointers and the kernel runs on `stream`. beta == 0 never reads C (BLAS).
#pragma once

#include <cuda_runtime.h>

#include "grimoire/gemm.h"

namespace grimoire::cuda {

// float32 on the CUDA cores (SIMT). Returns the launch's error (cudaSuccess on success).
cudaError_t gemm(const GemmParams<float>& p, const GemmBatch<float>& batch, cudaStream_t stream);

}  // namespace grimoire::cuda
