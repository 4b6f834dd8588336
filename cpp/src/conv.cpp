// 2-D convolution (cross-correlation, NCHW, float32): the scalar reference and the fast driver,
// forward and backward side by side. The fast driver lowers tiles of output pixels onto the
// GEMM (gemm.h) with im2col / col2im; a 1x1 stride-1 unpadded convolution reads the image as
// the GEMM's operand directly. The heavy lifting is the GEMM's microkernel, so this family has
// no SIMD source of its own: its ISA paths are the GEMM's.
#include "grimoire/conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/gemm.h"
#include "grimoire/parallel.h"

namespace grimoire {

// ---------------------------------------------------------------------------------------------
// Reference: the formula of conv.h as plain loops.
// ---------------------------------------------------------------------------------------------

// x (N, C_in, H, W), w (C_out, C_in/G, KH, KW), b (C_out) or null -> y (N, C_out, OH, OW)
void conv2d_forward_reference(const Conv2dShape& s, const float* x, const float* w, const float* b,
                              float* y) {
  const int64_t OH = s.out_h(), OW = s.out_w(), cg = s.c_in / s.groups, og = s.c_out / s.groups;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.c_out; ++o) {
      const int64_t g = o / og;
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          float acc = b ? b[o] : 0.0f;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t p = 0; p < s.kh; ++p) {
              const int64_t ih = i * s.stride_h - s.pad_h + p * s.dil_h;
              if (ih < 0 || ih >= s.h) continue;
              for (int64_t q = 0; q < s.kw; ++q) {
                const int64_t iw = j * s.stride_w - s.pad_w + q * s.dil_w;
                if (iw < 0 || iw >= s.w) continue;
                acc += w[((o * cg + c) * s.kh + p) * s.kw + q] *
                       x[((n * s.c_in + g * cg + c) * s.h + ih) * s.w + iw];
              }
            }
          y[((n * s.c_out + o) * OH + i) * OW + j] = acc;
        }
    }
}

