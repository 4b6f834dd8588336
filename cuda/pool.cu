// 2-D pooling on the GPU (see pool.cuh). Memory-bound: a thread per output (forwards) or per
// input element (average backward) in grid-stride loops over int64 indices; each reproduces the
// CPU's loop order, so results are bit-identical to the CPU core.
#include "pool.cuh"

namespace grimoire::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGrid = 65535 * 8;

unsigned grid_of(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : b < kMaxGrid ? b : kMaxGrid);
}

// The CPU's window of output (i, j) clipped to the image, and the average's divisor (pool.cpp).
struct Window {
  int64_t h0, h1, w0, w1, divisor;
};

__device__ __forceinline__ Window window(const Pool2dShape& s, int64_t i, int64_t j, bool count_include_pad) {
  Window win;
  win.h0 = i * s.stride_h - s.pad_h;
  win.w0 = j * s.stride_w - s.pad_w;
  win.h1 = min(win.h0 + s.kh, s.h + s.pad_h);
  win.w1 = min(win.w0 + s.kw, s.w + s.pad_w);
  const int64_t padded = (win.h1 - win.h0) * (win.w1 - win.w0);
  win.h0 = max(win.h0, int64_t{0});
  win.w0 = max(win.w0, int64_t{0});
  win.h1 = min(win.h1, s.h);
  win.w1 = min(win.w1, s.w);
  win.divisor = count_include_pad ? padded : (win.h1 - win.h0) * (win.w1 - win.w0);
  return win;
}

__global__ void __launch_bounds__(kThreads) max_pool_forward_kernel(Pool2dShape s, const float* x, float* y,
                                                                    int64_t* indices, int64_t OH, int64_t OW) {
  const int64_t total = s.n * s.c * OH * OW;  // OH, OW: s.out_h(), s.out_w() (host functions)
  for (int64_t o = blockIdx.x * int64_t{kThreads} + threadIdx.x; o < total; o += int64_t{gridDim.x} * kThreads) {
    const int64_t plane = o / (OH * OW), i = o / OW % OH, j = o % OW;
    const float* xp = x + plane * s.h * s.w;
    const Window win = window(s, i, j, true);
    float best = -INFINITY;
    int64_t arg = win.h0 * s.w + win.w0;
    for (int64_t ih = win.h0; ih < win.h1; ++ih)
      for (int64_t iw = win.w0; iw < win.w1; ++iw) {
        const float v = xp[ih * s.w + iw];
        if (v > best || isnan(v)) {  // the first maximum; a NaN wins (and the last NaN, as the CPU)
          best = v;
          arg = ih * s.w + iw;
        }
      }
    y[o] = best;
    indices[o] = arg;
  }
}

__global__ void __launch_bounds__(kThreads) avg_pool_forward_kernel(Pool2dShape s, const float* x, float* y,
                                                                    bool count_include_pad, int64_t OH, int64_t OW) {
  const int64_t total = s.n * s.c * OH * OW;  // OH, OW: s.out_h(), s.out_w() (host functions)
  for (int64_t o = blockIdx.x * int64_t{kThreads} + threadIdx.x; o < total; o += int64_t{gridDim.x} * kThreads) {
    const int64_t plane = o / (OH * OW), i = o / OW % OH, j = o % OW;
    const float* xp = x + plane * s.h * s.w;
    const Window win = window(s, i, j, count_include_pad);
    float sum = 0.0f;
    for (int64_t ih = win.h0; ih < win.h1; ++ih)
      for (int64_t iw = win.w0; iw < win.w1; ++iw) sum = __fadd_rn(sum, xp[ih * s.w + iw]);
    y[o] = __fdiv_rn(sum, static_cast<float>(win.divisor));
  }
}

// Outputs whose (unclipped) window start a <= p < a + k for a = o * stride - pad: o in
// [ceil((p + pad - k + 1) / stride), floor((p + pad) / stride)] within [0, out).
__device__ __forceinline__ void covering(int64_t p, int64_t k, int64_t stride, int64_t pad, int64_t out, int64_t& lo,
                                         int64_t& hi) {
  const int64_t num = p + pad - k + 1;
  lo = num <= 0 ? 0 : (num + stride - 1) / stride;
  hi = (p + pad) / stride;
  hi = hi < out - 1 ? hi : out - 1;
}

