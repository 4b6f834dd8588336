// Quantisation and low-precision conversions on the GPU (see quant.cuh). Element-wise,
// memory-bound, grid-stride loops; the per-value arithmetic is grimoire/quant_bits.h, shared
// with the CPU core's scalar references.
#include "quant.cuh"

#include <cfloat>

#include "grimoire/quant_bits.h"
#include "reduce.cuh"

namespace grimoire::cuda {

namespace {

namespace qb = quant_bits;

constexpr int kThreads = 256;
constexpr int64_t kMaxGrid = 65535 * 8;  // plenty of blocks to fill any GPU; the loops stride past it

unsigned elementwise_grid(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks < kMaxGrid ? blocks : kMaxGrid);
}

__global__ void __launch_bounds__(kThreads) to_fp8_kernel(const float* x, uint8_t* out, int64_t n, bool e5m2,
                                                          bool saturate) {
  const qb::Fp8Spec spec = e5m2 ? qb::kE5M2 : qb::kE4M3;
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n; i += int64_t{gridDim.x} * kThreads)
    out[i] = qb::encode_fp8(x[i], spec, saturate);
}

__global__ void __launch_bounds__(kThreads) from_fp8_kernel(const uint8_t* codes, float* out, int64_t n, bool e5m2) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n; i += int64_t{gridDim.x} * kThreads)
    out[i] = qb::decode_fp8(codes[i], e5m2);
}

__global__ void __launch_bounds__(kThreads) to_bf16_kernel(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n; i += int64_t{gridDim.x} * kThreads)
    out[i] = qb::encode_bf16(x[i]);
}

__global__ void __launch_bounds__(kThreads) from_bf16_kernel(const uint16_t* x, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n; i += int64_t{gridDim.x} * kThreads)
    out[i] = qb::decode_bf16(x[i]);
}

// ---- int8 ------------------------------------------------------------------------------------
// x is (outer, channels, inner); channel c's elements are k in [0, outer * inner), at
// x[(k / inner * channels + c) * inner + k % inner]. Stage 1: block b folds split b % splits of
// channel b / splits into (lo, hi, nonfinite) partials, starting from 0 as the CPU does.
struct MinMax {
  float lo, hi;
};

__global__ void __launch_bounds__(kThreads)
    channel_minmax_kernel(const float* x, QuantInt8Params p, int64_t splits, float* partial) {
  __shared__ float scratch[32];
  const int64_t c = blockIdx.x / splits, s = blockIdx.x % splits;
  const int64_t len = p.outer * p.inner, k0 = len * s / splits, k1 = len * (s + 1) / splits;
  float lo = 0.0f, hi = 0.0f, bad = 0.0f;
  for (int64_t k = k0 + threadIdx.x; k < k1; k += kThreads) {
    const float v = x[(k / p.inner * p.channels + c) * p.inner + k % p.inner];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    bad = (qb::bits_of(v) & 0x7F800000u) == 0x7F800000u ? 1.0f : bad;
  }
  struct Min {
    __device__ float operator()(float a, float b) const { return b < a ? b : a; }
  };
  struct Max {
    __device__ float operator()(float a, float b) const { return b > a ? b : a; }
  };
  lo = block_reduce(lo, Min{}, 0.0f, scratch);
  hi = block_reduce(hi, Max{}, 0.0f, scratch);
  bad = block_reduce(bad, Max{}, 0.0f, scratch);
  if (threadIdx.x == 0) {
    partial[3 * blockIdx.x] = lo;
    partial[3 * blockIdx.x + 1] = hi;
    partial[3 * blockIdx.x + 2] = bad;
  }
}

// Stage 2, one thread per channel: fold the splits, then the CPU's scale / zero point formulas.
__global__ void __launch_bounds__(kThreads)
    channel_qparams_kernel(const float* partial, int64_t channels, int64_t splits, bool symmetric, float* scale,
                           int32_t* zero_point, int32_t* nonfinite) {
  const int64_t c = blockIdx.x * int64_t{kThreads} + threadIdx.x;
  if (c >= channels) return;
  float lo = 0.0f, hi = 0.0f;
  bool bad = false;
  for (int64_t s = 0; s < splits; ++s) {
    const float* q = partial + 3 * (c * splits + s);
    lo = q[0] < lo ? q[0] : lo;
    hi = q[1] > hi ? q[1] : hi;
    bad = bad || q[2] != 0.0f;
  }
  if (bad) *nonfinite = 1;  // every writer writes 1: a benign race with one outcome
  const float min_scale = FLT_MIN;  // a smaller scale has a reciprocal that overflows
  if (symmetric) {
    const float amax = -lo > hi ? -lo : hi;
    scale[c] = amax > 0.0f ? (amax / 127.0f > min_scale ? amax / 127.0f : min_scale) : 1.0f;
    zero_point[c] = 0;
    return;
  }
  const float range = (hi - lo) / 255.0f;
  const float s = range > 0.0f ? (range > min_scale ? range : min_scale) : range;
  if (!(s > 0.0f)) {
    scale[c] = 1.0f;
    zero_point[c] = 0;
    return;
  }
  scale[c] = s;
  const int32_t zp = -128 - static_cast<int32_t>(qb::round_half_even(lo / s));
  zero_point[c] = zp < -128 ? -128 : (zp > 127 ? 127 : zp);
}

