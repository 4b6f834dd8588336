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
// tile = output pixels per im2col tile. A small image (P below kMinCols) is not tiled: `imgs`
// whole images share one im2col matrix, side by side (K x imgs*P), so that one GEMM has enough
// columns; otherwise imgs == 1. The K rows are lowered `cb` input channels (cb*KH*KW rows) at a
// time, so that the col block stays in L2 while the GEMM packs it; the GEMM accumulates over the
// blocks (its own k loop would re-read C per depth block all the same).
struct Plan {
  int64_t cg, og, K, P, OH, OW, tile, tiles, imgs, chunks, cb;
  bool pointwise;  // 1x1, stride 1, no padding: the image is the im2col matrix
  int64_t cols() const { return imgs * tile; }  // columns of the widest im2col matrix
  int64_t col_floats() const { return std::min(K, cb * (K / std::max<int64_t>(cg, 1))) * cols(); }
};

// Floats of im2col scratch per thread: a col block of about the size of a core's L2, so the
// GEMM packs it while it is still in cache (a tile of columns, and channels in blocks of cb); but
// at least kMinTile columns, so the GEMM's n stays wide enough for its microkernel, and a whole
// image when that is at most two such tiles. (Measured single-threaded by CPU time on a shared
// Zen 3: 64ch 56x56 3x3 ran ~2x faster with tiles than with whole-image im2col.)
constexpr int64_t kColBudget = 96 * 1024;
constexpr int64_t kMinTile = 256;
// Columns that images smaller than this are batched up to: each GEMM call repacks the whole
// weight matrix (its A operand) and ends on a partial microkernel panel, which over the 196
// columns of one 14x14 image cost ~10% of the forward; the backward's dW GEMM had k = 196, a
// 192 block and a 4-deep one. (Measured single-threaded by CPU time on Zen 5, 256ch 14x14 3x3:
// 400 and 768 columns within noise of each other, 1200 and whole-batch slower.)
constexpr int64_t kMinCols = 768;
// Channel blocks (the forward, and grad_x where it is not a transposed convolution; grad_w packs
// col^T through the GEMM's packer, unblocked) split a col matrix only past twice the tile budget:
// each block repacks the GEMM's other operand, and splitting the stem's 3 channels (K = 147 over
// 672 columns, just past kColBudget) into 2 + 1 cost its backward ~10% (when grad_w was blocked).
constexpr int64_t kBlockBudget = 2 * kColBudget;

Plan make_plan(const Conv2dShape& s) {
  Plan pl;
  pl.cg = s.c_in / s.groups;
  pl.og = s.c_out / s.groups;
  pl.K = pl.cg * s.kh * s.kw;
  pl.OH = s.out_h();
  pl.OW = s.out_w();
  pl.P = pl.OH * pl.OW;
  pl.pointwise = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
  pl.imgs = 1;
  pl.cb = pl.cg;
  if (!pl.pointwise && pl.P > 0 && pl.P < kMinCols) {
    pl.imgs = std::clamp<int64_t>((kMinCols + pl.P - 1) / pl.P, 1, std::max<int64_t>(s.n, 1));
    pl.chunks = (s.n + pl.imgs - 1) / pl.imgs;
    pl.imgs = pl.chunks == 0 ? 1 : (s.n + pl.chunks - 1) / pl.chunks;  // equal chunks
    pl.tile = pl.P;
    pl.tiles = 1;
  } else {
    pl.chunks = s.n;
    int64_t tile = std::max<int64_t>(kMinTile, kColBudget / std::max<int64_t>(pl.K, 1));
    if (pl.pointwise) tile = std::max<int64_t>(tile, 1024);
    pl.tiles = (pl.P + tile - 1) / tile;
    if (pl.tiles <= 2) pl.tiles = 1;
    // Equal tiles (not full ones and a sliver), rounded up to 16 columns for the microkernel.
    pl.tile = pl.tiles <= 1 ? pl.P : std::min(pl.P, ((pl.P + pl.tiles - 1) / pl.tiles + 15) / 16 * 16);
    pl.tiles = pl.tile == 0 ? 1 : (pl.P + pl.tile - 1) / pl.tile;
  }
  if (!pl.pointwise && pl.cols() > 0 && pl.cg > 0) {
    const int64_t cb = std::clamp<int64_t>(kBlockBudget / (s.kh * s.kw * pl.cols()), 1, pl.cg);
    const int64_t blocks = (pl.cg + cb - 1) / cb;
    pl.cb = (pl.cg + blocks - 1) / blocks;  // equal blocks
  }
  return pl;
}