// dy (N, C_out, OH, OW) -> dx (N, C_in, H, W), dw (C_out, C_in/G, KH, KW), db (C_out); each optional
void conv2d_backward_reference(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                               float* dx, float* dw, float* db) {
  const int64_t OH = s.out_h(), OW = s.out_w(), cg = s.c_in / s.groups, og = s.c_out / s.groups;
  if (dx) std::fill(dx, dx + s.n * s.c_in * s.h * s.w, 0.0f);
  if (dw) std::fill(dw, dw + s.c_out * cg * s.kh * s.kw, 0.0f);
  if (db) std::fill(db, db + s.c_out, 0.0f);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.c_out; ++o) {
      const int64_t g = o / og;
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const float d = dy[((n * s.c_out + o) * OH + i) * OW + j];
          if (db) db[o] += d;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t p = 0; p < s.kh; ++p) {
              const int64_t ih = i * s.stride_h - s.pad_h + p * s.dil_h;
              if (ih < 0 || ih >= s.h) continue;
              for (int64_t q = 0; q < s.kw; ++q) {
                const int64_t iw = j * s.stride_w - s.pad_w + q * s.dil_w;
                if (iw < 0 || iw >= s.w) continue;
                const int64_t xi = ((n * s.c_in + g * cg + c) * s.h + ih) * s.w + iw;
                const int64_t wi = ((o * cg + c) * s.kh + p) * s.kw + q;
                if (dw) dw[wi] += d * x[xi];
                if (dx) dx[xi] += d * w[wi];
              }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fast driver: tiles of output pixels onto the GEMM.
// ---------------------------------------------------------------------------------------------
namespace {

// The driver's arithmetic is the GEMM's, so it runs on the GEMM's paths (gemm.cpp registers the
// same three); the GRIMOIRE_ISA limit reaches it through gemm's own isa_for().
const bool registered = (register_family("conv2d", {Isa::scalar, Isa::avx2, Isa::avx512}), true);

// The tiling of one convolution: K = rows of the im2col matrix, P = output pixels per image,
// tile = output pixels per im2col tile (the col buffer is K x tile floats).
struct Plan {
  int64_t cg, og, K, P, OH, OW, tile, tiles;
  bool pointwise;  // 1x1, stride 1, no padding: the image is the im2col matrix
};

// Floats of im2col scratch per thread: a tile of about the size of a core's L2, so the GEMM
// packs it while it is still in cache; but at least kMinTile columns, so the GEMM's n stays
// wide enough for its microkernel, and a whole image when that is at most two such tiles.
// (Measured single-threaded by CPU time on a shared Zen 3: 64ch 56x56 3x3 ran ~2x faster with
// tiles than with whole-image im2col; 256ch 14x14 3x3 ~1.3x faster whole than in 49-column tiles.)
constexpr int64_t kColBudget = 96 * 1024;
constexpr int64_t kMinTile = 256;

Plan make_plan(const Conv2dShape& s) {
  Plan pl;
  pl.cg = s.c_in / s.groups;
  pl.og = s.c_out / s.groups;
  pl.K = pl.cg * s.kh * s.kw;
  pl.OH = s.out_h();
  pl.OW = s.out_w();
  pl.P = pl.OH * pl.OW;
  pl.pointwise = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
  int64_t tile = std::max<int64_t>(kMinTile, kColBudget / std::max<int64_t>(pl.K, 1));
  if (pl.pointwise) tile = std::max<int64_t>(tile, 1024);
  pl.tiles = (pl.P + tile - 1) / tile;
  if (pl.tiles <= 2) pl.tiles = 1;
  // Equal tiles (not full ones and a sliver), rounded up to 16 columns for the microkernel.
  pl.tile = pl.tiles <= 1 ? pl.P : std::min(pl.P, ((pl.P + pl.tiles - 1) / pl.tiles + 15) / 16 * 16);
  pl.tiles = pl.tile == 0 ? 1 : (pl.P + pl.tile - 1) / pl.tile;
  return pl;
}

// Range of output columns ow in [0, OW) whose input column ow*sw + off lies in [0, W).
inline void valid_cols(int64_t off, int64_t sw, int64_t W, int64_t OW, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
  lo = std::min(lo, OW);
  hi = std::min(std::max(hi, lo), OW);
}

// col[r, p - p0] = x_g[c, i*sh - ph + ki*dh, j*sw - pw + kj*dw] for r = (c, ki, kj) and output
// pixels p = i*OW + j in [p0, p1); zero where the window reads padding.
// xg: the group's C_in/G channels of one image (cg, H, W); col: (K, p1 - p0)
void im2col(const Conv2dShape& s, const Plan& pl, const float* xg, int64_t p0, int64_t p1, float* col) {
  const int64_t ld = p1 - p0;
  for (int64_t c = 0; c < pl.cg; ++c) {
    const float* xc = xg + c * s.h * s.w;
    for (int64_t ki = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj) {
        float* row = col + ((c * s.kh + ki) * s.kw + kj) * ld - p0;
        const int64_t off = kj * s.dil_w - s.pad_w;
        int64_t lo, hi;
        valid_cols(off, s.stride_w, s.w, pl.OW, lo, hi);
        for (int64_t p = p0; p < p1;) {
          const int64_t i = p / pl.OW, j0 = p % pl.OW, j1 = std::min(pl.OW, j0 + (p1 - p));
          const int64_t ih = i * s.stride_h - s.pad_h + ki * s.dil_h;
          float* dst = row + i * pl.OW;  // dst[j] is column p = i*OW + j
          if (ih < 0 || ih >= s.h) {
            std::fill(dst + j0, dst + j1, 0.0f);
          } else {
            const float* xr = xc + ih * s.w + off;
            const int64_t a = std::clamp(lo, j0, j1), e = std::clamp(hi, j0, j1);
            std::fill(dst + j0, dst + a, 0.0f);
            if (s.stride_w == 1) {
              std::memcpy(dst + a, xr + a, sizeof(float) * (e - a));
            } else {
              const int64_t sw = s.stride_w;
              for (int64_t j = a; j < e; ++j) dst[j] = xr[j * sw];
            }
            std::fill(dst + e, dst + j1, 0.0f);
          }
          p += j1 - j0;
        }
      }
  }
}

// The adjoint of im2col: dxg[c, ih, iw] += col[r, p - p0] over the same index map.
void col2im(const Conv2dShape& s, const Plan& pl, const float* col, int64_t p0, int64_t p1, float* dxg) {
  const int64_t ld = p1 - p0;
  for (int64_t c = 0; c < pl.cg; ++c) {
    float* dxc = dxg + c * s.h * s.w;
    for (int64_t ki = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj) {
        const float* row = col + ((c * s.kh + ki) * s.kw + kj) * ld - p0;
        const int64_t off = kj * s.dil_w - s.pad_w;
        int64_t lo, hi;
        valid_cols(off, s.stride_w, s.w, pl.OW, lo, hi);
        for (int64_t p = p0; p < p1;) {
          const int64_t i = p / pl.OW, j0 = p % pl.OW, j1 = std::min(pl.OW, j0 + (p1 - p));
          const int64_t ih = i * s.stride_h - s.pad_h + ki * s.dil_h;
          if (ih >= 0 && ih < s.h) {
            const float* src = row + i * pl.OW;
            float* xr = dxc + ih * s.w + off;
            const int64_t a = std::clamp(lo, j0, j1), e = std::clamp(hi, j0, j1);
            const int64_t sw = s.stride_w;
            if (sw == 1) {
              for (int64_t j = a; j < e; ++j) xr[j] += src[j];
            } else {
              for (int64_t j = a; j < e; ++j) xr[j * sw] += src[j];
            }
          }
          p += j1 - j0;
        }
      }
  }
}

// C (m, n) = A (m, k) @ B (k, n) [+ C if accumulate], row-major with leading dimensions; a
// transposed operand is a swap of its strides.
inline void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                  int64_t b_rs, int64_t b_cs, float* c, int64_t ldc, bool accumulate, int threads) {
  GemmParams<float> g;
  g.m = m; g.n = n; g.k = k;
  g.a = a; g.a_row_stride = a_rs; g.a_col_stride = a_cs;
  g.b = b; g.b_row_stride = b_rs; g.b_col_stride = b_cs;
  g.c = c; g.c_row_stride = ldc; g.c_col_stride = 1;
  g.alpha = 1.0f;
  g.beta = accumulate ? 1.0f : 0.0f;
  g.num_threads = threads;
  gemm(g);
}

// Work is split into items that a thread owns: (image, group, tile) for the forward, (image,
// group) for the backward (col2im of two tiles of one image may add to the same input pixel).
// A thread gets at least ~2 MFLOP of items, so that small convolutions stay on one thread (waking
// a team costs more than they do). With fewer items than threads, the items run one after
// another and the GEMM is threaded. body(begin, end, gemm_threads, thread_index).
constexpr int64_t kMinFlopsPerThread = int64_t{1} << 21;

int64_t item_grain(int64_t flops_per_item) {
  return std::max<int64_t>(1, kMinFlopsPerThread / std::max<int64_t>(flops_per_item, 1));
}

// Whether the items are shared among threads (each GEMM on one thread) rather than run in turn.
bool threaded_items(int64_t items, int64_t grain) {
  const int threads = num_threads();
  return threads == 1 || items >= threads || items <= grain;
}

template <typename Body>
void run_items(int64_t items, int64_t grain, Body&& body) {
  if (items <= 0) return;
  if (threaded_items(items, grain)) {
    parallel_for(items, grain, [&](int64_t begin, int64_t end) { body(begin, end, 1, omp_get_thread_num()); });
  } else {
    body(0, items, 0, 0);
  }
}

// Threads parallel_for(items, grain, .) opens when the items are shared.
int item_threads(int64_t items, int64_t grain) {
  const int64_t chunks = std::max<int64_t>(1, items / std::max<int64_t>(grain, 1));
  return static_cast<int>(std::min<int64_t>(num_threads(), chunks));
}

// Depthwise forward, direct: each (image, channel) plane is y = b + sum over taps of w[tap] times
// the shifted input, accumulated row by row.
// x (N, C, H, W), w (C, 1, KH, KW), b (C) or null -> y (N, C, OH, OW)
void depthwise_forward(const Conv2dShape& s, const Plan& pl, const float* x, const float* w, const float* b,
                       float* y) {
  const int64_t HW = s.h * s.w, taps = s.kh * s.kw, sw = s.stride_w;
  parallel_for(s.n * s.c_out, item_grain(2 * pl.P * taps), [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t c = plane % s.c_out;
      const float* xp = x + plane * HW;
      float* yp = y + plane * pl.P;
      std::fill(yp, yp + pl.P, b ? b[c] : 0.0f);
      for (int64_t ki = 0; ki < s.kh; ++ki)
        for (int64_t kj = 0; kj < s.kw; ++kj) {
          const int64_t off = kj * s.dil_w - s.pad_w;
          const float wv = w[c * taps + ki * s.kw + kj];
          int64_t lo, hi;
          valid_cols(off, sw, s.w, pl.OW, lo, hi);
          for (int64_t i = 0; i < pl.OH; ++i) {
            const int64_t ih = i * s.stride_h - s.pad_h + ki * s.dil_h;
            if (ih < 0 || ih >= s.h) continue;
            const float* xr = xp + ih * s.w + off;
            float* yr = yp + i * pl.OW;
            for (int64_t j = lo; j < hi; ++j) yr[j] += wv * xr[j * sw];
          }
        }
    }
  });
}

