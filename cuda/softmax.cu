// Softmax family on the GPU (see softmax.cuh). One block per row, grid-stride over rows; float4
// packs when the row length is a multiple of 4 and the pointers are 16-byte aligned.
//
// NaN/inf behave as in the CPU reference: the max ignores NaN (fmaxf), a NaN then poisons s;
// +inf gives exp(inf - inf) = NaN; a row of -inf gives m = -inf and exp(-inf + inf) = NaN.
#include "softmax.cuh"

#include "reduce.cuh"
#include "vec.cuh"

namespace grimoire::cuda {

namespace {

// The running (max, sum of exp(x - max)) of part of a row.
struct MaxSum {
  float m = -INFINITY, s = 0.0f;
};

// Add one element. The x > m branch rescales the old sum; exp(x - x) is 1 for finite x and NaN
// for x = +inf (as the reference's exp(inf - inf)); -inf adds exp(-inf) = 0 and is skipped so
// that a leading -inf does not compute exp(-inf - (-inf)). NaN falls through to s += NaN.
__device__ __forceinline__ void add(MaxSum& a, float x) {
  if (x > a.m) {
    a.s = a.s * expf(a.m - x) + expf(x - x);
    a.m = x;
  } else if (x != -INFINITY) {
    a.s += expf(x - a.m);
  }
}

// Merge two partials; an empty one (s == 0) contributes nothing (and no exp(-inf + inf)).
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  MaxSum r;
  r.m = fmaxf(a.m, b.m);
  r.s = (a.s == 0.0f ? 0.0f : a.s * expf(a.m - r.m)) + (b.s == 0.0f ? 0.0f : b.s * expf(b.m - r.m));
  return r;
}

__device__ __forceinline__ MaxSum warp_merge(MaxSum v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    MaxSum o;
    o.m = __shfl_xor_sync(0xffffffffu, v.m, offset);
    o.s = __shfl_xor_sync(0xffffffffu, v.s, offset);
    v = merge(v, o);
  }
  return v;
}

// The block's merged (max, sum), returned to every thread (same contract as block_sum).
__device__ __forceinline__ MaxSum block_merge(MaxSum v, MaxSum* scratch) {
  v = warp_merge(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return warp_merge(lane < warps ? scratch[lane] : MaxSum{});
}

// (max, sum) of one row, in one read; sum_x (when asked) is the plain sum of the row.
template <int V, bool kSumX>
__device__ __forceinline__ MaxSum row_max_sum(const float* x, int64_t packs, MaxSum* scratch, float* fscratch,
                                              float* sum_x) {
  MaxSum a;
  float sx = 0.0f;
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    const Vec<V> v = load<V>(x + i * V);
#pragma unroll
    for (int k = 0; k < V; ++k) {
      add(a, v.v[k]);
      if constexpr (kSumX) sx += v.v[k];
    }
  }
  if constexpr (kSumX) *sum_x = block_sum(sx, fscratch);
  return block_merge(a, scratch);
}

template <bool kLog, int V>
__global__ void __launch_bounds__(1024) softmax_forward_kernel(SoftmaxParams p) {
  __shared__ MaxSum scratch[32];
  const int64_t d = p.dim, packs = d / V;
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const float* x = p.x + r * d;
    const MaxSum ms = row_max_sum<V, false>(x, packs, scratch, nullptr, nullptr);
    const float log_s = logf(ms.s);
    float* y = p.out + r * d;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      Vec<V> v = load<V>(x + i * V);
#pragma unroll
      for (int k = 0; k < V; ++k) v.v[k] = kLog ? (v.v[k] - ms.m) - log_s : expf(v.v[k] - ms.m) / ms.s;
      store<V>(y + i * V, v);
    }
  }
}

// softmax: grad_x = y * (grad_y - sum(grad_y * y));  log_softmax: grad_x = grad_y - exp(y) * sum(grad_y).
template <bool kLog, int V>
__global__ void __launch_bounds__(1024) softmax_backward_kernel(SoftmaxParams p) {
  __shared__ float scratch[32];
  const int64_t d = p.dim, packs = d / V;
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const float *gy = p.x + r * d, *y = p.y + r * d;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const Vec<V> g = load<V>(gy + i * V), yv = load<V>(y + i * V);
#pragma unroll
      for (int k = 0; k < V; ++k) s += kLog ? g.v[k] : g.v[k] * yv.v[k];
    }
    s = block_sum(s, scratch);
    float* gx = p.out + r * d;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const Vec<V> g = load<V>(gy + i * V), yv = load<V>(y + i * V);
      Vec<V> o;
#pragma unroll
      for (int k = 0; k < V; ++k) o.v[k] = kLog ? g.v[k] - expf(yv.v[k]) * s : yv.v[k] * (g.v[k] - s);
      store<V>(gx + i * V, o);
    }
  }
}

// ---- cross-entropy: check/count targets, per-row loss and gradient, reduce ------------------

__device__ __forceinline__ bool bad_target(long long t, int64_t classes, int64_t ignore) {
  return t != ignore && (t < 0 || t >= classes);
}

// One block: count = rows not ignored, bad_row = the first invalid row (-1 if none).
__global__ void __launch_bounds__(1024) cross_entropy_targets_kernel(CrossEntropyParams p, CrossEntropyResult* res) {
  __shared__ long long scratch[32];
  long long count = 0, first_bad = p.n;  // p.n: none
  for (int64_t i = threadIdx.x; i < p.n; i += blockDim.x) {
    const long long t = p.targets[i];
    count += t != p.ignore_index;
    if (bad_target(t, p.classes, p.ignore_index) && i < first_bad) first_bad = i;
  }
  count = block_sum(count, scratch);
  // min over the block: -first_bad summed is not a min, so a small shared-memory min instead.
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    const long long o = __shfl_xor_sync(0xffffffffu, first_bad, offset);
    first_bad = o < first_bad ? o : first_bad;
  }
  __syncthreads();
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = first_bad;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) first_bad = scratch[w] < first_bad ? scratch[w] : first_bad;
    res->count = count;
    res->bad_row = first_bad < p.n ? first_bad : -1;
    res->bad_target = first_bad < p.n ? p.targets[first_bad] : 0;
  }
}

