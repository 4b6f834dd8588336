// Fused multi-tensor optimizer steps and clip_grad_norm on the GPU (see optim.cuh).
#include "optim.cuh"

#include <array>
#include <cmath>
#include <cstdint>

#include "reduce.cuh"

namespace grimoire::cuda {

namespace {

using optim_detail::AdamConsts;
using optim_detail::SgdConsts;

constexpr int kMaxTensors = 36;     // tensors per launch
constexpr int kMaxBlocks = 320;     // chunks (= blocks) per launch
constexpr int64_t kChunk = 65536;   // elements per chunk (a multiple of 4: chunk starts keep alignment)
constexpr int kThreads = 512;

// The list of one launch: D arrays per tensor (param, grad, then the state buffers).
template <int D>
struct TensorList {
  float* ptr[D][kMaxTensors];
  int64_t n[kMaxTensors];
  int64_t first_chunk;                 // global index of block 0's chunk (grad_norm's partials)
  uint32_t block_chunk[kMaxBlocks];    // chunk index within its tensor
  uint8_t block_tensor[kMaxBlocks];    // slot in ptr / n
};
static_assert(kMaxTensors <= 256, "block_tensor is a uint8_t");
static_assert(sizeof(TensorList<5>) + 64 <= 4096, "a TensorList and its op fit the 4 KiB kernel parameters of sm_80");

// The element-wise update of one element of each of the D arrays (kWrites: the arrays written).
template <bool kAms>
struct AdamOp {
  static constexpr int D = kAms ? 5 : 4;
  static constexpr unsigned kWrites = kAms ? 0b11101u : 0b1101u;  // param, m, v (, max_v)
  AdamConsts c;
  // optim_simd.h's adam_loop, operation for operation (fmaf where it uses V::fmadd).
  __device__ __forceinline__ void operator()(float (&x)[D]) const {
    float p = x[0], g = x[1];
    if (c.l2 != 0.0f) g = fmaf(p, c.l2, g);
    if (c.decay != 1.0f) p = __fmul_rn(p, c.decay);
    const float m = x[2], v = x[3];
    const float mi = fmaf(c.one_minus_beta1, __fsub_rn(g, m), m);
    const float vi = fmaf(__fmul_rn(c.one_minus_beta2, g), g, __fmul_rn(v, c.beta2));
    float vd = vi;
    if constexpr (kAms) {
      // V::max_nan(max_v, vi): a NaN in max_v stays (x != x), else the larger, vi when it is NaN.
      vd = (x[4] != x[4] || x[4] > vi) ? x[4] : vi;
      x[4] = vd;
    }
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vd), c.bc2_sqrt), c.eps);
    x[0] = __fadd_rn(p, __fdiv_rn(__fmul_rn(c.neg_step_size, mi), denom));
    x[2] = mi;
    x[3] = vi;
  }
};

template <bool kMomentum>
struct SgdOp {
  static constexpr int D = kMomentum ? 3 : 2;
  static constexpr unsigned kWrites = kMomentum ? 0b101u : 0b1u;
  SgdConsts c;
  __device__ __forceinline__ void operator()(float (&x)[D]) const {
    const float p = x[0];
    float g = x[1];
    if (c.weight_decay != 0.0f) g = fmaf(p, c.weight_decay, g);
    if constexpr (kMomentum) {
      const float b = c.first_step ? g : fmaf(g, c.one_minus_dampening, __fmul_rn(x[2], c.momentum));
      x[2] = b;
      g = c.nesterov ? fmaf(b, c.momentum, g) : b;
    }
    x[0] = fmaf(g, c.neg_lr, p);
  }
};

struct ScaleOp {
  static constexpr int D = 1;
  static constexpr unsigned kWrites = 0b1u;
  float coef;
  __device__ __forceinline__ void operator()(float (&x)[1]) const { x[0] = __fmul_rn(x[0], coef); }
};

