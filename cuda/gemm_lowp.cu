// int8 and FP8 GEMMs on the tensor-core mainloop of gemm_kernels.cuh (K-major operands, cp.async),
// the K-major packer, and the row quantiser of linear_int8.
#include <algorithm>
#include <cfloat>

#include "gemm_kernels.cuh"
#include "gemm_lowp.cuh"

namespace grimoire::cuda {

namespace {

using namespace kernels;

CpAsyncOperand operand8(const KMajor8& op) {
  CpAsyncOperand o;
  o.base = static_cast<const char*>(op.data);
  o.ld_bytes = op.ld;
  o.batch_bytes = 0;
  o.rows = op.rows;
  o.k_bytes = op.k;
  return o;
}

GemmShape shape8(const KMajor8& a, const KMajor8& b) {
  GemmShape sh;
  sh.m = a.rows; sh.n = b.rows; sh.k = a.k; sh.batch = 1;
  return sh;
}

struct Int32Store {
  int32_t* c;
  int64_t ldc;
  __device__ __forceinline__ void operator()(int64_t, int64_t i, int64_t j, int acc) const { c[i * ldc + j] = acc; }
};

struct AlphaStore {
  float* c;
  int64_t ldc;
  float alpha;
  __device__ __forceinline__ void operator()(int64_t, int64_t i, int64_t j, float acc) const {
    c[i * ldc + j] = alpha * acc;
  }
};

// y = float(acc) * (s_x[i] * s_w[j]) (+ bias[j]), each operation rounded on its own as on the CPU.
struct LinearStore {
  float* y;
  int64_t ldy;
  const float *x_scale, *w_scale, *bias;
  __device__ __forceinline__ void operator()(int64_t, int64_t i, int64_t j, int acc) const {
    const float v = __fmul_rn(static_cast<float>(acc), __fmul_rn(x_scale[i], w_scale[j]));
    y[i * ldy + j] = bias ? __fadd_rn(v, bias[j]) : v;
  }
};

__global__ void pack_k_major_kernel(const uint8_t* src, int64_t rows, int64_t k, int64_t rs, int64_t ks, uint8_t* dst,
                                    int64_t kp) {
  const int64_t total = rows * kp;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = e / kp, p = e % kp;
    dst[e] = p < k ? src[r * rs + p * ks] : uint8_t{0};
  }
}

// One block per row (grid-stride over rows): max |x| (and whether a value is NaN/inf), then the
// codes. The reduction is a fixed tree, so the scale is deterministic (and max is exact in any
// order anyway).
__global__ void __launch_bounds__(256) quantize_rows_kernel(const float* x, int64_t m, int64_t k, int8_t* q,
                                                            int64_t ld, float* scale, int* nonfinite) {
  __shared__ float red[256];
  __shared__ int bad_any[256];
  for (int64_t row = blockIdx.x; row < m; row += gridDim.x) {
    const float* xr = x + row * k;
    float amax = 0.0f;
    int bad = 0;
    for (int64_t p = threadIdx.x; p < k; p += blockDim.x) {
      const float v = xr[p];
      bad |= !isfinite(v);
      amax = fmaxf(amax, fabsf(v));
    }
    __syncthreads();  // every thread has read the previous row's red[0] / bad_any[0]
    red[threadIdx.x] = amax;
    bad_any[threadIdx.x] = bad;
    __syncthreads();
    for (int s = 128; s > 0; s >>= 1) {
      if (threadIdx.x < s) {
        red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
        bad_any[threadIdx.x] |= bad_any[threadIdx.x + s];
      }
      __syncthreads();
    }
    if (bad_any[0]) {  // block-uniform
      if (threadIdx.x == 0) *nonfinite = 1;
      continue;
    }
    // As choose_qparams_int8 (symmetric): scale = max(amax / 127, FLT_MIN), 1 for an all-zero row.
    const float s = red[0] > 0.0f ? fmaxf(__fdiv_rn(red[0], 127.0f), FLT_MIN) : 1.0f;
    const float inv = __fdiv_rn(1.0f, s);
    if (threadIdx.x == 0) scale[row] = s;
    for (int64_t p = threadIdx.x; p < ld; p += blockDim.x) {
      int8_t code = 0;
      if (p < k) {
        const float v = fminf(fmaxf(__fmaf_rn(xr[p], inv, 0.0f), -1e9f), 1e9f);
        code = static_cast<int8_t>(min(max(__float2int_rn(v), -127), 127));
      }
      q[row * ld + p] = code;
    }
  }
}

template <bool kAE5M2, bool kBE5M2>
cudaError_t launch_fp8(const KMajor8& a, const KMajor8& b, float alpha, float* c, int64_t ldc, cudaStream_t stream) {
  CpAsyncLoader<true, true> load{operand8(a), operand8(b)};
  return launch_tc<MmaFp8<kAE5M2, kBE5M2>, true, true>(load, AlphaStore{c, ldc, alpha}, shape8(a, b), stream);
}

}  // namespace

