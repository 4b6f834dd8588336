// The softmax family's argument checks, shared by the CPU binding (cpp/bindings/softmax.cpp) and
// the CUDA binding (cuda/bindings/softmax.cpp): one function, one message on either device.
#pragma once

#include <string>
#include <utility>

#include "checks.h"
#include "grimoire/softmax.h"

namespace grimoire::bind {

// x (..., dim): rows = product of the leading axes.
inline std::pair<int64_t, int64_t> softmax_rows_dim(const Strided<float>& x) {
  const int64_t dim = x.shape.back();
  return {dim == 0 ? 0 : x.size() / dim, dim};
}

// logits (n, classes), targets (n,), reduction and label_smoothing; fills p's shape and options.
inline void check_cross_entropy(const Strided<float>& logits, const Strided<int64_t>& targets,
                                const std::string& reduction, double label_smoothing, CrossEntropyParams& p) {
  p.n = logits.shape[0];
  p.classes = logits.shape[1];
  if (targets.shape[0] != p.n)
    throw py::value_error("targets must have one entry per row of logits (" + std::to_string(p.n) + "), got " +
                          std::to_string(targets.shape[0]));
  if (p.classes == 0 && p.n > 0)
    throw py::value_error("logits must have at least one class (got shape " + shape_str(logits.shape) + ")");
  if (reduction == "none") p.reduction = Reduction::none;
  else if (reduction == "mean") p.reduction = Reduction::mean;
  else if (reduction == "sum") p.reduction = Reduction::sum;
  else throw py::value_error("reduction must be 'none', 'mean' or 'sum', got '" + reduction + "'");
  p.label_smoothing = checked_scalar(label_smoothing, "label_smoothing", between(0.0, 1.0));
}

// Targets are checked where they live (the host loops over them; the device reports the first
// bad row); both raise this.
[[noreturn]] inline void throw_bad_target(int64_t row, int64_t target, int64_t classes, int64_t ignore_index) {
  throw py::value_error("targets[" + std::to_string(row) + "] = " + std::to_string(target) + " is not a class in [0, " +
                        std::to_string(classes) + ") nor ignore_index (" + std::to_string(ignore_index) + ")");
}

inline bool is_bad_target(int64_t t, int64_t classes, int64_t ignore_index) {
  return t != ignore_index && (t < 0 || t >= classes);
}

}  // namespace grimoire::bind