// This block's chunk: its arrays from element `begin` of its tensor, and its length.
template <int D>
__device__ __forceinline__ int64_t block_chunk(const TensorList<D>& tl, float* (&p)[D]) {
  const int t = tl.block_tensor[blockIdx.x];
  const int64_t begin = static_cast<int64_t>(tl.block_chunk[blockIdx.x]) * kChunk;
#pragma unroll
  for (int k = 0; k < D; ++k) p[k] = tl.ptr[k][t] + begin;
  return tl.n[t] - begin < kChunk ? tl.n[t] - begin : kChunk;
}

// One block per chunk. Each element is read once and written once (the arrays in kWrites);
// float4 when every array of the chunk is 16-byte aligned (block-uniform), scalar otherwise and
// for the tail. Elements are independent: no barrier, no shared memory.
template <typename Op>
__global__ void __launch_bounds__(kThreads) multi_tensor_kernel(TensorList<Op::D> tl, Op op) {
  constexpr int D = Op::D;
  float* p[D];
  const int64_t n = block_chunk(tl, p);
  bool vec = true;
#pragma unroll
  for (int k = 0; k < D; ++k) vec = vec && aligned16(p[k]);
  // Five float4 streams (amsgrad) make the division's slow-path call save registers on the stack:
  // that variant reads scalars (still coalesced; amsgrad is the rare case).
  const int64_t packs = vec && D <= 4 ? n / 4 : 0;
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    float4 r[D];
#pragma unroll
    for (int k = 0; k < D; ++k) r[k] = reinterpret_cast<const float4*>(p[k])[i];
#pragma unroll
    for (int j = 0; j < 4; ++j) {  // component j of every array's float4 (j is a constant once unrolled)
      float e[D];
#pragma unroll
      for (int k = 0; k < D; ++k) e[k] = (&r[k].x)[j];
      op(e);
#pragma unroll
      for (int k = 0; k < D; ++k) (&r[k].x)[j] = e[k];
    }
#pragma unroll
    for (int k = 0; k < D; ++k)
      if (Op::kWrites >> k & 1u) reinterpret_cast<float4*>(p[k])[i] = r[k];
  }
  for (int64_t i = packs * 4 + threadIdx.x; i < n; i += blockDim.x) {
    float e[D];
#pragma unroll
    for (int k = 0; k < D; ++k) e[k] = p[k][i];
    op(e);
#pragma unroll
    for (int k = 0; k < D; ++k)
      if (Op::kWrites >> k & 1u) p[k][i] = e[k];
  }
}

// ---- clip_grad_norm --------------------------------------------------------------------------
// kKind 2: sum g^2; 1: sum |g|; 0: max |g| (NaN if any is NaN); -1: sum |g|^p. In double: the
// square of any float32 fits a double, so no nrm2-style rescaling is needed to avoid overflow.
struct MaxNan {
  __device__ double operator()(double a, double b) const { return a != a ? a : (b != b || b > a ? b : a); }
};
struct Plus {
  __device__ double operator()(double a, double b) const { return a + b; }
};

template <int kKind>
__device__ __forceinline__ double fold(double s, float x, double p) {
  const double a = fabs(static_cast<double>(x));
  if constexpr (kKind == 2) return fma(a, a, s);
  else if constexpr (kKind == 1) return s + a;
  else if constexpr (kKind == 0) return MaxNan{}(s, a);
  else return s + pow(a, p);
}

template <int kKind>
__global__ void __launch_bounds__(kThreads) grad_norm_partial_kernel(TensorList<1> tl, double p, double* partial) {
  __shared__ double scratch[32];
  float* x[1];
  const int64_t n = block_chunk(tl, x);
  double s = 0.0;
  const int64_t packs = aligned16(x[0]) ? n / 4 : 0;
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    const float4 r = reinterpret_cast<const float4*>(x[0])[i];
    s = fold<kKind>(fold<kKind>(fold<kKind>(fold<kKind>(s, r.x, p), r.y, p), r.z, p), r.w, p);
  }
  for (int64_t i = packs * 4 + threadIdx.x; i < n; i += blockDim.x) s = fold<kKind>(s, x[0][i], p);
  s = kKind == 0 ? block_reduce(s, MaxNan{}, 0.0, scratch) : block_reduce(s, Plus{}, 0.0, scratch);
  if (threadIdx.x == 0) partial[tl.first_chunk + blockIdx.x] = s;
}