// dx[ih, iw] = sum over the outputs (i, j) whose clipped window holds (ih, iw), in (i, j) order,
// of dy[i, j] / divisor(i, j): the CPU's scatter, gathered. The clipped window holds (ih, iw)
// exactly when the unclipped one does ((ih, iw) is inside the image), so `covering` finds them.
__global__ void __launch_bounds__(kThreads) avg_pool_backward_kernel(Pool2dShape s, const float* dy, float* dx,
                                                                     bool count_include_pad, int64_t OH, int64_t OW) {
  const int64_t total = s.n * s.c * s.h * s.w;
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < total; e += int64_t{gridDim.x} * kThreads) {
    const int64_t plane = e / (s.h * s.w), ih = e / s.w % s.h, iw = e % s.w;
    const float* dyp = dy + plane * OH * OW;
    int64_t i0, i1, j0, j1;
    covering(ih, s.kh, s.stride_h, s.pad_h, OH, i0, i1);
    covering(iw, s.kw, s.stride_w, s.pad_w, OW, j0, j1);
    float acc = 0.0f;
    for (int64_t i = i0; i <= i1; ++i)
      for (int64_t j = j0; j <= j1; ++j) {
        const Window win = window(s, i, j, count_include_pad);
        // dy / divisor in float32, as the CPU: the float of the double quotient IS the correctly
        // rounded float quotient (53 >= 2 * 24 + 2 bits: double rounding is innocuous for
        // division), and unlike the float division's slow path it needs no call (no stack frame).
        const double q = static_cast<double>(dyp[i * OW + j]) / static_cast<double>(win.divisor);
        acc = __fadd_rn(acc, static_cast<float>(q));
      }
    dx[e] = acc;
  }
}

// One block per plane (grid-stride): the block zeroes dx's plane, then thread 0 routes every dy
// of the plane in output order (the CPU's loop; overlapping windows add in its order).
__global__ void __launch_bounds__(kThreads) max_pool_backward_kernel(int64_t planes, int64_t in_size, int64_t out_size,
                                                                     const float* dy, const int64_t* indices, float* dx,
                                                                     int32_t* bad) {
  for (int64_t pl = blockIdx.x; pl < planes; pl += gridDim.x) {
    float* dxp = dx + pl * in_size;
    for (int64_t k = threadIdx.x; k < in_size; k += kThreads) dxp[k] = 0.0f;
    __syncthreads();  // the zeros are written before thread 0 adds into them
    if (threadIdx.x == 0) {
      const float* dyp = dy + pl * out_size;
      const int64_t* ip = indices + pl * out_size;
      for (int64_t o = 0; o < out_size; ++o) {
        const int64_t k = ip[o];
        if (k < 0 || k >= in_size) {
          *bad = 1;
          continue;
        }
        dxp[k] = __fadd_rn(dxp[k], dyp[o]);
      }
    }
    __syncthreads();  // thread 0 is done with this plane before the block zeroes the next one
  }
}

}  // namespace

cudaError_t max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int64_t* indices, cudaStream_t stream) {
  const int64_t total = s.n * s.c * s.out_h() * s.out_w();
  if (total == 0) return cudaSuccess;
  max_pool_forward_kernel<<<grid_of(total), kThreads, 0, stream>>>(s, x, y, indices, s.out_h(), s.out_w());
  return cudaGetLastError();
}

cudaError_t avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y, bool count_include_pad,
                               cudaStream_t stream) {
  const int64_t total = s.n * s.c * s.out_h() * s.out_w();
  if (total == 0) return cudaSuccess;
  avg_pool_forward_kernel<<<grid_of(total), kThreads, 0, stream>>>(s, x, y, count_include_pad, s.out_h(), s.out_w());
  return cudaGetLastError();
}

cudaError_t avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx, bool count_include_pad,
                                cudaStream_t stream) {
  const int64_t total = s.n * s.c * s.h * s.w;
  if (total == 0) return cudaSuccess;
  avg_pool_backward_kernel<<<grid_of(total), kThreads, 0, stream>>>(s, dy, dx, count_include_pad, s.out_h(), s.out_w());
  return cudaGetLastError();
}

cudaError_t max_pool2d_backward(int64_t planes, int64_t in_size, int64_t out_size, const float* dy,
                                const int64_t* indices, float* dx, int32_t* bad, cudaStream_t stream) {
  cudaError_t e = cudaMemsetAsync(bad, 0, sizeof(int32_t), stream);
  if (e != cudaSuccess || planes == 0 || in_size == 0) return e;
  const unsigned grid = static_cast<unsigned>(planes < kMaxGrid ? planes : kMaxGrid);
  max_pool_backward_kernel<<<grid, kThreads, 0, stream>>>(planes, in_size, out_size, dy, indices, dx, bad);
  return cudaGetLastError();
}

}  // namespace grimoire::cuda
