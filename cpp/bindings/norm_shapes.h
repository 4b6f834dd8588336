// The norm family's shape checks, shared by the CPU binding (cpp/bindings/norm.cpp) and the
// CUDA binding (cuda/bindings/norm.cpp): both see their arrays as Strided<float> views, so one
// function gives one message for the same bad call on either device.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "checks.h"

namespace grimoire::bind {

inline std::vector<int64_t> leading_axes(const std::vector<int64_t>& shape) { return {shape.begin(), shape.end() - 1}; }

// x (..., dim) with dim >= 1: the (rows, dim) view every row-norm kernel sees.
inline std::pair<int64_t, int64_t> norm_rows_dim(const Strided<float>& x, const char* name) {
  require_view_ndim(x, name, 1, 64);
  const int64_t dim = x.shape.back();
  if (dim == 0) throw py::value_error(std::string(name) + "'s last axis (the normalised one) must not be empty");
  return {x.size() / dim, dim};
}

// An `out=` array for y: x's shape, not overlapping x, nor weight or bias (null views: absent),
// all of which are read while it is written.
inline void check_norm_out(const Strided<float>& out, const Strided<float>& x, const Strided<float>& weight = {},
                           const Strided<float>& bias = {}) {
  require_same_shape(out.shape, x.shape, "out", "x");
  if (views_may_overlap(out, x)) throw py::value_error("out must not share memory with x");
  if (weight.data && views_may_overlap(out, weight)) throw py::value_error("out must not share memory with weight");
  if (bias.data && views_may_overlap(out, bias)) throw py::value_error("out must not share memory with bias");
}

// The backward's saved statistics: grad_y of x's shape, mean (layer norm; null view for rms)
// and rstd of x's shape without its last axis. Returns (rows, dim).
inline std::pair<int64_t, int64_t> check_norm_backward(const Strided<float>& grad_y, const Strided<float>& x,
                                                       const Strided<float>* mean, const Strided<float>& rstd) {
  const auto rows_dim = norm_rows_dim(x, "x");
  require_same_shape(grad_y.shape, x.shape, "grad_y", "x");
  if (mean) require_same_shape(mean->shape, leading_axes(x.shape), "mean", "x without its last axis");
  require_same_shape(rstd.shape, leading_axes(x.shape), "rstd", "x without its last axis");
  return rows_dim;
}

// x (N, C, *) as (n, channels, spatial).
inline void batch_norm_shape(const Strided<float>& x, const char* name, int64_t& n, int64_t& c, int64_t& s) {
  require_view_ndim(x, name, 2, 64);
  n = x.shape[0];
  c = x.shape[1];
  s = 1;
  for (int i = 2; i < x.ndim(); ++i) s *= x.shape[i];
}

// batch_norm's rules beyond the shapes: running statistics when not training, more than one
// value per channel when training (and then running statistics that do not overlap x).
inline void check_batch_norm(const Strided<float>& x, const Strided<float>& running_mean,
                             const Strided<float>& running_var, bool training, int64_t n, int64_t spatial) {
  if (!training && (running_mean.data == nullptr || running_var.data == nullptr))
    throw py::value_error("running_mean and running_var are required when training=False");
  if (training && n * spatial <= 1)
    throw py::value_error("batch_norm in training needs more than 1 value per channel, got x of shape " +
                          shape_str(x.shape));
  if (training)
    for (const Strided<float>* r : {&running_mean, &running_var})
      if (r->data != nullptr && views_may_overlap(*r, x))
        throw py::value_error("running_mean and running_var must not share memory with x");
}

// In training the running statistics are written while weight and bias are read, and each is
// written: none may overlap another (null views: absent).
inline void check_batch_norm_aliasing(const Strided<float>& weight, const Strided<float>& bias,
                                      const Strided<float>& running_mean, const Strided<float>& running_var) {
  const std::pair<const char*, const Strided<float>*> outs[] = {{"running_mean", &running_mean},
                                                                {"running_var", &running_var}};
  for (const auto& [name, r] : outs) {
    if (r->data == nullptr) continue;
    if (weight.data && views_may_overlap(*r, weight))
      throw py::value_error(std::string(name) + " must not share memory with weight (it is written while weight is read)");
    if (bias.data && views_may_overlap(*r, bias))
      throw py::value_error(std::string(name) + " must not share memory with bias (it is written while bias is read)");
  }
  if (running_mean.data && running_var.data && views_may_overlap(running_mean, running_var))
    throw py::value_error("running_mean and running_var must not share memory (both are written)");
}

}  // namespace grimoire::bind