__global__ void __launch_bounds__(kThreads) quantize_int8_kernel(const float* x, int8_t* q, QuantInt8Params p) {
  const int64_t n = p.outer * p.channels * p.inner;
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n; i += int64_t{gridDim.x} * kThreads) {
    const int64_t c = i / p.inner % p.channels;
    q[i] = qb::quantize_int8_one(x[i], 1.0f / p.scale[c], p.zero_point[c], p.qmin, p.qmax);
  }
}

__global__ void __launch_bounds__(kThreads) dequantize_int8_kernel(const int8_t* q, float* x, QuantInt8Params p) {
  const int64_t n = p.outer * p.channels * p.inner;
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n; i += int64_t{gridDim.x} * kThreads) {
    const int64_t c = i / p.inner % p.channels;
    x[i] = static_cast<float>(static_cast<int32_t>(q[i]) - p.zero_point[c]) * p.scale[c];
  }
}

// Splits per channel: about 64k elements each, at most 1024 blocks in all (at least 1 each).
int64_t splits_for(const QuantInt8Params& p) {
  const int64_t len = p.outer * p.inner, by_size = (len + 65535) / 65536;
  const int64_t by_grid = 1024 / (p.channels > 0 ? p.channels : 1);
  const int64_t s = by_size < by_grid ? by_size : by_grid;
  return s < 1 ? 1 : s;
}

}  // namespace

cudaError_t to_fp8(const float* x, uint8_t* out, int64_t n, Fp8Format fmt, bool saturate, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  to_fp8_kernel<<<elementwise_grid(n), kThreads, 0, stream>>>(x, out, n, fmt == Fp8Format::e5m2, saturate);
  return cudaGetLastError();
}

cudaError_t from_fp8(const uint8_t* codes, float* out, int64_t n, Fp8Format fmt, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  from_fp8_kernel<<<elementwise_grid(n), kThreads, 0, stream>>>(codes, out, n, fmt == Fp8Format::e5m2);
  return cudaGetLastError();
}

cudaError_t to_bf16(const float* x, uint16_t* out, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  to_bf16_kernel<<<elementwise_grid(n), kThreads, 0, stream>>>(x, out, n);
  return cudaGetLastError();
}

cudaError_t from_bf16(const uint16_t* x, float* out, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  from_bf16_kernel<<<elementwise_grid(n), kThreads, 0, stream>>>(x, out, n);
  return cudaGetLastError();
}

int64_t qparams_scratch(const QuantInt8Params& p) { return 3 * p.channels * splits_for(p); }

cudaError_t choose_qparams_int8(const float* x, const QuantInt8Params& p, bool symmetric, float* scale,
                                int32_t* zero_point, int32_t* nonfinite, float* scratch, cudaStream_t stream) {
  cudaError_t e = cudaMemsetAsync(nonfinite, 0, sizeof(int32_t), stream);
  if (e != cudaSuccess || p.channels == 0) return e;
  const int64_t splits = splits_for(p);
  const int64_t blocks = p.channels * splits;
  if (blocks > (int64_t{1} << 31) - 1) return cudaErrorInvalidValue;
  channel_minmax_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(x, p, splits, scratch);
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  channel_qparams_kernel<<<static_cast<unsigned>((p.channels + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
      scratch, p.channels, splits, symmetric, scale, zero_point, nonfinite);
  return cudaGetLastError();
}

cudaError_t quantize_int8(const float* x, int8_t* q, const QuantInt8Params& p, cudaStream_t stream) {
  const int64_t n = p.outer * p.channels * p.inner;
  if (n == 0) return cudaSuccess;
  quantize_int8_kernel<<<elementwise_grid(n), kThreads, 0, stream>>>(x, q, p);
  return cudaGetLastError();
}

cudaError_t dequantize_int8(const int8_t* q, float* x, const QuantInt8Params& p, cudaStream_t stream) {
  const int64_t n = p.outer * p.channels * p.inner;
  if (n == 0) return cudaSuccess;
  dequantize_int8_kernel<<<elementwise_grid(n), kThreads, 0, stream>>>(q, x, p);
  return cudaGetLastError();
}

}  // namespace grimoire::cuda
