// conv2d as implicit GEMMs on the mainloops of gemm_kernels.cuh: each operand is a small struct
// that maps a GEMM element (i, p) of group z to its NCHW address (or to zero: padding, stride
// gaps). float32 on the SIMT kernel, bf16 on the tensor-core kernel through a gathering loader.
#include "conv.cuh"
#include "gemm_kernels.cuh"

namespace grimoire::cuda {

namespace {

using namespace kernels;

// The sizes every operand needs, as int64 (offsets) with the small ones also as int32 (decoding).
struct ConvDims {
  int64_t n, c_in, h, w, c_out, oh, ow;
  int kh, kw, sh, sw, ph, pw, dh, dw;
  int64_t cg, cog;  // channels per group in and out
};

ConvDims dims(const Conv2dShape& s) {
  ConvDims d;
  d.n = s.n; d.c_in = s.c_in; d.h = s.h; d.w = s.w; d.c_out = s.c_out; d.oh = s.out_h(); d.ow = s.out_w();
  d.kh = static_cast<int>(s.kh); d.kw = static_cast<int>(s.kw);
  d.sh = static_cast<int>(s.stride_h); d.sw = static_cast<int>(s.stride_w);
  d.ph = static_cast<int>(s.pad_h); d.pw = static_cast<int>(s.pad_w);
  d.dh = static_cast<int>(s.dil_h); d.dw = static_cast<int>(s.dil_w);
  d.cg = s.c_in / s.groups; d.cog = s.c_out / s.groups;
  return d;
}

// Element loads as float (SIMT) and as raw 16-bit codes (tensor cores).
template <typename T>
__device__ __forceinline__ uint16_t raw16(T v) {
  if constexpr (sizeof(T) == 2) return v;
  else return 0;  // never called for float32 operands
}

// forward A: im2col(x)(m = (n, oh, ow), p = (ci, kh, kw)) of group z.
template <typename T>
struct FwdIm2col {
  const T* x;
  ConvDims d;
  bool k_fast = false;
  __device__ __forceinline__ bool at(int64_t z, int64_t m, int64_t p, int64_t& off) const {
    const int64_t hw = d.oh * d.ow;
    const int64_t n = m / hw, r = m % hw, oh = r / d.ow, ow = r % d.ow;
    const int taps = d.kh * d.kw;
    const int64_t ci = p / taps;
    const int t = static_cast<int>(p % taps), kh = t / d.kw, kw = t % d.kw;
    const int64_t ih = oh * d.sh - d.ph + static_cast<int64_t>(kh) * d.dh;
    const int64_t iw = ow * d.sw - d.pw + static_cast<int64_t>(kw) * d.dw;
    if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return false;
    off = ((n * d.c_in + z * d.cg + ci) * d.h + ih) * d.w + iw;
    return true;
  }
  __device__ __forceinline__ float operator()(int64_t z, int64_t m, int64_t p) const {
    int64_t off;
    return at(z, m, p, off) ? to_float(x[off]) : 0.0f;
  }
  __device__ __forceinline__ uint16_t raw(int64_t z, int64_t m, int64_t p) const {
    int64_t off;
    return at(z, m, p, off) ? raw16(x[off]) : uint16_t{0};
  }
};

// forward B: W_g as (j = co, p = (ci, kh, kw)): row co of group z's weights, k contiguous.
template <typename T>
struct FwdWeight {
  const T* w;
  ConvDims d;
  bool k_fast = true;
  __device__ __forceinline__ int64_t off(int64_t z, int64_t co, int64_t p) const {
    return (z * d.cog + co) * (d.cg * d.kh * d.kw) + p;
  }
  __device__ __forceinline__ float operator()(int64_t z, int64_t co, int64_t p) const { return to_float(w[off(z, co, p)]); }
  __device__ __forceinline__ uint16_t raw(int64_t z, int64_t co, int64_t p) const { return raw16(w[off(z, co, p)]); }
};

// dgrad A: (m = (n, h, w), p = (co, kh, kw)) -> dy[n, z*cog + co, oh, ow] with
// oh = (h + ph - kh*dh) / sh when that is exact and in range (the taps of y that read x[h, w]).
template <typename T>
struct DgradDy {
  const T* dy;
  ConvDims d;
  bool k_fast = false;
  __device__ __forceinline__ bool at(int64_t z, int64_t m, int64_t p, int64_t& off) const {
    const int64_t hw = d.h * d.w;
    const int64_t n = m / hw, r = m % hw, h = r / d.w, w = r % d.w;
    const int taps = d.kh * d.kw;
    const int64_t co = p / taps;
    const int t = static_cast<int>(p % taps), kh = t / d.kw, kw = t % d.kw;
    const int64_t th = h + d.ph - static_cast<int64_t>(kh) * d.dh, tw = w + d.pw - static_cast<int64_t>(kw) * d.dw;
    if (th < 0 || tw < 0 || th % d.sh != 0 || tw % d.sw != 0) return false;
    const int64_t oh = th / d.sh, ow = tw / d.sw;
    if (oh >= d.oh || ow >= d.ow) return false;
    off = ((n * d.c_out + z * d.cog + co) * d.oh + oh) * d.ow + ow;
    return true;
  }
  __device__ __forceinline__ float operator()(int64_t z, int64_t m, int64_t p) const {
    int64_t off;
    return at(z, m, p, off) ? to_float(dy[off]) : 0.0f;
  }
  __device__ __forceinline__ uint16_t raw(int64_t z, int64_t m, int64_t p) const {
    int64_t off;
    return at(z, m, p, off) ? raw16(dy[off]) : uint16_t{0};
  }
};

// dgrad B: (j = ci, p = (co, kh, kw)) -> w[z*cog + co, ci, kh, kw].
template <typename T>
struct DgradWeight {
  const T* w;
  ConvDims d;
  bool k_fast = true;
  __device__ __forceinline__ int64_t off(int64_t z, int64_t ci, int64_t p) const {
    const int taps = d.kh * d.kw;
    const int64_t co = p / taps, t = p % taps;
    return ((z * d.cog + co) * d.cg + ci) * taps + t;
  }
  __device__ __forceinline__ float operator()(int64_t z, int64_t ci, int64_t p) const { return to_float(w[off(z, ci, p)]); }
  __device__ __forceinline__ uint16_t raw(int64_t z, int64_t ci, int64_t p) const { return raw16(w[off(z, ci, p)]); }
};

// wgrad A: (i = co, p = (n, oh, ow)) -> dy[n, z*cog + co, oh, ow] (p's ow is contiguous).
template <typename T>
struct WgradDy {
  const T* dy;
  ConvDims d;
  bool k_fast = true;
  __device__ __forceinline__ int64_t off(int64_t z, int64_t co, int64_t p) const {
    const int64_t hw = d.oh * d.ow, n = p / hw, r = p % hw;
    return (n * d.c_out + z * d.cog + co) * hw + r;
  }
  __device__ __forceinline__ float operator()(int64_t z, int64_t co, int64_t p) const { return to_float(dy[off(z, co, p)]); }
  __device__ __forceinline__ uint16_t raw(int64_t z, int64_t co, int64_t p) const { return raw16(dy[off(z, co, p)]); }
};

// wgrad B: (j = (ci, kh, kw), p = (n, oh, ow)) -> x at the input pixel tap (ci, kh, kw) of
// output pixel (oh, ow) reads (zero in the padding).
template <typename T>
struct WgradX {
  const T* x;
  ConvDims d;
  bool k_fast = true;
  __device__ __forceinline__ bool at(int64_t z, int64_t j, int64_t p, int64_t& off) const {
    const int taps = d.kh * d.kw;
    const int64_t ci = j / taps;
    const int t = static_cast<int>(j % taps), kh = t / d.kw, kw = t % d.kw;
    const int64_t hw = d.oh * d.ow, n = p / hw, r = p % hw, oh = r / d.ow, ow = r % d.ow;
    const int64_t ih = oh * d.sh - d.ph + static_cast<int64_t>(kh) * d.dh;
    const int64_t iw = ow * d.sw - d.pw + static_cast<int64_t>(kw) * d.dw;
    if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return false;
    off = ((n * d.c_in + z * d.cg + ci) * d.h + ih) * d.w + iw;
    return true;
  }
  __device__ __forceinline__ float operator()(int64_t z, int64_t j, int64_t p) const {
    int64_t off;
    return at(z, j, p, off) ? to_float(x[off]) : 0.0f;
  }
  __device__ __forceinline__ uint16_t raw(int64_t z, int64_t j, int64_t p) const {
    int64_t off;
    return at(z, j, p, off) ? raw16(x[off]) : uint16_t{0};
  }
};

// Outputs: C(i, j) of group z to its NCHW place.
struct FwdOut {  // (m = (n, oh, ow), co) -> y, plus the bias
  float* y;
  const float* b;
  ConvDims d;
  __device__ __forceinline__ void operator()(int64_t z, int64_t m, int64_t co, float acc) const {
    const int64_t hw = d.oh * d.ow, n = m / hw, r = m % hw, c = z * d.cog + co;
    y[(n * d.c_out + c) * hw + r] = b ? acc + b[c] : acc;
  }
};
struct DgradOut {  // (m = (n, h, w), ci) -> dx
  float* dx;
  ConvDims d;
  __device__ __forceinline__ void operator()(int64_t z, int64_t m, int64_t ci, float acc) const {
    const int64_t hw = d.h * d.w, n = m / hw, r = m % hw;
    dx[(n * d.c_in + z * d.cg + ci) * hw + r] = acc;
  }
};
struct WgradOut {  // (co, j = (ci, kh, kw)) -> dw
  float* dw;
  ConvDims d;
  __device__ __forceinline__ void operator()(int64_t z, int64_t co, int64_t j, float acc) const {
    dw[(z * d.cog + co) * (d.cg * d.kh * d.kw) + j] = acc;
  }
};

// The tensor-core kernel's gathering loader: each thread stages 16 elements of each operand per
// 32-element k-slice with plain loads and 2-byte shared stores into the swizzled layout the
// mainloop reads (MN-major for row-fast operands, K-major for k-fast ones).
template <bool kKMajor, class Op>
__device__ __forceinline__ void gather_operand(const Op& op, char* smem, int64_t z, int64_t row0, int64_t rows,
                                               int64_t k0, int64_t k, int tid) {
#pragma unroll 4
  for (int s = 0; s < 16; ++s) {
    const int e = tid + tc_cfg::kThreads * s;  // 4096 = 128 rows x 32 k
    int r, p;
    if constexpr (kKMajor) r = e / 32, p = e % 32;
    else p = e / 128, r = e % 128;
    const int64_t gi = row0 + r, gp = k0 + p;
    const uint16_t v = (gi < rows && gp < k) ? op.raw(z, gi, gp) : uint16_t{0};
    const int off = kKMajor ? smem_offset<true>(r, p / 8) + (p % 8) * 2 : smem_offset<false>(p, r / 8) + (r % 8) * 2;
    *reinterpret_cast<uint16_t*>(smem + off) = v;
  }
}

template <class AOp, class BOp, bool kAKMajor, bool kBKMajor>
struct GatherLoader {
  AOp a;
  BOp b;
  int64_t m, n, k;
  __device__ __forceinline__ void operator()(char* sa, char* sb, int64_t z, int64_t m0, int64_t n0, int64_t kb0,
                                             int tid) const {
    gather_operand<kAKMajor>(a, sa, z, m0, m, kb0 / 2, k, tid);
    gather_operand<kBKMajor>(b, sb, z, n0, n, kb0 / 2, k, tid);
  }
};

// An empty GEMM (m or n zero: an empty batch for dgrad, no pixels) launches nothing; k == 0
// (wgrad of an empty batch) still writes the zero sums.
template <bool kAKMajor, bool kBKMajor, class AOp, class BOp, class Out>
cudaError_t run(const AOp& a, const BOp& b, const Out& out, int64_t m, int64_t n, int64_t k, int64_t groups,
                cudaStream_t stream) {
  if (m == 0 || n == 0 || groups == 0) return cudaSuccess;
  GemmShape sh;
  sh.m = m; sh.n = n; sh.k = k; sh.batch = groups;
  GatherLoader<AOp, BOp, kAKMajor, kBKMajor> load{a, b, m, n, k};
  return launch_tc<MmaBf16, kAKMajor, kBKMajor>(load, out, sh, stream);
}

template <class AOp, class BOp, class Out>
cudaError_t run_f32(const AOp& a, const BOp& b, const Out& out, int64_t m, int64_t n, int64_t k, int64_t groups,
                    cudaStream_t stream) {
  if (m == 0 || n == 0 || groups == 0) return cudaSuccess;
  GemmShape sh;
  sh.m = m; sh.n = n; sh.k = k; sh.batch = groups;
  return launch_simt<1>(a, b, out, sh, stream);
}

// db[c] = sum over (n, oh, ow) of dy[n, c, oh, ow]: one block per channel, a fixed-shape tree.
template <typename T>
__global__ void __launch_bounds__(256) bias_grad_kernel(const T* dy, int64_t n, int64_t c_out, int64_t hw, float* db) {
  __shared__ float part[256];
  const int64_t c = blockIdx.x;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < n * hw; i += blockDim.x) s += to_float(dy[((i / hw) * c_out + c) * hw + i % hw]);
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = 128; w > 0; w >>= 1) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[c] = part[0];
}

