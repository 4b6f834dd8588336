// A tiled SGEMM for NVIDIA GPUs on the CUDA cores: each 16x16 thread block computes a 64x64 tile
// of C, each thread a 4x4 register block, with A and B tiles staged through shared memory.
// Any element strides (transposes are stride swaps), a batch along blockIdx.z.
#include "gemm.cuh"

namespace grimoire::cuda {

namespace {

constexpr int kTile = 64;   // C tile per block
constexpr int kDepth = 16;  // k-slice staged per step
constexpr int kThreadRows = 4, kThreadCols = 4;

__global__ void gemm_f32_simt(GemmParams<float> p, GemmBatch<float> bt) {
  __shared__ float a_tile[kDepth][kTile];  // transposed, so a thread's 4 rows are contiguous
  __shared__ float b_tile[kDepth][kTile];
  const float* a = p.a + blockIdx.z * bt.a_batch_stride;
  const float* b = p.b + blockIdx.z * bt.b_batch_stride;
  float* c = p.c + blockIdx.z * bt.c_batch_stride;
  const int tx = threadIdx.x, ty = threadIdx.y;  // 16 x 16
  const int tid = ty * 16 + tx;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTile;
  float acc[kThreadRows][kThreadCols] = {};

  for (int64_t p0 = 0; p0 < p.k; p0 += kDepth) {
    // 256 threads load 64x16 of A and 16x64 of B, 4 elements each; zero outside the matrix.
    for (int e = tid; e < kTile * kDepth; e += 256) {
      const int r = e / kDepth, q = e % kDepth;
      const int64_t gr = row0 + r, gq = p0 + q;
      a_tile[q][r] = (gr < p.m && gq < p.k) ? a[gr * p.a_row_stride + gq * p.a_col_stride] : 0.0f;
      const int qb = e / kTile, cb = e % kTile;
      const int64_t gqb = p0 + qb, gc = col0 + cb;
      b_tile[qb][cb] = (gqb < p.k && gc < p.n) ? b[gqb * p.b_row_stride + gc * p.b_col_stride] : 0.0f;
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
      if (r < p.m && col < p.n) {
        float* out = c + r * p.c_row_stride + col * p.c_col_stride;
        *out = p.beta == 0.0f ? p.alpha * acc[i][j] : p.alpha * acc[i][j] + p.beta * *out;
      }
    }
}

}  // namespace

cudaError_t gemm(const GemmParams<float>& p, const GemmBatch<float>& batch, cudaStream_t stream) {
  if (p.m == 0 || p.n == 0 || batch.batch == 0) return cudaSuccess;
  const dim3 block(16, 16);
  const dim3 grid(static_cast<unsigned>((p.n + kTile - 1) / kTile), static_cast<unsigned>((p.m + kTile - 1) / kTile),
                  static_cast<unsigned>(batch.batch));
  gemm_f32_simt<<<grid, block, 0, stream>>>(p, batch);
  return cudaGetLastError();
}

}  // namespace grimoire::cuda
