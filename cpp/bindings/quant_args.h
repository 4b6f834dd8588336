// The quant families' argument checks, shared by the CPU binding (cpp/bindings/quant.cpp) and
// the CUDA binding (cuda/bindings/quant.cpp): the FP8 format names, the (outer, channels, inner)
// layout of a quantisation axis and the rules for given scales and zero points.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "checks.h"
#include "grimoire/quant.h"

namespace grimoire::bind {

inline Fp8Format fp8_format(const std::string& fmt, const char* name) {
  if (fmt == "e4m3") return Fp8Format::e4m3;
  if (fmt == "e5m2") return Fp8Format::e5m2;
  throw py::value_error(std::string(name) + " must be 'e4m3' or 'e5m2', got '" + fmt + "'");
}

// (outer, channels, inner) of x for a quantisation axis (None: per tensor).
inline QuantInt8Params int8_layout(const std::vector<int64_t>& shape, const py::object& axis_obj) {
  QuantInt8Params p;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (axis_obj.is_none()) {
    p.inner = n;
    return p;
  }
  const int nd = static_cast<int>(shape.size());
  if (py::isinstance<py::bool_>(axis_obj) || !PyIndex_Check(axis_obj.ptr()))
    throw py::type_error("axis must be None or an int, got " +
                         py::str(py::type::of(axis_obj).attr("__name__")).cast<std::string>());
  int64_t axis;
  try {
    axis = axis_obj.cast<int64_t>();
  } catch (const py::cast_error&) {
    throw py::value_error("axis must be None or in [" + std::to_string(-nd) + ", " + std::to_string(nd - 1) + "]");
  }
  if (axis < -nd || axis >= nd)
    throw py::value_error("axis must be None or in [" + std::to_string(-nd) + ", " + std::to_string(nd - 1) +
                          "] for an array of shape " + shape_str(shape) + ", got " + std::to_string(axis));
  if (axis < 0) axis += nd;
  p.outer = 1;
  for (int64_t d = 0; d < axis; ++d) p.outer *= shape[d];
  p.channels = shape[axis];
  p.inner = 1;
  for (int64_t d = axis + 1; d < nd; ++d) p.inner *= shape[d];
  return p;
}

inline bool all_finite(const float* x, int64_t n) {
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(x[i]);
  return ok;
}

// scale (channels,) float32 finite > 0 and zero_point (channels,) int32 in [qmin, qmax].
inline void check_qparams(const Strided<float>& s, const Strided<int32_t>& z, const QuantInt8Params& p) {
  const std::vector<int64_t> want = {p.channels};
  require_same_shape(s.shape, want, "scale", "the quantised axis");
  require_same_shape(z.shape, want, "zero_point", "the quantised axis");
  for (int64_t c = 0; c < p.channels; ++c) {
    const float v = s.data[c * s.strides[0]];
    // A subnormal scale would make 1/scale infinite (and 0 * inf NaN) inside the kernel.
    if (!(std::isfinite(v) && v >= std::numeric_limits<float>::min()))
      throw py::value_error("scale must be finite and at least the smallest normal float32 (1.18e-38), got " +
                            std::to_string(v) + " at index " + std::to_string(c));
    const int32_t zp = z.data[c * z.strides[0]];
    if (zp < p.qmin || zp > p.qmax)
      throw py::value_error("zero_point must be in [" + std::to_string(p.qmin) + ", " + std::to_string(p.qmax) +
                            "], got " + std::to_string(zp) + " at index " + std::to_string(c));
  }
}

}  // namespace grimoire::bind