template <int V>
__global__ void __launch_bounds__(1024) cross_entropy_rows_kernel(CrossEntropyParams p, const CrossEntropyResult* res) {
  __shared__ MaxSum scratch[32];
  __shared__ float fscratch[32];
  const int64_t c = p.classes, packs = c / V;
  const long long count = res->count;
  // As the CPU: the gradient of the mean is 1/count per row (NaN when every row is ignored).
  const float scale = p.reduction == Reduction::mean ? (count > 0 ? 1.0f / static_cast<float>(count) : NAN) : 1.0f;
  const float eps = p.label_smoothing, eps_c = eps / static_cast<float>(c);
  for (int64_t r = blockIdx.x; r < p.n; r += gridDim.x) {
    const long long t = p.targets[r];
    const float* x = p.logits + r * c;
    float* g = p.grad ? p.grad + r * c : nullptr;
    if (t == p.ignore_index || bad_target(t, c, p.ignore_index)) {  // block-uniform branch
      if (threadIdx.x == 0) p.losses[r] = t == p.ignore_index ? 0.0f : NAN;
      if (g)
        for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
          Vec<V> z;
#pragma unroll
          for (int k = 0; k < V; ++k) z.v[k] = 0.0f;
          store<V>(g + i * V, z);
        }
      continue;
    }
    float sum_x = 0.0f;
    const MaxSum ms = row_max_sum<V, true>(x, packs, scratch, fscratch, &sum_x);
    if (threadIdx.x == 0) {
      const float xt = x[t];
      float loss = logf(ms.s) - (1.0f - eps) * (xt - ms.m);
      if (eps != 0.0f) loss -= eps * (sum_x / static_cast<float>(c) - ms.m);
      p.losses[r] = loss;
    }
    if (g) {
      const float inv_s = 1.0f / ms.s;
      for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
        Vec<V> v = load<V>(x + i * V);
#pragma unroll
        for (int k = 0; k < V; ++k) {
          const int64_t j = i * V + k;
          v.v[k] = scale * (expf(v.v[k] - ms.m) * inv_s - (j == t ? 1.0f - eps : 0.0f) - eps_c);
        }
        store<V>(g + i * V, v);
      }
    }
  }
}

// One block: total = sum of the losses in double (fixed order), / count for the mean.
__global__ void __launch_bounds__(1024) cross_entropy_reduce_kernel(CrossEntropyParams p, CrossEntropyResult* res) {
  __shared__ double scratch[32];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < p.n; i += blockDim.x) s += p.losses[i];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) {
    const long long count = res->count;
    res->total = p.reduction == Reduction::mean ? (count > 0 ? s / static_cast<double>(count) : NAN) : s;
  }
}

bool rows_vectorisable(int64_t dim, const void* a, const void* b, const void* c) {
  return dim % 4 == 0 && aligned16(a) && aligned16(b) && aligned16(c);
}

template <bool kLog>
cudaError_t forward(const SoftmaxParams& p, cudaStream_t stream) {
  if (p.rows <= 0 || p.dim <= 0) return cudaSuccess;
  const int threads = row_block_threads(p.dim);
  if (rows_vectorisable(p.dim, p.x, p.out, nullptr)) softmax_forward_kernel<kLog, 4><<<grid_for(p.rows), threads, 0, stream>>>(p);
  else softmax_forward_kernel<kLog, 1><<<grid_for(p.rows), threads, 0, stream>>>(p);
  return cudaGetLastError();
}

template <bool kLog>
cudaError_t backward(const SoftmaxParams& p, cudaStream_t stream) {
  if (p.rows <= 0 || p.dim <= 0) return cudaSuccess;
  const int threads = row_block_threads(p.dim);
  if (rows_vectorisable(p.dim, p.x, p.y, p.out)) softmax_backward_kernel<kLog, 4><<<grid_for(p.rows), threads, 0, stream>>>(p);
  else softmax_backward_kernel<kLog, 1><<<grid_for(p.rows), threads, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace

cudaError_t softmax_forward(const SoftmaxParams& p, cudaStream_t s) { return forward<false>(p, s); }
cudaError_t log_softmax_forward(const SoftmaxParams& p, cudaStream_t s) { return forward<true>(p, s); }
cudaError_t softmax_backward(const SoftmaxParams& p, cudaStream_t s) { return backward<false>(p, s); }
cudaError_t log_softmax_backward(const SoftmaxParams& p, cudaStream_t s) { return backward<true>(p, s); }

cudaError_t cross_entropy(const CrossEntropyParams& p, CrossEntropyResult* result, cudaStream_t stream) {
  cross_entropy_targets_kernel<<<1, 1024, 0, stream>>>(p, result);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  if (p.n > 0 && p.classes > 0) {
    const int threads = row_block_threads(p.classes);
    if (rows_vectorisable(p.classes, p.logits, p.grad, nullptr))
      cross_entropy_rows_kernel<4><<<grid_for(p.n), threads, 0, stream>>>(p, result);
    else
      cross_entropy_rows_kernel<1><<<grid_for(p.n), threads, 0, stream>>>(p, result);
    if ((e = cudaGetLastError()) != cudaSuccess) return e;
  }
  cross_entropy_reduce_kernel<<<1, 1024, 0, stream>>>(p, result);
  return cudaGetLastError();
}

}  // namespace grimoire::cuda