// Depthwise (groups == C_in == C_out): each channel is a one-filter convolution of its own, a
// GEMM of one row. The backward is direct too: a thread owns whole channels, so dx[n, c] and
// dw[c] have one writer and dw needs no per-thread copies. dx is zero on entry.
// dy (N, C, OH, OW), x (N, C, H, W), w (C, 1, KH, KW) -> dx (N, C, H, W), dw (C, 1, KH, KW)
void depthwise_backward(const Conv2dShape& s, const Plan& pl, const float* dy, const float* x, const float* w,
                        float* dx, float* dw) {
  const int64_t HW = s.h * s.w, taps = s.kh * s.kw, sw = s.stride_w;
  parallel_for(s.c_out, item_grain(4 * s.n * pl.P * taps), [&](int64_t begin, int64_t end) {
    std::vector<float> dwc(static_cast<size_t>(taps));
    for (int64_t c = begin; c < end; ++c) {
      std::fill(dwc.begin(), dwc.end(), 0.0f);
      for (int64_t n = 0; n < s.n; ++n) {
        const float* xp = x + (n * s.c_in + c) * HW;
        const float* dyp = dy + (n * s.c_out + c) * pl.P;
        float* dxp = dx ? dx + (n * s.c_in + c) * HW : nullptr;
        for (int64_t ki = 0; ki < s.kh; ++ki)
          for (int64_t kj = 0; kj < s.kw; ++kj) {
            const int64_t off = kj * s.dil_w - s.pad_w, tap = ki * s.kw + kj;
            const float wv = w[c * taps + tap];
            int64_t lo, hi;
            valid_cols(off, sw, s.w, pl.OW, lo, hi);
            float acc = 0.0f;
            for (int64_t i = 0; i < pl.OH; ++i) {
              const int64_t ih = i * s.stride_h - s.pad_h + ki * s.dil_h;
              if (ih < 0 || ih >= s.h) continue;
              const float* d = dyp + i * pl.OW;
              const float* xr = xp + ih * s.w + off;
              if (dw)
                for (int64_t j = lo; j < hi; ++j) acc += d[j] * xr[j * sw];
              if (dxp) {
                float* gr = dxp + ih * s.w + off;
                for (int64_t j = lo; j < hi; ++j) gr[j * sw] += wv * d[j];
              }
            }
            dwc[tap] += acc;
          }
      }
      if (dw) std::copy(dwc.begin(), dwc.end(), dw + c * taps);
    }
  });
}

}  // namespace