// One block: the chunks' partials folded in order, then the norm and the clip coefficient as
// the CPU's clip_grad_norm computes them (float32 total; coef in float32, clamped to 1, NaN kept).
__global__ void __launch_bounds__(1024)
    grad_norm_total_kernel(const double* partial, int64_t chunks, int kind, double p, double max_norm, double* result) {
  __shared__ double scratch[32];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < chunks; i += blockDim.x) s = kind == 0 ? MaxNan{}(s, partial[i]) : s + partial[i];
  s = kind == 0 ? block_reduce(s, MaxNan{}, 0.0, scratch) : block_reduce(s, Plus{}, 0.0, scratch);
  if (threadIdx.x == 0) {
    const double total = kind == 0 || kind == 1 ? s : kind == 2 ? sqrt(s) : pow(s, 1.0 / p);
    const float t = static_cast<float>(total);
    const float coef = static_cast<float>(max_norm) / (t + 1e-6f);
    result[0] = static_cast<double>(t);
    result[1] = coef != coef ? coef : fminf(coef, 1.0f);
  }
}

// Cut the tensors into chunks and launch `launch(list, blocks)` once per full TensorList.
template <int D, typename Launch>
cudaError_t multi_tensor_apply(const std::vector<std::array<float*, D>>& ptrs, const std::vector<int64_t>& sizes,
                               Launch&& launch) {
  TensorList<D> tl{};
  int nt = 0, nb = 0;
  int64_t chunk_base = 0;
  for (size_t t = 0; t < ptrs.size(); ++t) {
    const int64_t n = sizes[t];
    if (n == 0) continue;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    if (chunks > int64_t{UINT32_MAX}) return cudaErrorInvalidValue;
    for (int k = 0; k < D; ++k) tl.ptr[k][nt] = ptrs[t][k];
    tl.n[nt] = n;
    for (int64_t c = 0; c < chunks; ++c) {
      tl.block_tensor[nb] = static_cast<uint8_t>(nt);
      tl.block_chunk[nb] = static_cast<uint32_t>(c);
      ++nb;
      const bool last_chunk = c + 1 == chunks;
      if (nb == kMaxBlocks || (last_chunk && nt + 1 == kMaxTensors)) {
        tl.first_chunk = chunk_base;
        if (const cudaError_t e = launch(tl, nb); e != cudaSuccess) return e;
        chunk_base += nb;
        nb = 0;
        if (last_chunk) {
          nt = -1;  // the next tensor opens slot 0 of a fresh list
        } else {    // this tensor's remaining chunks continue from slot 0
          for (int k = 0; k < D; ++k) tl.ptr[k][0] = tl.ptr[k][nt];
          tl.n[0] = tl.n[nt];
          nt = 0;
        }
      }
    }
    ++nt;
  }
  if (nb == 0) return cudaSuccess;
  tl.first_chunk = chunk_base;
  return launch(tl, nb);
}

template <typename Op>
cudaError_t apply(const std::vector<std::array<float*, Op::D>>& ptrs, const std::vector<int64_t>& sizes, const Op& op,
                  cudaStream_t stream) {
  return multi_tensor_apply<Op::D>(ptrs, sizes, [&](const TensorList<Op::D>& tl, int blocks) {
    multi_tensor_kernel<Op><<<blocks, kThreads, 0, stream>>>(tl, op);
    return cudaGetLastError();
  });
}

}  // namespace