// Range of output columns ow in [0, OW) whose input column ow*sw + off lies in [0, W).
inline void valid_cols(int64_t off, int64_t sw, int64_t W, int64_t OW, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
  lo = std::min(lo, OW);
  hi = std::min(std::max(hi, lo), OW);
}

// One row r = (c, ki, kj) of the im2col matrix: row[p] = x_c[i*sh - ph + ki*dh, j*sw - pw + kj*dw]
// for output pixels p = i*OW + j in [p0, p1); zero where the window reads padding.
// xc: one input channel of one image (H, W)
void im2col_row(const Conv2dShape& s, const Plan& pl, const float* xc, int64_t ki, int64_t kj, int64_t p0,
                int64_t p1, float* row) {
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

// col[r, p - p0] = im2col_row r over output pixels [p0, p1), for all rows r = (c, ki, kj).
// xg: the group's C_in/G channels of one image (cg, H, W); col: (K, p1 - p0), rows ld apart
void im2col(const Conv2dShape& s, const Plan& pl, const float* xg, int64_t p0, int64_t p1, float* col,
            int64_t ld) {
  for (int64_t c = 0; c < pl.cg; ++c)
    for (int64_t ki = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj)
        im2col_row(s, pl, xg + c * s.h * s.w, ki, kj, p0, p1, col + ((c * s.kh + ki) * s.kw + kj) * ld - p0);
}

// The adjoint of im2col: dxg[c, ih, iw] += col[r, p - p0] over the same index map.
void col2im(const Conv2dShape& s, const Plan& pl, const float* col, int64_t p0, int64_t p1, float* dxg,
            int64_t ld) {
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

// The columns one GEMM covers: output pixels [p0, p1) of images n0 .. n0+nb-1 (p0 = 0, p1 = P
// when nb > 1), side by side: ld = nb * (p1 - p0) columns.
struct Chunk {
  int64_t n0, nb, p0, p1, ld;
  Chunk(const Conv2dShape& s, const Plan& pl, int64_t chunk, int64_t tile) {
    n0 = chunk * pl.imgs;
    nb = std::min(pl.imgs, s.n - n0);
    p0 = tile * pl.tile;
    p1 = std::min(pl.P, p0 + pl.tile);
    ld = nb * (p1 - p0);
  }
};

// Input channels [c0, c0 + cb) of group g lowered for a chunk: col (cb*KH*KW, ld).
void im2col_block(const Conv2dShape& s, const Plan& pl, const Chunk& ck, const float* x, int64_t g, int64_t c0,
                  int64_t cb, float* col) {
  Plan plb = pl;
  plb.cg = cb;
  for (int64_t i = 0; i < ck.nb; ++i)
    im2col(s, plb, x + ((ck.n0 + i) * s.c_in + g * pl.cg + c0) * s.h * s.w, ck.p0, ck.p1,
           col + i * (ck.p1 - ck.p0), ck.ld);
}

// The adjoint: dx[images, channels [c0, c0 + cb) of group g] += col2im(col).
void col2im_block(const Conv2dShape& s, const Plan& pl, const Chunk& ck, const float* col, int64_t g, int64_t c0,
                  int64_t cb, float* dx) {
  Plan plb = pl;
  plb.cg = cb;
  for (int64_t i = 0; i < ck.nb; ++i)
    col2im(s, plb, col + i * (ck.p1 - ck.p0), ck.p0, ck.p1,
           dx + ((ck.n0 + i) * s.c_in + g * pl.cg + c0) * s.h * s.w, ck.ld);
}

// The transposed im2col matrix of a chunk, col^T (ld, K), handed to the GEMM as its op(B) a
// micro-panel at a time (GemmBPacker): dW's GEMM packs it straight from x, so the col matrix is
// never written out and packed again, and all K rows go through one GEMM (one pack of dY) instead
// of one per channel block.
struct ColTPacker {
  const Conv2dShape* s;
  const Plan* pl;
  const Chunk* ck;
  const float* xg;  // the group's channels of image ck->n0

  // out[q * ld + j] = col[j0 + j, q0 + q]: the nr rows are gathered into `rows` (contiguous runs
  // of x), then written out transposed, a block of pixels at a time so both sides stay in L1.
  static void pack(const void* ctx, int64_t q0, int64_t kc, int64_t j0, int64_t nr, int64_t ld, float* out) {
    const ColTPacker& t = *static_cast<const ColTPacker*>(ctx);
    const Conv2dShape& s = *t.s;
    const int64_t taps = s.kh * s.kw, tw = t.ck->p1 - t.ck->p0;
    thread_local std::vector<float> rows;
    rows.resize(static_cast<size_t>(nr * kc));
    for (int64_t j = 0; j < nr; ++j) {
      const int64_t r = j0 + j, c = r / taps, ki = (r % taps) / s.kw, kj = r % s.kw;
      for (int64_t q = q0; q < q0 + kc;) {  // runs of pixels of one image
        const int64_t img = q / tw, pa = t.ck->p0 + q % tw, pb = std::min(t.ck->p1, pa + (q0 + kc - q));
        im2col_row(s, *t.pl, t.xg + (img * s.c_in + c) * s.h * s.w, ki, kj, pa, pb,
                   rows.data() + j * kc + (q - q0) - pa);
        q += pb - pa;
      }
    }
    // A full panel of the GEMM's widths (NR 32 on AVX-512, 16 on AVX2) goes through a loop of
    // compile-time width, its row streams unrolled (256ch 14x14 grad_w, Zen 5 avx512, 1 thread:
    // ~45.6 -> ~44.4 ms CPU time, within the noise of a loaded machine).
    if (nr == ld && ld == 32) return transpose<32>(rows.data(), kc, out);
    if (nr == ld && ld == 16) return transpose<16>(rows.data(), kc, out);
    for (int64_t q = 0; q < kc; ++q) {
      float* o = out + q * ld;
      for (int64_t j = 0; j < nr; ++j) o[j] = rows[static_cast<size_t>(j * kc + q)];
      for (int64_t j = nr; j < ld; ++j) o[j] = 0.0f;
    }
  }

  // out[q * W + j] = rows[j * kc + q]
  template <int W>
  static void transpose(const float* rows, int64_t kc, float* out) {
    const float* r[W];
    for (int j = 0; j < W; ++j) r[j] = rows + j * kc;
    for (int64_t q = 0; q < kc; ++q) {
#pragma GCC unroll 32
      for (int j = 0; j < W; ++j) out[q * W + j] = r[j][q];
    }
  }
};

// rows (og, nb*P) <- the group-g channels of images n0 .. n0+nb-1 of an (N, C_out, P) array.
void gather_images(const Conv2dShape& s, const Plan& pl, const float* a, const Chunk& ck, int64_t g, float* rows) {
  for (int64_t o = 0; o < pl.og; ++o)
    for (int64_t i = 0; i < ck.nb; ++i)
      std::memcpy(rows + o * ck.ld + i * pl.P, a + ((ck.n0 + i) * s.c_out + g * pl.og + o) * pl.P,
                  sizeof(float) * pl.P);
}

// The other way, adding b[o] (b may be null): a[images, group-g channels] = rows + b.
void scatter_images(const Conv2dShape& s, const Plan& pl, const float* rows, const float* b, const Chunk& ck,
                    int64_t g, float* a) {
  for (int64_t o = 0; o < pl.og; ++o) {
    const float bo = b ? b[g * pl.og + o] : 0.0f;
    for (int64_t i = 0; i < ck.nb; ++i) {
      const float* src = rows + o * ck.ld + i * pl.P;
      float* dst = a + ((ck.n0 + i) * s.c_out + g * pl.og + o) * pl.P;
      for (int64_t p = 0; p < pl.P; ++p) dst[p] = src[p] + bo;
    }
  }
}

}  // namespace

// dx as the transposed convolution, for stride 1: dx[n, c, ih, iw] = sum over o, p, q of
// w[o, c, p, q] * dy[n, o, ih + ph - p*dh, iw + pw - q*dw], a forward convolution of dy with the
// kernel flipped and its channel axes swapped, w'[c, o, KH-1-p, KW-1-q] (per group), padding
// d*(k-1) - pad, same dilation. It runs on the forward's blocked GEMMs and writes dx once,
// where col2im scatters every dcol element back with an add (measured single-threaded by CPU
// time on Zen 5, 256ch 14x14 3x3 batch 32: grad_x alone 47 -> 44 ms). False where it does not apply
// (stride > 1, or padding beyond the dilated kernel), dx then untouched.
bool transposed_dgrad(const Conv2dShape& s, const Plan& pl, const float* dy, const float* w, float* dx);

// x (N, C_in, H, W), w (C_out, C_in/G, KH, KW), b (C_out) or null -> y (N, C_out, OH, OW)
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  const Plan pl = make_plan(s);
  if (s.n == 0 || s.c_out == 0 || pl.P == 0) return;
  if (pl.cg == 1 && pl.og == 1) {
    depthwise_forward(s, pl, x, w, b, y);
    return;
  }
  // Items: (chunk of images, group, tile); a chunk is one image unless the images are small.
  const int64_t per_chunk = s.groups * pl.tiles, taps = s.kh * s.kw;
  const int64_t grain = item_grain(2 * pl.og * pl.K * pl.cols());
  run_items(pl.chunks * per_chunk, grain, [&](int64_t begin, int64_t end, int gemm_threads, int) {
    std::vector<float> col(pl.pointwise ? 0 : static_cast<size_t>(pl.col_floats()));
    std::vector<float> rows(pl.imgs > 1 ? static_cast<size_t>(pl.og * pl.cols()) : 0);
    for (int64_t it = begin; it < end; ++it) {
      const int64_t g = (it / pl.tiles) % s.groups;
      const Chunk ck(s, pl, it / per_chunk, it % pl.tiles);
      const float* wg = w + g * pl.og * pl.K;
      // Several images go through `rows` (og, ld) and are copied out with the bias added.
      float* yg = y + (ck.n0 * s.c_out + g * pl.og) * pl.P;
      float* out = pl.imgs > 1 ? rows.data() : yg + ck.p0;
      const int64_t ldo = pl.imgs > 1 ? ck.ld : pl.P;
      if (pl.pointwise) {
        sgemm(pl.og, ck.ld, pl.K, wg, pl.K, 1, x + (ck.n0 * s.c_in + g * pl.cg) * s.h * s.w + ck.p0, pl.P, 1, out,
              ldo, false, gemm_threads);
      } else {
        for (int64_t c0 = 0; c0 < pl.cg; c0 += pl.cb) {  // y (+)= W_g[:, block] @ col_block
          const int64_t cb = std::min(pl.cb, pl.cg - c0);
          im2col_block(s, pl, ck, x, g, c0, cb, col.data());
          sgemm(pl.og, ck.ld, cb * taps, wg + c0 * taps, pl.K, 1, col.data(), ck.ld, 1, out, ldo, c0 > 0,
                gemm_threads);
        }
      }
      if (pl.imgs > 1) {
        scatter_images(s, pl, rows.data(), b, ck, g, y);
      } else if (b) {
        for (int64_t o = 0; o < pl.og; ++o) {
          const float bo = b[g * pl.og + o];
          float* yr = yg + o * pl.P;
          for (int64_t p = ck.p0; p < ck.p1; ++p) yr[p] += bo;
        }
      }
    }
  });
}

