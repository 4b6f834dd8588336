// CUDA GEMM family: C = alpha * A @ B + beta * C, row-major float32 on the device.
#pragma once

#include <cstdint>

namespace grimoire::cuda {

// Returns a cudaError_t as int (0 on success); all pointers are device pointers.
int gemm_f32(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
             int64_t ldb, float beta, float* c, int64_t ldc);

int device_count();
const char* error_string(int code);

}  // namespace grimoire::cuda