template <typename T>
cudaError_t forward_typed(const Conv2dShape& s, ConvType type, const T* x, const T* w, const float* b, float* y,
                          cudaStream_t stream) {
  const ConvDims d = dims(s);
  const int64_t m = d.n * d.oh * d.ow, k = d.cg * d.kh * d.kw;
  FwdIm2col<T> a{x, d};
  FwdWeight<T> bw{w, d};
  FwdOut out{y, b, d};
  if constexpr (sizeof(T) == 4) return run_f32(a, bw, out, m, d.cog, k, s.groups, stream);
  else return run<false, true>(a, bw, out, m, d.cog, k, s.groups, stream);
}

template <typename T>
cudaError_t backward_typed(const Conv2dShape& s, ConvType type, const T* dy, const T* x, const T* w, float* dx,
                           float* dw, float* db, cudaStream_t stream) {
  const ConvDims d = dims(s);
  const int64_t taps = static_cast<int64_t>(d.kh) * d.kw;
  if (dx) {
    DgradDy<T> a{dy, d};
    DgradWeight<T> bw{w, d};
    DgradOut out{dx, d};
    const int64_t m = d.n * d.h * d.w, k = d.cog * taps;
    cudaError_t e;
    if constexpr (sizeof(T) == 4) e = run_f32(a, bw, out, m, d.cg, k, s.groups, stream);
    else e = run<false, true>(a, bw, out, m, d.cg, k, s.groups, stream);
    if (e != cudaSuccess) return e;
  }
  if (dw) {
    WgradDy<T> a{dy, d};
    WgradX<T> bx{x, d};
    WgradOut out{dw, d};
    const int64_t k = d.n * d.oh * d.ow;
    cudaError_t e;
    if constexpr (sizeof(T) == 4) e = run_f32(a, bx, out, d.cog, d.cg * taps, k, s.groups, stream);
    else e = run<true, true>(a, bx, out, d.cog, d.cg * taps, k, s.groups, stream);
    if (e != cudaSuccess) return e;
  }
  if (db && d.c_out > 0) {
    bias_grad_kernel<<<static_cast<unsigned>(d.c_out), 256, 0, stream>>>(dy, d.n, d.c_out, d.oh * d.ow, db);
    return cudaGetLastError();
  }
  return cudaSuccess;
}