// x (N, C_in, H, W), w (C_out, C_in/G, KH, KW), b (C_out) or null -> y (N, C_out, OH, OW)
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  const Plan pl = make_plan(s);
  if (s.n == 0 || s.c_out == 0 || pl.P == 0) return;
  if (pl.cg == 1 && pl.og == 1) {
    depthwise_forward(s, pl, x, w, b, y);
    return;
  }
  const int64_t per_image = s.groups * pl.tiles;
  const int64_t grain = item_grain(2 * pl.og * pl.K * pl.tile);
  run_items(s.n * per_image, grain, [&](int64_t begin, int64_t end, int gemm_threads, int) {
    std::vector<float> col(pl.pointwise ? 0 : static_cast<size_t>(pl.K * pl.tile));
    for (int64_t it = begin; it < end; ++it) {
      const int64_t n = it / per_image, g = (it / pl.tiles) % s.groups, t = it % pl.tiles;
      const int64_t p0 = t * pl.tile, p1 = std::min(pl.P, p0 + pl.tile);
      const float* xg = x + (n * s.c_in + g * pl.cg) * s.h * s.w;
      const float* wg = w + g * pl.og * pl.K;
      float* yg = y + (n * s.c_out + g * pl.og) * pl.P;
      if (pl.pointwise) {
        sgemm(pl.og, p1 - p0, pl.K, wg, pl.K, 1, xg + p0, pl.P, 1, yg + p0, pl.P, false, gemm_threads);
      } else {
        im2col(s, pl, xg, p0, p1, col.data());
        sgemm(pl.og, p1 - p0, pl.K, wg, pl.K, 1, col.data(), p1 - p0, 1, yg + p0, pl.P, false, gemm_threads);
      }
      if (b)
        for (int64_t o = 0; o < pl.og; ++o) {
          const float bo = b[g * pl.og + o];
          float* yr = yg + o * pl.P;
          for (int64_t p = p0; p < p1; ++p) yr[p] += bo;
        }
    }
  });
}

