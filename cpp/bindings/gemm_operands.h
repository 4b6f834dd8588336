// The operands of a GEMM call as both bindings see them (grimoire._core on host arrays,
// grimoire._cuda on device arrays): one place decides shapes, transposes, batch broadcasting and
// the error messages, so the two devices accept and refuse exactly the same calls.
#pragma once

#include <algorithm>
#include <string>

#include "checks.h"

namespace grimoire::bind {

// (batch, rows, cols) of an operand, with element strides; a 2-D operand has batch 1 and batch
// stride 0 so it broadcasts.
template <typename T>
struct Operand {
  const T* data;
  int64_t batch, rows, cols, batch_stride, row_stride, col_stride;
};

template <typename T>
inline Operand<T> operand(const Strided<T>& v, bool transpose) {
  Operand<T> o{v.data, 1, 0, 0, 0, 0, 0};
  const int off = v.ndim() == 3 ? 1 : 0;
  if (off) {
    o.batch = v.shape[0];
    o.batch_stride = v.shape[0] == 1 ? 0 : v.strides[0];
  }
  o.rows = v.shape[off];
  o.cols = v.shape[off + 1];
  o.row_stride = v.strides[off];
  o.col_stride = v.strides[off + 1];
  if (transpose) {
    std::swap(o.rows, o.cols);
    std::swap(o.row_stride, o.col_stride);
  }
  return o;
}

// A 1-D operand as NumPy's matmul promotes it: a row (1, k) on the left, a column (k, 1) on the right.
template <typename T>
inline Operand<T> vector_operand(const Strided<T>& v, bool left) {
  const int64_t len = v.shape[0], stride = v.strides[0];
  if (left) return Operand<T>{v.data, 1, 1, len, 0, 0, stride};
  return Operand<T>{v.data, 1, len, 1, 0, stride, 0};
}

inline void check_inner(int64_t a_cols, int64_t b_rows, const std::string& a_desc, const std::string& b_desc) {
  if (a_cols != b_rows)
    throw py::value_error("inner dimensions differ: " + a_desc + ", " + b_desc +
                          " (a's columns must equal b's rows)");
}

inline int64_t common_batch(int64_t a_batch, int64_t b_batch) {
  if (a_batch != b_batch && a_batch != 1 && b_batch != 1)
    throw py::value_error("batch sizes differ: a has " + std::to_string(a_batch) + ", b has " +
                          std::to_string(b_batch) + " (they must match, or one must be 1 or 2-D)");
  return std::max(a_batch, b_batch);
}

}  // namespace grimoire::bind
