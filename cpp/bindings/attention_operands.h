// The argument logic both attention bindings share (grimoire._core and grimoire._cuda): shapes of
// q, k, v, the default scale, the mask's rank and dtype message, strides for the params struct.
// One place, so the CPU and the GPU refuse the same call with the same message.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "checks.h"
#include "grimoire/attention.h"

namespace grimoire::bind {

// q (batch, heads, q_len, d); k, v (batch, kv_heads, k_len, d) with heads % kv_heads == 0.
template <typename T>
void check_attention_shapes(const Strided<T>& q, const Strided<T>& k, const Strided<T>& v) {
  require_same_shape(v.shape, k.shape, "v", "k");
  if (k.shape[0] != q.shape[0])
    throw py::value_error("k must have the batch size of q (" + std::to_string(q.shape[0]) + "), got " +
                          std::to_string(k.shape[0]) + " (k has shape " + shape_str(k.shape) + ")");
  if (k.shape[3] != q.shape[3])
    throw py::value_error("k must have the head_dim of q (" + std::to_string(q.shape[3]) + "), got " +
                          std::to_string(k.shape[3]) + " (k has shape " + shape_str(k.shape) + ")");
  if (k.shape[1] < 1 || q.shape[1] % k.shape[1] != 0)
    throw py::value_error("the heads of q (" + std::to_string(q.shape[1]) + ") must be a multiple of the kv_heads of k (" +
                          std::to_string(k.shape[1]) + ") for grouped-query attention");
  const int64_t d = q.shape[3];
  if (d < 1 || d > kAttentionMaxHeadDim)
    throw py::value_error("head_dim must be in [1, " + std::to_string(kAttentionMaxHeadDim) + "], got " +
                          std::to_string(d));
}

// scale=None is 1 / sqrt(head_dim); a given scale must be finite.
inline float attention_scale(const py::object& scale, int64_t head_dim) {
  if (scale.is_none()) return static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  if (!py::isinstance<py::float_>(scale) && !py::isinstance<py::int_>(scale))
    throw py::type_error("scale must be None or a number, got " +
                         py::str(py::type::of(scale).attr("__name__")).cast<std::string>());
  return checked_scalar(scale.cast<double>(), "scale");  // as the float32 the kernel uses: 1e39 is inf
}

inline void check_mask_ndim(const std::vector<int64_t>& mask_shape, const std::vector<int64_t>& target) {
  if (mask_shape.size() < 2 || mask_shape.size() > 4)
    throw py::value_error("mask must have 2 to 4 dimensions, broadcastable to (batch, heads, q_len, k_len) " +
                          shape_str(target) + ", got shape " + shape_str(mask_shape));
}

inline std::string mask_dtype_error(const std::string& got) {
  return "mask must have dtype float32 (added to the scores) or bool (True = attend), got " + got;
}

// (batch, head, row) element strides of a view, 0 on a size-1 dimension.
template <typename T>
void set_attention_strides(int64_t* dst, const Strided<T>& v) {
  for (int i = 0; i < 3; ++i) dst[i] = v.shape[i] == 1 ? 0 : v.strides[i];
}

}  // namespace grimoire::bind