// dy (N, C_out, OH, OW) -> dx (N, C_in, H, W), dw (C_out, C_in/G, KH, KW), db (C_out); each optional
void conv2d_backward(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db) {
  const Plan pl = make_plan(s);
  const int64_t w_size = s.c_out * pl.K;
  if (dx) std::fill(dx, dx + s.n * s.c_in * s.h * s.w, 0.0f);
  if (dw) std::fill(dw, dw + w_size, 0.0f);
  // db[o] = sum over images and pixels of dy[n, o, :], in double, one output channel per item.
  if (db) {
    parallel_for(s.c_out, 16, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        double acc = 0.0;
        for (int64_t n = 0; n < s.n; ++n) {
          const float* d = dy + (n * s.c_out + o) * pl.P;
          float part = 0.0f;
          for (int64_t p = 0; p < pl.P; ++p) part += d[p];
          acc += part;
        }
        db[o] = static_cast<float>(acc);
      }
    });
  }
  if ((!dx && !dw) || s.n == 0 || pl.P == 0 || s.c_out == 0 || pl.K == 0) return;
  if (pl.cg == 1 && pl.og == 1) {
    depthwise_backward(s, pl, dy, x, w, dx, dw);
    return;
  }

  const int64_t items = s.n * s.groups;
  const int64_t grain = item_grain(4 * pl.og * pl.K * pl.P);
  // dW is a sum over images: each thread sums its images into its own copy, and the copies are
  // added in thread order afterwards (deterministic for a given thread count). Items run in turn
  // (one thread, or threaded GEMMs) accumulate straight into dw.
  const int copies = threaded_items(items, grain) && dw ? item_threads(items, grain) : 0;
  std::vector<float> dw_parts(static_cast<size_t>(copies > 1 ? copies * w_size : 0), 0.0f);
  run_items(items, grain, [&](int64_t begin, int64_t end, int gemm_threads, int thread) {
    float* dw_acc = dw_parts.empty() ? dw : dw_parts.data() + thread * w_size;
    std::vector<float> col(pl.pointwise ? 0 : static_cast<size_t>(pl.K * pl.tile));
    for (int64_t it = begin; it < end; ++it) {
      const int64_t n = it / s.groups, g = it % s.groups;
      const float* xg = x + (n * s.c_in + g * pl.cg) * s.h * s.w;
      float* dxg = dx ? dx + (n * s.c_in + g * pl.cg) * s.h * s.w : nullptr;
      const float* wg = w + g * pl.og * pl.K;
      const float* dyg = dy + (n * s.c_out + g * pl.og) * pl.P;
      float* dwg = dw ? dw_acc + g * pl.og * pl.K : nullptr;
      for (int64_t t = 0; t < pl.tiles; ++t) {
        const int64_t p0 = t * pl.tile, p1 = std::min(pl.P, p0 + pl.tile), ld = p1 - p0;
        if (pl.pointwise) {
          // dW_g (og, cg) += dY_g[:, tile] @ x_g[:, tile]^T ; dx_g[:, tile] = W_g^T @ dY_g[:, tile]
          if (dwg) sgemm(pl.og, pl.K, ld, dyg + p0, pl.P, 1, xg + p0, 1, pl.P, dwg, pl.K, true, gemm_threads);
          if (dxg) sgemm(pl.K, ld, pl.og, wg, 1, pl.K, dyg + p0, pl.P, 1, dxg + p0, pl.P, false, gemm_threads);
          continue;
        }
        // dW_g (og, K) += dY_g[:, tile] (og, ld) @ col^T (ld, K)
        if (dwg) {
          im2col(s, pl, xg, p0, p1, col.data());
          sgemm(pl.og, pl.K, ld, dyg + p0, pl.P, 1, col.data(), 1, ld, dwg, pl.K, true, gemm_threads);
        }
        // dcol (K, ld) = W_g^T (K, og) @ dY_g[:, tile] (og, ld), then scattered into dx
        if (dxg) {
          sgemm(pl.K, ld, pl.og, wg, 1, pl.K, dyg + p0, pl.P, 1, col.data(), ld, false, gemm_threads);
          col2im(s, pl, col.data(), p0, p1, dxg);
        }
      }
    }
  });
  if (!dw_parts.empty()) {
    parallel_for(w_size, 4096, [&](int64_t begin, int64_t end) {
      for (int c = 0; c < copies; ++c) {
        const float* part = dw_parts.data() + c * w_size;
        for (int64_t i = begin; i < end; ++i) dw[i] += part[i];
      }
    });
  }
}

}  // namespace grimoire
