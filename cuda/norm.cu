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

// ---- BatchNorm ---------------------------------------------------------------------------------
// Channel c's elements are k in [0, n * spatial) at x[(k / spatial * channels + c) * spatial +
// k % spatial]. Block b handles split b % splits of channel b / splits (a contiguous range of k).
namespace grimoire::cuda {

namespace {

constexpr int kBatchThreads = 256;

int64_t batch_splits(int64_t n, int64_t channels, int64_t spatial) {
  const int64_t len = n * spatial, by_size = (len + 16383) / 16384;
  const int64_t by_grid = 2048 / (channels > 0 ? channels : 1);
  const int64_t s = by_size < by_grid ? by_size : by_grid;
  return s < 1 ? 1 : s;
}

// kMode 0: sum x; 1: sum (x - mean_c)^2; 2: sum dy and sum dy * (x - mean_c) (two partials).
template <int kMode>
__global__ void __launch_bounds__(kBatchThreads)
    batch_partial_kernel(const float* x, const float* dy, int64_t channels, int64_t spatial, int64_t len,
                         int64_t splits, const double* mean_d, const float* mean_f, double* partial) {
  __shared__ double scratch[32];
  const int64_t c = blockIdx.x / splits, s = blockIdx.x % splits;
  const int64_t k0 = len * s / splits, k1 = len * (s + 1) / splits;
  const double m = kMode == 1 ? mean_d[c] : kMode == 2 ? static_cast<double>(mean_f[c]) : 0.0;
  double a = 0.0, b = 0.0;
  for (int64_t k = k0 + threadIdx.x; k < k1; k += kBatchThreads) {
    const int64_t at = (k / spatial * channels + c) * spatial + k % spatial;
    const double v = x[at];
    if constexpr (kMode == 0) a += v;
    else if constexpr (kMode == 1) a += (v - m) * (v - m);
    else {
      const double g = dy[at];
      a += g;
      b += g * (v - m);
    }
  }
  a = block_sum(a, scratch);
  if constexpr (kMode == 2) b = block_sum(b, scratch);
  if (threadIdx.x == 0) {
    partial[kMode == 2 ? 2 * blockIdx.x : blockIdx.x] = a;
    if constexpr (kMode == 2) partial[2 * blockIdx.x + 1] = b;
  }
}

__device__ __forceinline__ double fold_splits(const double* partial, int64_t c, int64_t splits, int stride, int at) {
  double s = 0.0;
  for (int64_t j = 0; j < splits; ++j) s += partial[(c * splits + j) * stride + at];
  return s;
}

// One thread per channel. Stage 0: mean (double, kept for stage 1). Stage 1: the CPU driver's
// rstd, running statistics and save_mean / save_rstd, and the affine scale/shift per channel.
// Inference (training == false) uses the running statistics (stage 1 only).
__global__ void __launch_bounds__(kBatchThreads)
    batch_stats_kernel(BatchNormParams p, int stage, int64_t splits, const double* partial, double* mean_d,
                       float* scale, float* shift) {
  const int64_t c = blockIdx.x * int64_t{kBatchThreads} + threadIdx.x;
  if (c >= p.channels) return;
  const double count = static_cast<double>(p.n) * static_cast<double>(p.spatial);
  if (stage == 0) {
    mean_d[c] = fold_splits(partial, c, splits, 1, 0) / count;
    return;
  }
  double mean;
  float rstd;
  if (p.training) {
    mean = mean_d[c];
    const double var = fold_splits(partial, c, splits, 1, 0) / count;
    const double m = p.momentum;
    rstd = static_cast<float>(1.0 / sqrt(var + static_cast<double>(p.eps)));
    if (p.running_mean) p.running_mean[c] = static_cast<float>((1.0 - m) * p.running_mean[c] + m * mean);
    if (p.running_var) {
      const double unbiased = count > 1 ? var * count / (count - 1) : NAN;
      p.running_var[c] = static_cast<float>((1.0 - m) * p.running_var[c] + m * unbiased);
    }
  } else {
    mean = p.running_mean[c];
    rstd = static_cast<float>(1.0 / sqrt(static_cast<double>(p.running_var[c]) + p.eps));
  }
  p.save_mean[c] = static_cast<float>(mean);
  p.save_rstd[c] = rstd;
  scale[c] = static_cast<float>(static_cast<double>(rstd) * (p.weight ? p.weight[c] : 1.0f));
  shift[c] = p.bias ? p.bias[c] : 0.0f;
}

// y = (x - save_mean_c) * scale_c + shift_c (forward); grad_x = ka_c dy + kb_c (x - mean_c) + kc_c.
__global__ void __launch_bounds__(kBatchThreads)
    batch_affine_kernel(const float* x, const float* dy, float* out, int64_t channels, int64_t spatial, int64_t total,
                        const float* mean, const float* ka, const float* kb, const float* kc) {
  for (int64_t i = blockIdx.x * int64_t{kBatchThreads} + threadIdx.x; i < total; i += int64_t{gridDim.x} * kBatchThreads) {
    const int64_t c = i / spatial % channels;
    if (dy == nullptr) out[i] = (x[i] - mean[c]) * ka[c] + kb[c];
    else out[i] = ka[c] * dy[i] + kb[c] * (x[i] - mean[c]) + kc[c];
  }
}

// Backward per channel, the CPU driver's formulas: grad_weight = sum(dy xhat), grad_bias = sum(dy),
// ka = w rstd, and (training) kb = -ka mean(dy xhat) rstd, kc = -ka mean(dy).
__global__ void __launch_bounds__(kBatchThreads)
    batch_backward_coef_kernel(BatchNormBackwardParams p, int64_t splits, const double* partial, float* ka, float* kb,
                               float* kc) {
  const int64_t c = blockIdx.x * int64_t{kBatchThreads} + threadIdx.x;
  if (c >= p.channels) return;
  const double count = static_cast<double>(p.n) * static_cast<double>(p.spatial);
  const double sdy = fold_splits(partial, c, splits, 2, 0), sdyx = fold_splits(partial, c, splits, 2, 1);
  const double rstd = p.save_rstd[c], w = p.weight ? p.weight[c] : 1.0, kk = w * rstd;
  if (p.grad_weight) p.grad_weight[c] = static_cast<float>(sdyx * rstd);
  if (p.grad_bias) p.grad_bias[c] = static_cast<float>(sdy);
  ka[c] = static_cast<float>(kk);
  kb[c] = p.training ? static_cast<float>(-kk * (sdyx * rstd / count) * rstd) : 0.0f;
  kc[c] = p.training ? static_cast<float>(-kk * (sdy / count)) : 0.0f;
}

unsigned channel_grid(int64_t channels) {
  return static_cast<unsigned>((channels + kBatchThreads - 1) / kBatchThreads);
}

unsigned batch_elementwise_grid(int64_t total) {
  const int64_t b = (total + kBatchThreads - 1) / kBatchThreads, cap = int64_t{65535} * 8;
  return static_cast<unsigned>(b < 1 ? 1 : b < cap ? b : cap);
}

}  // namespace

// [partials: 2 * channels * splits][mean_d: channels][floats: 3 * channels, as doubles' room]
int64_t batch_norm_scratch(int64_t n, int64_t channels, int64_t spatial) {
  return 2 * channels * batch_splits(n, channels, spatial) + channels + 2 * channels;
}

cudaError_t batch_norm_forward(const BatchNormParams& p, double* scratch, cudaStream_t stream) {
  const int64_t C = p.channels, len = p.n * p.spatial;
  if (C <= 0) return cudaSuccess;
  const int64_t splits = batch_splits(p.n, C, p.spatial);
  double* partial = scratch;
  double* mean_d = scratch + 2 * C * splits;
  float* scale = reinterpret_cast<float*>(mean_d + C);  // 2 * C floats within the 2 * C doubles left
  float* shift = scale + C;
  const unsigned blocks = static_cast<unsigned>(C * splits);
  if (p.training) {
    batch_partial_kernel<0><<<blocks, kBatchThreads, 0, stream>>>(p.x, nullptr, C, p.spatial, len, splits, nullptr,
                                                                  nullptr, partial);
    batch_stats_kernel<<<channel_grid(C), kBatchThreads, 0, stream>>>(p, 0, splits, partial, mean_d, scale, shift);
    batch_partial_kernel<1><<<blocks, kBatchThreads, 0, stream>>>(p.x, nullptr, C, p.spatial, len, splits, mean_d,
                                                                  nullptr, partial);
  }
  batch_stats_kernel<<<channel_grid(C), kBatchThreads, 0, stream>>>(p, 1, splits, partial, mean_d, scale, shift);
  const int64_t total = C * len;
  if (total > 0)
    batch_affine_kernel<<<batch_elementwise_grid(total), kBatchThreads, 0, stream>>>(
        p.x, nullptr, p.y, C, p.spatial, total, p.save_mean, scale, shift, nullptr);
  return cudaGetLastError();
}

cudaError_t batch_norm_backward(const BatchNormBackwardParams& p, double* scratch, cudaStream_t stream) {
  const int64_t C = p.channels, len = p.n * p.spatial;
  if (C <= 0) return cudaSuccess;
  const int64_t splits = batch_splits(p.n, C, p.spatial);
  double* partial = scratch;
  float* ka = reinterpret_cast<float*>(scratch + 2 * C * splits);  // 3 * C floats within 3 * C doubles
  float* kb = ka + C;
  float* kc = kb + C;
  if (len > 0) {
    batch_partial_kernel<2><<<static_cast<unsigned>(C * splits), kBatchThreads, 0, stream>>>(
        p.x, p.grad_y, C, p.spatial, len, splits, nullptr, p.save_mean, partial);
  } else {
    const cudaError_t e = cudaMemsetAsync(partial, 0, 2 * C * splits * sizeof(double), stream);
    if (e != cudaSuccess) return e;
  }
  batch_backward_coef_kernel<<<channel_grid(C), kBatchThreads, 0, stream>>>(p, splits, partial, ka, kb, kc);
  const int64_t total = C * len;
  if (total > 0)
    batch_affine_kernel<<<batch_elementwise_grid(total), kBatchThreads, 0, stream>>>(
        p.x, p.grad_y, p.grad_x, C, p.spatial, total, p.save_mean, ka, kb, kc);
  return cudaGetLastError();
}

}  // namespace grimoire::cuda