// The sizes the kernels decode in int32 (kernel taps, strides, paddings, dilations).
bool fits(const Conv2dShape& s) {
  const int64_t lim = INT32_MAX / 4;
  return s.kh * s.kw < lim && s.stride_h < lim && s.stride_w < lim && s.pad_h < lim && s.pad_w < lim &&
         s.dil_h < lim && s.dil_w < lim;
}

}  // namespace

cudaError_t conv2d_forward(const Conv2dShape& s, ConvType type, const void* x, const void* w, const float* b,
                           float* y, cudaStream_t stream) {
  if (s.n == 0 || s.c_out == 0 || s.out_h() * s.out_w() == 0) return cudaSuccess;
  if (!fits(s)) return cudaErrorInvalidValue;
  if (type == ConvType::f32)
    return forward_typed(s, type, static_cast<const float*>(x), static_cast<const float*>(w), b, y, stream);
  return forward_typed(s, type, static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(w), b, y, stream);
}

cudaError_t conv2d_backward(const Conv2dShape& s, ConvType type, const void* dy, const void* x, const void* w,
                            float* dx, float* dw, float* db, cudaStream_t stream) {
  if (!fits(s)) return cudaErrorInvalidValue;
  if (type == ConvType::f32)
    return backward_typed(s, type, static_cast<const float*>(dy), static_cast<const float*>(x),
                          static_cast<const float*>(w), dx, dw, db, stream);
  return backward_typed(s, type, static_cast<const uint16_t*>(dy), static_cast<const uint16_t*>(x),
                        static_cast<const uint16_t*>(w), dx, dw, db, stream);
}

}  // namespace grimoire::cuda