cudaError_t adam_step(const std::vector<AdamTensor>& tensors, const AdamParams& hyper, cudaStream_t stream) {
  std::vector<int64_t> sizes;
  for (const AdamTensor& t : tensors) sizes.push_back(t.n);
  if (hyper.amsgrad) {
    std::vector<std::array<float*, 5>> ptrs;
    for (const AdamTensor& t : tensors) ptrs.push_back({t.param, const_cast<float*>(t.grad), t.m, t.v, t.max_v});
    return apply(ptrs, sizes, AdamOp<true>{optim_detail::adam_consts(hyper)}, stream);
  }
  std::vector<std::array<float*, 4>> ptrs;
  for (const AdamTensor& t : tensors) ptrs.push_back({t.param, const_cast<float*>(t.grad), t.m, t.v});
  return apply(ptrs, sizes, AdamOp<false>{optim_detail::adam_consts(hyper)}, stream);
}

cudaError_t sgd_step(const std::vector<SgdTensor>& tensors, const SgdParams& hyper, cudaStream_t stream) {
  std::vector<int64_t> sizes;
  for (const SgdTensor& t : tensors) sizes.push_back(t.n);
  const SgdConsts c = optim_detail::sgd_consts(hyper);
  if (c.use_momentum) {
    std::vector<std::array<float*, 3>> ptrs;
    for (const SgdTensor& t : tensors) ptrs.push_back({t.param, const_cast<float*>(t.grad), t.momentum_buf});
    return apply(ptrs, sizes, SgdOp<true>{c}, stream);
  }
  std::vector<std::array<float*, 2>> ptrs;
  for (const SgdTensor& t : tensors) ptrs.push_back({t.param, const_cast<float*>(t.grad)});
  return apply(ptrs, sizes, SgdOp<false>{c}, stream);
}

int64_t grad_norm_scratch(const std::vector<GradSpan>& grads) {
  int64_t chunks = 0;
  for (const GradSpan& g : grads) chunks += (g.n + kChunk - 1) / kChunk;
  return chunks + 2;
}

cudaError_t grad_norm(const std::vector<GradSpan>& grads, double norm_type, double max_norm, double* scratch,
                      cudaStream_t stream) {
  const int kind = std::isinf(norm_type) ? 0 : norm_type == 2.0 ? 2 : norm_type == 1.0 ? 1 : -1;
  std::vector<std::array<float*, 1>> ptrs;
  std::vector<int64_t> sizes;
  for (const GradSpan& g : grads) ptrs.push_back({g.data}), sizes.push_back(g.n);
  double* partial = scratch + 2;
  const cudaError_t e = multi_tensor_apply<1>(ptrs, sizes, [&](const TensorList<1>& tl, int blocks) {
    switch (kind) {
      case 2: grad_norm_partial_kernel<2><<<blocks, kThreads, 0, stream>>>(tl, norm_type, partial); break;
      case 1: grad_norm_partial_kernel<1><<<blocks, kThreads, 0, stream>>>(tl, norm_type, partial); break;
      case 0: grad_norm_partial_kernel<0><<<blocks, kThreads, 0, stream>>>(tl, norm_type, partial); break;
      default: grad_norm_partial_kernel<-1><<<blocks, kThreads, 0, stream>>>(tl, norm_type, partial);
    }
    return cudaGetLastError();
  });
  if (e != cudaSuccess) return e;
  grad_norm_total_kernel<<<1, 1024, 0, stream>>>(partial, grad_norm_scratch(grads) - 2, kind, norm_type, max_norm,
                                                 scratch);
  return cudaGetLastError();
}

cudaError_t scale_grads(const std::vector<GradSpan>& grads, float coef, cudaStream_t stream) {
  std::vector<std::array<float*, 1>> ptrs;
  std::vector<int64_t> sizes;
  for (const GradSpan& g : grads) ptrs.push_back({g.data}), sizes.push_back(g.n);
  return apply(ptrs, sizes, ScaleOp{coef}, stream);
}

}  // namespace grimoire::cuda