bool transposed_dgrad(const Conv2dShape& s, const Plan& pl, const float* dy, const float* w, float* dx) {
  Conv2dShape t = s;
  t.c_in = s.c_out; t.h = pl.OH; t.w = pl.OW;
  t.c_out = s.c_in;
  t.pad_h = s.dil_h * (s.kh - 1) - s.pad_h;
  t.pad_w = s.dil_w * (s.kw - 1) - s.pad_w;
  if (s.stride_h != 1 || s.stride_w != 1 || t.pad_h < 0 || t.pad_w < 0 || pl.pointwise) return false;
  const int64_t taps = s.kh * s.kw;
  std::vector<float> wt(static_cast<size_t>(s.c_out * pl.K));  // (C_in, C_out/G, KH, KW)
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t o = 0; o < pl.og; ++o)
      for (int64_t c = 0; c < pl.cg; ++c) {
        const float* src = w + ((g * pl.og + o) * pl.cg + c) * taps;
        float* dst = wt.data() + ((g * pl.cg + c) * pl.og + o) * taps;
        for (int64_t r = 0; r < taps; ++r) dst[r] = src[taps - 1 - r];
      }
  conv2d_forward(t, dy, wt.data(), nullptr, dx);
  return true;
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
  if (dx && transposed_dgrad(s, pl, dy, w, dx)) dx = nullptr;  // done: what is left is dW
  if (!dx && !dw) return;  // (dx alone at stride > 1 still needs the col2im pass below)

  // Items: (chunk of images, group); a chunk is one image unless the images are small.
  const int64_t items = pl.chunks * s.groups;
  const int64_t grain = item_grain(4 * pl.og * pl.K * pl.P * pl.imgs);
  // dW is a sum over images: each thread sums its images into its own copy, and the copies are
  // added in thread order afterwards (deterministic for a given thread count). Items run in turn
  // (one thread, or threaded GEMMs) accumulate straight into dw.
  const int copies = threaded_items(items, grain) && dw ? item_threads(items, grain) : 0;
  std::vector<float> dw_parts(static_cast<size_t>(copies > 1 ? copies * w_size : 0), 0.0f);
  const int64_t taps = s.kh * s.kw;
  run_items(items, grain, [&](int64_t begin, int64_t end, int gemm_threads, int thread) {
    float* dw_acc = dw_parts.empty() ? dw : dw_parts.data() + thread * w_size;
    std::vector<float> col(pl.pointwise || !dx ? 0 : static_cast<size_t>(pl.col_floats()));
    std::vector<float> rows(pl.imgs > 1 ? static_cast<size_t>(pl.og * pl.cols()) : 0);
    for (int64_t it = begin; it < end; ++it) {
      const int64_t g = it % s.groups;
      const float* wg = w + g * pl.og * pl.K;
      float* dwg = dw ? dw_acc + g * pl.og * pl.K : nullptr;
      for (int64_t t = 0; t < pl.tiles; ++t) {
        const Chunk ck(s, pl, it / s.groups, t);
        // dY of the chunk (og, ld): in place for one image, gathered into `rows` for several.
        const float* dyg = dy + (ck.n0 * s.c_out + g * pl.og) * pl.P + ck.p0;
        if (pl.imgs > 1) gather_images(s, pl, dy, ck, g, rows.data());
        const float* dyc = pl.imgs > 1 ? rows.data() : dyg;
        const int64_t lddy = pl.imgs > 1 ? ck.ld : pl.P;
        if (pl.pointwise) {
          // dW_g (og, cg) += dY_g[:, tile] @ x_g[:, tile]^T ; dx_g[:, tile] = W_g^T @ dY_g[:, tile]
          const int64_t xo = (ck.n0 * s.c_in + g * pl.cg) * s.h * s.w + ck.p0;
          if (dwg) sgemm(pl.og, pl.K, ck.ld, dyc, lddy, 1, x + xo, 1, pl.P, dwg, pl.K, true, gemm_threads);
          if (dx) sgemm(pl.K, ck.ld, pl.og, wg, 1, pl.K, dyc, lddy, 1, dx + xo, pl.P, false, gemm_threads);
          continue;
        }
        // dW_g (og, K) += dY (og, ld) @ col^T (ld, K), col^T gathered by the GEMM's packing
        if (dwg) {
          const ColTPacker src{&s, &pl, &ck, x + (ck.n0 * s.c_in + g * pl.cg) * s.h * s.w};
          GemmParams<float> gp;
          gp.m = pl.og; gp.n = pl.K; gp.k = ck.ld;
          gp.a = dyc; gp.a_row_stride = lddy; gp.a_col_stride = 1;
          gp.c = dwg; gp.c_row_stride = pl.K; gp.c_col_stride = 1;
          gp.beta = 1.0f;
          gp.num_threads = gemm_threads;
          gemm(gp, GemmBPacker<float>{&ColTPacker::pack, &src});
        }
        for (int64_t c0 = 0; dx && c0 < pl.cg; c0 += pl.cb) {
          const int64_t cb = std::min(pl.cb, pl.cg - c0), kb = cb * taps;
          // dcol_block (kb, ld) = W_g[:, block]^T (kb, og) @ dY (og, ld), then scattered into dx
          sgemm(kb, ck.ld, pl.og, wg + c0 * taps, 1, pl.K, dyc, lddy, 1, col.data(), ck.ld, false, gemm_threads);
          col2im_block(s, pl, ck, col.data(), g, c0, cb, dx);
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
