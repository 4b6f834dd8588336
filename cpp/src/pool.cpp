// 2-D max and average pooling, forward and backward side by side. Each (image, channel) plane is
// independent, so the planes are shared among threads; within a plane the loops are the formula.
// Pooling reads each input once and does a comparison or an add per read: it is bound by memory.
// The forward passes and the average's backward run per-ISA kernels (pool_avx2.cpp /
// pool_avx512.cpp, from pool_simd.h) over a PoolPlan of per-output window positions built once per
// call; these plain loops are the reference (GRIMOIRE_ISA=scalar), the path for planes too large
// for int32 positions, and the max's backward (a scatter to the argmax, bound by memory).
#include "grimoire/pool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"
#include "pool_kernels.h"

namespace grimoire {

namespace {

using pool_detail::PoolKernels;
using pool_detail::PoolPlan;

const std::vector<Isa> kPaths = {Isa::scalar, Isa::avx2, Isa::avx512};
const bool registered = (register_family("pool", kPaths), true);

// The kernel table for this call, or null for the scalar reference.
const PoolKernels* simd_kernels() {
  switch (isa_for(kPaths)) {
    case Isa::avx512: return &pool_detail::kernels_avx512;
    case Isa::avx2: return &pool_detail::kernels_avx2;
    default: return nullptr;
  }
}

// Planes per thread chunk: enough input elements that a small problem stays on one thread.
int64_t plane_grain(const Pool2dShape& s) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, s.h * s.w));
}

// The window of output (i, j) clipped to the image: rows [h0, h1), columns [w0, w1); and the
// divisor of the average.
struct Window {
  int64_t h0, h1, w0, w1;
  double divisor;  // in double: a window of (2^32)^2 cells overflows int64
};

inline Window window(const Pool2dShape& s, int64_t i, int64_t j, bool count_include_pad) {
  Window win;
  win.h0 = i * s.stride_h - s.pad_h;
  win.w0 = j * s.stride_w - s.pad_w;
  win.h1 = std::min(win.h0 + s.kh, s.h + s.pad_h);
  win.w1 = std::min(win.w0 + s.kw, s.w + s.pad_w);
  const double padded = static_cast<double>(win.h1 - win.h0) * static_cast<double>(win.w1 - win.w0);
  win.h0 = std::max<int64_t>(win.h0, 0);
  win.w0 = std::max<int64_t>(win.w0, 0);
  win.h1 = std::min(win.h1, s.h);
  win.w1 = std::min(win.w1, s.w);
  win.divisor = count_include_pad ? padded : static_cast<double>(win.h1 - win.h0) * static_cast<double>(win.w1 - win.w0);
  return win;
}

// The arrays behind a PoolPlan (see pool_kernels.h), padded by a vector of 16: a block may start
// at any output and load a whole vector.
struct PlanArrays {
  std::vector<int32_t> corner, row0, col0, first;
  std::vector<float> divisor;
  PoolPlan plan;
};

// Whether the kernels' int32 positions and float divisors are exact for s.
bool plan_fits(const Pool2dShape& s) {
  constexpr int64_t kInt32 = int64_t{1} << 31;
  constexpr int64_t kTaps = int64_t{1} << 24;  // the window's offsets are looped over: a bounded count
  // Each product is formed only once its factors are known small, so none can overflow (the
  // reliability tests pass kernels of 2^32 + 2 and 2^62, which the scalar path handles).
  const int64_t oh = s.out_h(), ow = s.out_w();
  return s.h < kInt32 && s.w < kInt32 && s.h * s.w < kInt32 && oh < kInt32 && ow < kInt32 && oh * ow < kInt32 &&
         s.kh <= kTaps && s.kw <= kTaps && s.kh * s.kw <= kTaps;
}

void build_plan(const Pool2dShape& s, bool avg, bool count_include_pad, PlanArrays& a) {
  const int64_t OH = s.out_h(), OW = s.out_w(), outs = OH * OW, len = outs + 16;
  a.corner.assign(len, 0);
  a.row0.assign(len, 0);
  a.col0.assign(len, 0);
  a.first.assign(len, 0);
  a.divisor.assign(avg ? len : 0, 1.0f);
  for (int64_t i = 0, o = 0; i < OH; ++i)
    for (int64_t j = 0; j < OW; ++j, ++o) {
      const Window win = window(s, i, j, count_include_pad);
      a.row0[o] = static_cast<int32_t>(i * s.stride_h - s.pad_h);
      a.col0[o] = static_cast<int32_t>(j * s.stride_w - s.pad_w);
      a.corner[o] = static_cast<int32_t>(a.row0[o] * s.w + a.col0[o]);
      a.first[o] = static_cast<int32_t>(win.h0 * s.w + win.w0);
      if (avg) a.divisor[o] = static_cast<float>(win.divisor);
    }
  a.plan = {&s, outs, a.corner.data(), a.row0.data(), a.col0.data(), a.first.data(),
            avg ? a.divisor.data() : nullptr, s.pad_h > 0 || s.pad_w > 0};
}

}  // namespace