bool is_k_major8(const void* data, int64_t k, int64_t row_stride, int64_t k_stride) {
  return (k_stride == 1 || k <= 1) && k % 16 == 0 && row_stride % 16 == 0 &&
         reinterpret_cast<uintptr_t>(data) % 16 == 0;
}

int64_t padded_k(int64_t k) { return (k + 15) / 16 * 16; }

cudaError_t pack_k_major(const void* src, int64_t rows, int64_t k, int64_t row_stride, int64_t k_stride, void* dst,
                         cudaStream_t stream) {
  const int64_t total = rows * padded_k(k);
  if (total == 0) return cudaSuccess;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, 65535 * 4));
  pack_k_major_kernel<<<blocks, 256, 0, stream>>>(static_cast<const uint8_t*>(src), rows, k, row_stride, k_stride,
                                                  static_cast<uint8_t*>(dst), padded_k(k));
  return cudaGetLastError();
}

cudaError_t gemm_int8(const KMajor8& a, const KMajor8& b, int32_t* c, int64_t ldc, cudaStream_t stream) {
  if (a.rows == 0 || b.rows == 0) return cudaSuccess;
  CpAsyncLoader<true, true> load{operand8(a), operand8(b)};
  return launch_tc<MmaS8, true, true>(load, Int32Store{c, ldc}, shape8(a, b), stream);
}

cudaError_t gemm_fp8(const KMajor8& a, const KMajor8& b, float alpha, Fp8Format fmt_a, Fp8Format fmt_b, float* c,
                     int64_t ldc, cudaStream_t stream) {
  if (a.rows == 0 || b.rows == 0) return cudaSuccess;
  const bool a5 = fmt_a == Fp8Format::e5m2, b5 = fmt_b == Fp8Format::e5m2;
  if (!a5 && !b5) return launch_fp8<false, false>(a, b, alpha, c, ldc, stream);
  if (!a5 && b5) return launch_fp8<false, true>(a, b, alpha, c, ldc, stream);
  if (a5 && !b5) return launch_fp8<true, false>(a, b, alpha, c, ldc, stream);
  return launch_fp8<true, true>(a, b, alpha, c, ldc, stream);
}

cudaError_t quantize_rows_int8(const float* x, int64_t m, int64_t k, int8_t* q, int64_t ld, float* scale,
                               int* nonfinite, cudaStream_t stream) {
  if (m == 0) return cudaSuccess;
  // Grid-stride over rows: m is not bounded by gridDim.x (2^31 - 1 rows of k = 1 are only 8 GiB
  // of float32, and a plain unsigned cast of m >= 2^32 would silently drop rows).
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(m, int64_t{65535} * 16));
  quantize_rows_kernel<<<blocks, 256, 0, stream>>>(x, m, k, q, ld, scale, nonfinite);
  return cudaGetLastError();
}

cudaError_t linear_int8(const KMajor8& xq, const KMajor8& w, const float* x_scale, const float* w_scale,
                        const float* bias, float* y, cudaStream_t stream) {
  if (xq.rows == 0 || w.rows == 0) return cudaSuccess;
  CpAsyncLoader<true, true> load{operand8(xq), operand8(w)};
  return launch_tc<MmaS8, true, true>(load, LinearStore{y, w.rows, x_scale, w_scale, bias}, shape8(xq, w), stream);
}

}  // namespace grimoire::cuda
