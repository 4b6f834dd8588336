// LayerNorm / RMSNorm on the GPU (see norm.cuh). Memory-bound: the forward reads x once from
// DRAM and writes y once; its later passes over the row read a shared-memory copy (rows of up to
// kCacheFloats) or L1/L2. Loads are float4 when the row length is a multiple of 4 and every
// pointer is 16-byte aligned (kVec = 4), scalar otherwise (kVec = 1).
//
// Element ownership (the invariant that makes the passes race-free without barriers): element
// i of a row belongs to thread (i / kVec) % blockDim.x in every pass and every row, so the
// thread that caches an element is the one that re-reads it, and the thread that accumulates
// column i of grad_w / grad_b is always the same.
#include "norm.cuh"

#include "reduce.cuh"
#include "vec.cuh"

namespace grimoire::cuda {

namespace {

constexpr int64_t kCacheFloats = 11264;  // forward row cache: 44 KiB (+ 128 B static), no opt-in
constexpr int kBackwardSmemBytes = 96 * 1024;          // backward column accumulators
static_assert(kCacheFloats * 4 + 32 * 4 <= 48 * 1024, "the forward cache stays within the default 48 KiB");
static_assert(kBackwardSmemBytes <= 163 * 1024 && kBackwardSmemBytes <= 227 * 1024,
              "backward shared memory within the sm_80 and sm_90 limits");

// Weight/bias element (1 when there is no affine parameter).
template <int V>
__device__ __forceinline__ Vec<V> load_or(const float* p, int64_t i, float fill) {
  if (p) return load<V>(p + i);
  Vec<V> r;
#pragma unroll
  for (int k = 0; k < V; ++k) r.v[k] = fill;
  return r;
}

// One block per row (grid-stride over rows). Dynamic shared memory: `dim` floats when the row
// is cached, 0 otherwise (cache == false: the later passes re-read x through L1/L2).
template <bool kRms, int V>
__global__ void __launch_bounds__(1024) norm_forward_kernel(LayerNormParams p, bool cache) {
  extern __shared__ float4 smem_f4[];
  __shared__ float scratch[32];
  float* row_cache = reinterpret_cast<float*>(smem_f4);
  const int64_t d = p.dim, packs = d / V;
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const float* x = p.x + r * d;
    const float* src = cache ? row_cache : x;
    // Pass 1 (the one DRAM read): sum x (layer) or sum x^2 (rms); fill the cache.
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const Vec<V> a = load<V>(x + i * V);
      if (cache) store<V>(row_cache + i * V, a);
#pragma unroll
      for (int k = 0; k < V; ++k) s += kRms ? a.v[k] * a.v[k] : a.v[k];
    }
    s = block_sum(s, scratch);
    float mean = 0.0f, q = s;
    if constexpr (!kRms) {
      // Pass 2: the centred squares (the exact two-pass variance, no E[x^2] - E[x]^2).
      mean = s / static_cast<float>(d);
      q = 0.0f;
      for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
        const Vec<V> a = cache ? load_shared<V>(src + i * V) : load<V>(src + i * V);
#pragma unroll
        for (int k = 0; k < V; ++k) q += (a.v[k] - mean) * (a.v[k] - mean);
      }
      q = block_sum(q, scratch);
    }
    const float rstd = 1.0f / sqrtf(q / static_cast<float>(d) + p.eps);
    if (threadIdx.x == 0) {
      p.rstd[r] = rstd;
      if constexpr (!kRms) p.mean[r] = mean;
    }
    // Pass 3: y = (x - mean) * rstd * w + b.
    float* y = p.y + r * d;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const Vec<V> a = cache ? load_shared<V>(src + i * V) : load<V>(src + i * V);
      const Vec<V> w = load_or<V>(p.weight, i * V, 1.0f);
      const Vec<V> b = load_or<V>(kRms ? nullptr : p.bias, i * V, 0.0f);
      Vec<V> o;
#pragma unroll
      for (int k = 0; k < V; ++k) o.v[k] = (a.v[k] - mean) * rstd * w.v[k] + b.v[k];
      store<V>(y + i * V, o);
    }
  }
}