// x (N, C, H, W) -> y (N, C, OH, OW), indices (N, C, OH, OW)
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int64_t* indices) {
  const int64_t OH = s.out_h(), OW = s.out_w(), HW = s.h * s.w;
  if (const PoolKernels* k = simd_kernels(); k && plan_fits(s)) {
    PlanArrays a;
    build_plan(s, false, true, a);
    parallel_for(s.n * s.c, plane_grain(s), [&](int64_t begin, int64_t end) {
      k->max_planes(a.plan, x, y, indices, begin, end);
    });
    return;
  }
  parallel_for(s.n * s.c, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * HW;
      float* yp = y + pl * OH * OW;
      int64_t* ip = indices + pl * OH * OW;
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const Window win = window(s, i, j, true);
          float best = -std::numeric_limits<float>::infinity();
          int64_t arg = win.h0 * s.w + win.w0;
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) {
              const float v = xp[ih * s.w + iw];
              if (v > best || std::isnan(v)) {
                best = v;
                arg = ih * s.w + iw;
              }
            }
          yp[i * OW + j] = best;
          ip[i * OW + j] = arg;
        }
    }
  });
}

// dy (planes, OH*OW), indices (planes, OH*OW) -> dx (planes, H*W)
bool max_pool2d_backward(int64_t planes, int64_t in_size, int64_t out_size, const float* dy,
                         const int64_t* indices, float* dx) {
  const int64_t OP = out_size, HW = in_size;
  std::atomic<bool> ok{true};
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, HW));
  parallel_for(planes, grain, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      float* dxp = dx + pl * HW;
      const float* dyp = dy + pl * OP;
      const int64_t* ip = indices + pl * OP;
      std::fill(dxp, dxp + HW, 0.0f);
      for (int64_t o = 0; o < OP; ++o) {
        const int64_t k = ip[o];
        if (k < 0 || k >= HW) {
          ok.store(false, std::memory_order_relaxed);
          continue;
        }
        dxp[k] += dyp[o];
      }
    }
  });
  return ok.load();
}

// x (N, C, H, W) -> y (N, C, OH, OW)
void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y, bool count_include_pad) {
  const int64_t OH = s.out_h(), OW = s.out_w(), HW = s.h * s.w;
  if (const PoolKernels* k = simd_kernels(); k && plan_fits(s)) {
    PlanArrays a;
    build_plan(s, true, count_include_pad, a);
    parallel_for(s.n * s.c, plane_grain(s), [&](int64_t begin, int64_t end) {
      k->avg_planes(a.plan, x, y, begin, end);
    });
    return;
  }
  parallel_for(s.n * s.c, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * HW;
      float* yp = y + pl * OH * OW;
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const Window win = window(s, i, j, count_include_pad);
          float sum = 0.0f;
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) sum += xp[ih * s.w + iw];
          yp[i * OW + j] = static_cast<float>(static_cast<double>(sum) / win.divisor);
        }
    }
  });
}

// dy (N, C, OH, OW) -> dx (N, C, H, W)
void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx, bool count_include_pad) {
  const int64_t OH = s.out_h(), OW = s.out_w(), HW = s.h * s.w;
  if (const PoolKernels* k = simd_kernels(); k && plan_fits(s)) {
    PlanArrays a;
    build_plan(s, true, count_include_pad, a);
    parallel_for(s.n * s.c, plane_grain(s), [&](int64_t begin, int64_t end) {
      std::vector<float> scratch(OW);
      k->avg_backward_planes(a.plan, dy, dx, scratch.data(), begin, end);
    });
    return;
  }
  parallel_for(s.n * s.c, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      float* dxp = dx + pl * HW;
      const float* dyp = dy + pl * OH * OW;
      std::fill(dxp, dxp + HW, 0.0f);
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const Window win = window(s, i, j, count_include_pad);
          const float g = static_cast<float>(static_cast<double>(dyp[i * OW + j]) / win.divisor);
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) dxp[ih * s.w + iw] += g;
        }
    }
  });
}

}  // namespace grimoire
