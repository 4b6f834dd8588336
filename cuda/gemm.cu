// A tiled SGEMM for NVIDIA GPUs: each 16x16 thread block computes a 64x64 tile of C, each
// thread a 4x4 register block, with A and B tiles staged through shared memory.
#include <cuda_runtime.h>

#include "gemm.cuh"

namespace grimoire::cuda {

namespace {

constexpr int kTile = 64;   // C tile per block
constexpr int kDepth = 16;  // k-slice staged per step
constexpr int kThreadRows = 4, kThreadCols = 4;

__global__ void gemm_f32_tiled(int64_t m, int64_t n, int64_t k, float alpha, const float* __restrict__ a,
                               int64_t lda, const float* __restrict__ b, int64_t ldb, float beta,
                               float* __restrict__ c, int64_t ldc) {
  __shared__ float a_tile[kDepth][kTile];  // transposed, so a thread's 4 rows are contiguous
  __shared__ float b_tile[kDepth][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;  // 16 x 16
  const int tid = ty * 16 + tx;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTile;
  float acc[kThreadRows][kThreadCols] = {};

  for (int64_t p0 = 0; p0 < k; p0 += kDepth) {
    // 256 threads load 64x16 of A and 16x64 of B, 4 elements each; zero outside the matrix.
    for (int e = tid; e < kTile * kDepth; e += 256) {
      const int r = e / kDepth, q = e % kDepth;
      const int64_t gr = row0 + r, gq = p0 + q;
      a_tile[q][r] = (gr < m && gq < k) ? a[gr * lda + gq] : 0.0f;
      const int qb = e / kTile, cb = e % kTile;
      const int64_t gqb = p0 + qb, gc = col0 + cb;
      b_tile[qb][cb] = (gqb < k && gc < n) ? b[gqb * ldb + gc] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int q = 0; q < kDepth; ++q) {
      float av[kThreadRows], bv[kThreadCols];
#pragma unroll
      for (int i = 0; i < kThreadRows; ++i) av[i] = a_tile[q][ty * kThreadRows + i];
#pragma unroll
      for (int j = 0; j < kThreadCols; ++j) bv[j] = b_tile[q][tx * kThreadCols + j];
#pragma unroll
      for (int i = 0; i < kThreadRows; ++i)
#pragma unroll
        for (int j = 0; j < kThreadCols; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < kThreadRows; ++i)
    for (int j = 0; j < kThreadCols; ++j) {
      const int64_t r = row0 + ty * kThreadRows + i, col = col0 + tx * kThreadCols + j;
      if (r < m && col < n) {
        float* out = c + r * ldc + col;
        *out = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *out;
      }
    }
}

}  // namespace

int gemm_f32(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
             int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return 0;
  const dim3 block(16, 16);
  const dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile), static_cast<unsigned>((m + kTile - 1) / kTile));
  gemm_f32_tiled<<<grid, block>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return static_cast<int>(cudaGetLastError());
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;  // no driver or no device: zero devices
  return n;
}

const char* error_string(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

}  // namespace grimoire::cuda