// Rows [blockIdx.x * rows_per_block, ...) of the backward. grad_x per row; the block's column
// partials of grad_w (and grad_b) accumulate in `acc` (shared memory when they fit, else the
// block's own row of `partial` in global memory: the same code through a generic pointer) and
// end in partial[blockIdx.x][0 : width), width = dim (rms) or 2 * dim (grad_w then grad_b).
template <bool kRms, int V>
__global__ void __launch_bounds__(1024)
    norm_backward_kernel(LayerNormBackwardParams p, float* partial, int64_t rows_per_block, bool shared_acc) {
  extern __shared__ float4 smem_f4[];
  __shared__ float scratch[32];
  const int64_t d = p.dim, packs = d / V, width = kRms ? d : 2 * d;
  float* out = partial + static_cast<int64_t>(blockIdx.x) * width;
  float* acc = shared_acc ? reinterpret_cast<float*>(smem_f4) : out;
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x)
#pragma unroll
    for (int k = 0; k < V; ++k) {
      acc[i * V + k] = 0.0f;
      if constexpr (!kRms) acc[d + i * V + k] = 0.0f;
    }
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * rows_per_block;
  const int64_t r1 = r0 + rows_per_block < p.rows ? r0 + rows_per_block : p.rows;
  for (int64_t r = r0; r < r1; ++r) {
    const float* gy = p.grad_y + r * d;
    const float* x = p.x + r * d;
    const float rstd = p.rstd[r], mean = kRms ? 0.0f : p.mean[r];
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const Vec<V> dy = load<V>(gy + i * V), xv = load<V>(x + i * V), w = load_or<V>(p.weight, i * V, 1.0f);
#pragma unroll
      for (int k = 0; k < V; ++k) {
        const float xhat = (xv.v[k] - mean) * rstd, g = dy.v[k] * w.v[k];
        sg += g;
        sgx += g * xhat;
        acc[i * V + k] += dy.v[k] * xhat;
        if constexpr (!kRms) acc[d + i * V + k] += dy.v[k];
      }
    }
    const float mg = kRms ? 0.0f : block_sum(sg, scratch) / static_cast<float>(d);
    const float mgx = block_sum(sgx, scratch) / static_cast<float>(d);
    float* gx = p.grad_x + r * d;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const Vec<V> dy = load<V>(gy + i * V), xv = load<V>(x + i * V), w = load_or<V>(p.weight, i * V, 1.0f);
      Vec<V> o;
#pragma unroll
      for (int k = 0; k < V; ++k) {
        const float xhat = (xv.v[k] - mean) * rstd;
        o.v[k] = rstd * (dy.v[k] * w.v[k] - mg - xhat * mgx);
      }
      store<V>(gx + i * V, o);
    }
  }
  if (shared_acc)  // thread-owned columns: no barrier needed between the last update and this copy
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x)
#pragma unroll
      for (int k = 0; k < V; ++k) {
        out[i * V + k] = acc[i * V + k];
        if constexpr (!kRms) out[d + i * V + k] = acc[d + i * V + k];
      }
}

// grad_w[j] (j < dim) and grad_b[j - dim] = sum over blocks b of partial[b][j], in block order
// (double accumulation), one thread per column: coalesced across the columns.
__global__ void __launch_bounds__(256)
    norm_column_sum_kernel(const float* partial, int64_t blocks, int64_t dim, int64_t width, float* grad_w,
                           float* grad_b) {
  for (int64_t j = blockIdx.x * int64_t{256} + threadIdx.x; j < width; j += int64_t{gridDim.x} * 256) {
    double s = 0.0;
    for (int64_t b = 0; b < blocks; ++b) s += partial[b * width + j];
    if (j < dim) grad_w[j] = static_cast<float>(s);
    else grad_b[j - dim] = static_cast<float>(s);
  }
}

int sm_count() {
  int dev = 0, sms = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
    return 108;  // the error resurfaces at launch; any positive count keeps the sizes sane
  return sms;
}

