// The norm family's microkernels, one table per ISA (private to cpp/src). The driver (norm.cpp)
// owns threading, chunking and the double-precision merges; a table entry works on one range
// of rows or one contiguous block on the calling thread.
#pragma once

#include <cstdint>

#include "grimoire/norm.h"

namespace grimoire::norm_detail {

struct NormKernels {
  // LayerNorm / RMSNorm, rows [begin, end) of p.
  void (*layer_norm_rows)(const LayerNormParams& p, int64_t begin, int64_t end);
  void (*rms_norm_rows)(const LayerNormParams& p, int64_t begin, int64_t end);
  // Backward rows [begin, end): writes grad_x and adds the rows' grad_y * xhat into dw and
  // grad_y into db (each (dim,), either may be null).
  void (*layer_norm_backward_rows)(const LayerNormBackwardParams& p, int64_t begin, int64_t end, float* dw, float* db);
  void (*rms_norm_backward_rows)(const LayerNormBackwardParams& p, int64_t begin, int64_t end, float* dw);

  // BatchNorm on a contiguous block of len values of one channel (the (N, C, S>1) layout).
  void (*block_mean_m2)(const float* x, int64_t len, float* mean, float* m2);   // two-pass
  void (*block_dot)(const float* dy, const float* x, int64_t len, float mean, float* sum_dy, float* sum_dyx);
  void (*block_affine)(const float* x, float* y, int64_t len, float mean, float scale, float shift);  // (x-mean)*scale+shift
  // out = ka*a + kb*(b - mean) + c
  void (*block_affine2)(const float* a, const float* b, float* out, int64_t len, float ka, float kb, float mean,
                        float c);

  // BatchNorm on a tile of `rows` rows x `cols` columns, row stride ld (the (N, C) layout); per column.
  void (*cols_mean_m2)(const float* x, int64_t rows, int64_t ld, int64_t cols, float* mean, float* m2);
  void (*cols_dot)(const float* dy, const float* x, int64_t rows, int64_t ld, int64_t cols, const float* mean,
                   float* sum_dy, float* sum_dyx);
  void (*rows_affine)(const float* x, float* y, int64_t rows, int64_t ld, int64_t cols, const float* mean,
                      const float* scale, const float* shift);
  void (*rows_affine2)(const float* a, const float* b, float* out, int64_t rows, int64_t ld, int64_t cols,
                       const float* ka, const float* kb, const float* mean, const float* c);
};

extern const NormKernels kernels_avx2;
extern const NormKernels kernels_avx512;

}  // namespace grimoire::norm_detail
