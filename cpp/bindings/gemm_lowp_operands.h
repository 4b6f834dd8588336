// The shapes of the low-precision GEMM calls (gemm_int8, linear_int8, gemm_fp8, gemm_bf16) as both
// bindings see them (grimoire._core on host arrays, grimoire._cuda on device arrays): one place
// for the shape rules and their messages.
#pragma once

#include <string>
#include <vector>

#include "checks.h"

namespace grimoire::bind {

// op(B) of gemm_int8 as (k, n) element strides: b is (k, n), or (n, k) with trans_b.
struct Int8GemmShape {
  int64_t m, n, k, b_row_stride, b_col_stride;
};

template <typename T>
Int8GemmShape int8_gemm_shape(const Strided<T>& a, const Strided<T>& b, bool trans_b) {
  Int8GemmShape s{a.shape[0], 0, a.shape[1], 0, 0};
  if (trans_b) {  // b is (n, k)
    s.n = b.shape[0];
    s.b_row_stride = b.strides[1];
    s.b_col_stride = b.strides[0];
    if (b.shape[1] != s.k)
      throw py::value_error("inner dimensions differ: a is " + shape_str(a.shape) + ", b (trans_b, (n, k)) is " +
                            shape_str(b.shape) + " (a's columns must equal b's columns)");
  } else {
    s.n = b.shape[1];
    s.b_row_stride = b.strides[0];
    s.b_col_stride = b.strides[1];
    if (b.shape[0] != s.k)
      throw py::value_error("inner dimensions differ: a is " + shape_str(a.shape) + ", b is " + shape_str(b.shape) +
                            " (a's columns must equal b's rows)");
  }
  return s;
}

// (m, k) @ (k, n) of gemm_fp8 / gemm_bf16.
inline void lowp_inner(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a[1] != b[0])
    throw py::value_error("inner dimensions differ: a is " + shape_str(a) + ", b is " + shape_str(b) +
                          " (a's columns must equal b's rows)");
}

// linear_int8: x (m, k), w_q (n, k), w_scale (n,), bias (n,) or absent.
inline void linear_int8_shapes(const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                               const std::vector<int64_t>& w_scale) {
  if (w[1] != x[1])
    throw py::value_error("w_q must be (out_features, in_features) = (n, " + std::to_string(x[1]) +
                          ") to match x " + shape_str(x) + ", got " + shape_str(w));
  require_same_shape(w_scale, {w[0]}, "w_scale", "w_q's rows");
}

}  // namespace grimoire::bind