// Blocks of the backward: a few per SM (enough to fill the machine), never more than rows.
int64_t backward_blocks(int64_t rows) {
  const int64_t want = int64_t{4} * sm_count();
  return rows < want ? (rows > 0 ? rows : 1) : want;
}

template <bool kRms>
cudaError_t forward(const LayerNormParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  const bool vec = p.dim % 4 == 0 && aligned16(p.x) && aligned16(p.y) && aligned16(p.weight) &&
                   (kRms || aligned16(p.bias));
  const bool cache = p.dim <= kCacheFloats;
  const size_t smem = cache ? static_cast<size_t>(p.dim) * sizeof(float) : 0;
  const int threads = row_block_threads(p.dim);
  const unsigned grid = grid_for(p.rows);
  if (vec) norm_forward_kernel<kRms, 4><<<grid, threads, smem, stream>>>(p, cache);
  else norm_forward_kernel<kRms, 1><<<grid, threads, smem, stream>>>(p, cache);
  return cudaGetLastError();
}

template <bool kRms, int V>
void launch_backward(const LayerNormBackwardParams& p, float* partial, int64_t blocks, int64_t rows_per_block,
                     size_t smem, int threads, cudaStream_t stream) {
  if (smem > 48 * 1024)  // opt in (per device, so on every call; a failure shows as the launch error)
    cudaFuncSetAttribute(norm_backward_kernel<kRms, V>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         kBackwardSmemBytes);
  norm_backward_kernel<kRms, V><<<static_cast<unsigned>(blocks), threads, smem, stream>>>(p, partial, rows_per_block,
                                                                                          smem > 0);
}

template <bool kRms>
cudaError_t backward(const LayerNormBackwardParams& p, float* partial, cudaStream_t stream) {
  const int64_t d = p.dim, width = kRms ? d : 2 * d;
  if (p.rows == 0) {
    cudaError_t e = cudaMemsetAsync(p.grad_weight, 0, d * sizeof(float), stream);
    if (e == cudaSuccess && !kRms) e = cudaMemsetAsync(p.grad_bias, 0, d * sizeof(float), stream);
    return e;
  }
  const int64_t blocks = backward_blocks(p.rows), rows_per_block = (p.rows + blocks - 1) / blocks;
  const int64_t used = (p.rows + rows_per_block - 1) / rows_per_block;  // every block has >= 1 row
  const bool vec = d % 4 == 0 && aligned16(p.x) && aligned16(p.grad_y) && aligned16(p.grad_x) &&
                   aligned16(p.weight);
  const size_t bytes = static_cast<size_t>(width) * sizeof(float);
  const size_t smem = bytes <= static_cast<size_t>(kBackwardSmemBytes) ? bytes : 0;
  const int threads = row_block_threads(d);
  if (vec) launch_backward<kRms, 4>(p, partial, used, rows_per_block, smem, threads, stream);
  else launch_backward<kRms, 1>(p, partial, used, rows_per_block, smem, threads, stream);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  const unsigned grid = static_cast<unsigned>((width + 255) / 256 < 65535 ? (width + 255) / 256 : 65535);
  norm_column_sum_kernel<<<grid, 256, 0, stream>>>(partial, used, d, width, p.grad_weight, p.grad_bias);
  return cudaGetLastError();
}

}  // namespace

int64_t norm_backward_scratch(int64_t rows, int64_t dim, bool rms) {
  return backward_blocks(rows) * (rms ? dim : 2 * dim);
}

cudaError_t layer_norm_forward(const LayerNormParams& p, cudaStream_t s) { return forward<false>(p, s); }
cudaError_t rms_norm_forward(const LayerNormParams& p, cudaStream_t s) { return forward<true>(p, s); }
cudaError_t layer_norm_backward(const LayerNormBackwardParams& p, float* scratch, cudaStream_t s) {
  return backward<false>(p, scratch, s);
}
cudaError_t rms_norm_backward(const LayerNormBackwardParams& p, float* scratch, cudaStream_t s) {
  return backward<true>(p, scratch, s);
}

}  // namespace grimoire::cuda
