// Bindings for the quant families (int8, fp8, bf16) and the low-precision GEMMs; the Python face
// is grimoire.kernels.quant.
#include "grimoire/quant.h"

#include <pybind11/stl.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "checks.h"
#include "conv_operands.h"
#include "gemm_lowp_operands.h"
#include "quant_args.h"
#include "grimoire/gemm_int8.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

// Contiguous copies of the (validated) per-channel parameters for the kernel.
struct QParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
};
QParams gather(const Strided<float>& s, const Strided<int32_t>& z, int64_t channels) {
  QParams q{std::vector<float>(channels), std::vector<int32_t>(channels)};
  for (int64_t c = 0; c < channels; ++c) {
    q.scale[c] = s.data[c * s.strides[0]];
    q.zero_point[c] = z.data[c * z.strides[0]];
  }
  return q;
}

py::tuple quantize_int8_py(const py::object& x_obj, bool symmetric, const py::object& axis, const py::object& scale_obj,
                           const py::object& zp_obj) {
  const py::array x_arr = require_ndarray(x_obj, "x");
  const Strided<float> x = contiguous_view<float>(x_arr, "x");
  QuantInt8Params p = int8_layout(x.shape, axis);
  p.qmin = symmetric ? -127 : -128;
  p.qmax = 127;
  py::array_t<float> scale = empty<float>({p.channels});
  py::array_t<int32_t> zp = empty<int32_t>({p.channels});
  if (scale_obj.is_none() != zp_obj.is_none())
    throw py::value_error("scale and zero_point must be given together (or neither, to compute them from x)");
  if (!scale_obj.is_none()) {
    const Strided<float> s = view<float>(require_ndarray(scale_obj, "scale"), "scale");
    const Strided<int32_t> z = view<int32_t>(require_ndarray(zp_obj, "zero_point"), "zero_point");
    require_ndim(require_ndarray(scale_obj, "scale"), "scale", 1, 1);
    require_ndim(require_ndarray(zp_obj, "zero_point"), "zero_point", 1, 1);
    check_qparams(s, z, p);
    const QParams q = gather(s, z, p.channels);
    std::copy(q.scale.begin(), q.scale.end(), scale.mutable_data());
    std::copy(q.zero_point.begin(), q.zero_point.end(), zp.mutable_data());
  }
  py::array_t<int8_t> q = empty<int8_t>(x.shape);
  float* s_ptr = scale.mutable_data();
  int32_t* z_ptr = zp.mutable_data();
  int8_t* q_ptr = q.mutable_data();
  const bool compute = scale_obj.is_none();
  bool finite = true;
  {
    py::gil_scoped_release release;
    // Either path refuses NaN/inf in x (a given scale would otherwise map NaN to a code).
    finite = compute ? choose_qparams_int8(x.data, p, symmetric, s_ptr, z_ptr) : all_finite(x.data, x.size());
    if (finite) {
      p.scale = s_ptr;
      p.zero_point = z_ptr;
      quantize_int8(x.data, q_ptr, p);
    }
  }
  if (!finite) throw py::value_error("x must be finite to be quantised to int8 (it holds NaN or inf)");
  return py::make_tuple(q, scale, zp);
}

py::array dequantize_int8_py(const py::object& q_obj, const py::object& scale_obj, const py::object& zp_obj,
                             const py::object& axis) {
  const Strided<int8_t> q = contiguous_view<int8_t>(require_ndarray(q_obj, "q"), "q");
  QuantInt8Params p = int8_layout(q.shape, axis);
  p.qmin = -128;
  p.qmax = 127;
  const py::array s_arr = require_ndarray(scale_obj, "scale"), z_arr = require_ndarray(zp_obj, "zero_point");
  require_ndim(s_arr, "scale", 1, 1);
  require_ndim(z_arr, "zero_point", 1, 1);
  const Strided<float> s = view<float>(s_arr, "scale");
  const Strided<int32_t> z = view<int32_t>(z_arr, "zero_point");
  check_qparams(s, z, p);
  const QParams qp = gather(s, z, p.channels);
  p.scale = qp.scale.data();
  p.zero_point = qp.zero_point.data();
  py::array_t<float> x = empty<float>(q.shape);
  float* x_ptr = x.mutable_data();
  {
    py::gil_scoped_release release;
    dequantize_int8(q.data, x_ptr, p);
  }
  return x;
}

py::array gemm_int8_py(const py::object& a_obj, const py::object& b_obj, bool trans_b) {
  const py::array a_arr = require_ndarray(a_obj, "a"), b_arr = require_ndarray(b_obj, "b");
  require_ndim(a_arr, "a", 2, 2);
  require_ndim(b_arr, "b", 2, 2);
  const Strided<int8_t> a = view<int8_t>(a_arr, "a"), b = view<int8_t>(b_arr, "b");
  const Int8GemmShape s = int8_gemm_shape(a, b, trans_b);
  GemmInt8Params p;
  p.m = s.m; p.n = s.n; p.k = s.k;
  p.a = a.data; p.a_row_stride = a.strides[0]; p.a_col_stride = a.strides[1];
  p.b = b.data; p.b_row_stride = s.b_row_stride; p.b_col_stride = s.b_col_stride;
  py::array_t<int32_t> c = empty<int32_t>({p.m, p.n});
  p.c = c.mutable_data();
  p.c_row_stride = p.n;
  {
    py::gil_scoped_release release;
    gemm_int8(p);
  }
  return c;
}

// w_scale: finite numbers > 0 (its shape checked by the caller).
void check_w_scale(const Strided<float>& ws) {
  for (int64_t j = 0; j < ws.size(); ++j)
    if (!(std::isfinite(ws.data[j]) && ws.data[j] > 0.0f))
      throw py::value_error("w_scale must hold finite numbers > 0, got " + number_str(ws.data[j]) + " at index " +
                            std::to_string(j));
}

// bias: None, or float32 (n,) C-contiguous; `what` names where n comes from.
const float* optional_bias(const py::object& bias_obj, int64_t n, const char* what) {
  if (bias_obj.is_none()) return nullptr;
  const Strided<float> b = contiguous_view<float>(require_ndarray(bias_obj, "bias"), "bias");
  require_same_shape(b.shape, {n}, "bias", what);
  return b.data;
}

py::array linear_int8_py(const py::object& x_obj, const py::object& w_obj, const py::object& ws_obj,
                         const py::object& bias_obj) {
  const py::array x_arr = require_ndarray(x_obj, "x"), w_arr = require_ndarray(w_obj, "w_q");
  const py::array ws_arr = require_ndarray(ws_obj, "w_scale");
  require_ndim(x_arr, "x", 2, 2);
  require_ndim(w_arr, "w_q", 2, 2);
  require_ndim(ws_arr, "w_scale", 1, 1);
  const Strided<float> x = contiguous_view<float>(x_arr, "x");
  const Strided<int8_t> w = contiguous_view<int8_t>(w_arr, "w_q");
  const Strided<float> ws = contiguous_view<float>(ws_arr, "w_scale");
  LinearInt8Params p;
  p.m = x.shape[0];
  p.k = x.shape[1];
  p.n = w.shape[0];
  linear_int8_shapes(x.shape, w.shape, ws.shape);
  check_w_scale(ws);
  p.bias = optional_bias(bias_obj, p.n, "w_q's rows");
  p.x = x.data;
  p.w = w.data;
  p.w_scale = ws.data;
  py::array_t<float> y = empty<float>({p.m, p.n});
  p.y = y.mutable_data();
  bool ok;
  {
    py::gil_scoped_release release;
    ok = linear_int8(p);
  }
  if (!ok) throw py::value_error("x must be finite to be quantised to int8 (it holds NaN or inf)");
  return y;
}

// A linear layer's W (n, k), or a convolution's (O, C, KH, KW) packed in its (KH, KW, C) order.
std::shared_ptr<PackedInt8Weight> pack_int8_weight_py(const py::object& w_obj) {
  const py::array w_arr = require_ndarray(w_obj, "w_q");
  require_ndim(w_arr, "w_q", 2, 4);
  if (w_arr.ndim() == 3)
    throw py::value_error("w_q must be 2-D (out_features, in_features) or 4-D (out_channels, in_channels, kH, kW), "
                          "got 3-D");
  const Strided<int8_t> w = contiguous_view<int8_t>(w_arr, "w_q");
  if (w.shape.size() == 4) checked_numel({w.shape[0], w.shape[1], w.shape[2], w.shape[3]}, "w_q");
  auto packed = std::make_shared<PackedInt8Weight>();
  {
    py::gil_scoped_release release;
    if (w.shape.size() == 4) *packed = pack_int8_conv_weight(w.data, w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
    else *packed = pack_int8_weight(w.data, w.shape[0], w.shape[1]);
  }
  return packed;
}

std::vector<int64_t> packed_shape(const PackedInt8Weight& w) {
  if (w.kh > 0) return {w.n, w.c, w.kh, w.kw};
  return {w.n, w.k};
}

const PackedInt8Weight& require_packed(const std::shared_ptr<PackedInt8Weight>& w, bool conv) {
  if (!w) throw py::type_error("packed must be a PackedInt8Weight (from pack_int8_weight), got None");
  if ((w->kh > 0) != conv)
    throw py::value_error(std::string("packed must hold ") + (conv ? "a convolution's 4-D" : "a linear layer's 2-D") +
                          " weight, got one of shape " + shape_str(packed_shape(*w)));
  return *w;
}

py::array conv2d_int8_py(const py::object& x_obj, const std::shared_ptr<PackedInt8Weight>& w_ptr,
                         const py::object& ws_obj, const py::object& bias_obj, std::pair<int64_t, int64_t> stride,
                         std::pair<int64_t, int64_t> padding, std::pair<int64_t, int64_t> dilation, bool relu) {
  const PackedInt8Weight& w = require_packed(w_ptr, true);
  const py::array x_arr = require_ndarray(x_obj, "x"), ws_arr = require_ndarray(ws_obj, "w_scale");
  require_ndim(x_arr, "x", 4, 4);
  require_ndim(ws_arr, "w_scale", 1, 1);
  const Strided<float> x = contiguous_view<float>(x_arr, "x");
  const Strided<float> ws = contiguous_view<float>(ws_arr, "w_scale");
  if (x.shape[1] != w.c)
    throw py::value_error("x must be (N, in_channels, H, W) with in_channels = " + std::to_string(w.c) +
                          " to match packed " + shape_str(packed_shape(w)) + ", got " + shape_str(x.shape));
  std::vector<int64_t> y_shape;
  Conv2dInt8Params p;
  p.shape = conv2d_shape(x.shape, packed_shape(w), stride, padding, dilation, 1, y_shape);
  checked_numel({p.shape.n, p.shape.h + 2 * p.shape.pad_h, p.shape.w + 2 * p.shape.pad_w, p.shape.c_in},
                "the padded input");
  require_same_shape(ws.shape, {w.n}, "w_scale", "packed's output channels");
  check_w_scale(ws);
  p.bias = optional_bias(bias_obj, w.n, "packed's output channels");
  p.x = x.data;
  p.w = &w;
  p.w_scale = ws.data;
  p.relu = relu;
  py::array_t<float> y = empty<float>(y_shape);
  p.y = y.mutable_data();
  bool ok;
  {
    py::gil_scoped_release release;
    ok = conv2d_int8(p);
  }
  if (!ok) throw py::value_error("x must be finite to be quantised to int8 (it holds NaN or inf)");
  return y;
}

py::array linear_int8_packed_py(const py::object& x_obj, const std::shared_ptr<PackedInt8Weight>& w,
                                const py::object& ws_obj, const py::object& bias_obj) {
  require_packed(w, false);
  const py::array x_arr = require_ndarray(x_obj, "x"), ws_arr = require_ndarray(ws_obj, "w_scale");
  require_ndim(x_arr, "x", 2, 2);
  require_ndim(ws_arr, "w_scale", 1, 1);
  const Strided<float> x = contiguous_view<float>(x_arr, "x");
  const Strided<float> ws = contiguous_view<float>(ws_arr, "w_scale");
  if (x.shape[1] != w->k)
    throw py::value_error("x must be (m, in_features) = (m, " + std::to_string(w->k) + ") to match packed " +
                          shape_str({w->n, w->k}) + ", got " + shape_str(x.shape));
  require_same_shape(ws.shape, {w->n}, "w_scale", "packed's rows");
  check_w_scale(ws);
  const float* bias = optional_bias(bias_obj, w->n, "packed's rows");
  const int64_t m = x.shape[0];
  py::array_t<float> y = empty<float>({m, w->n});
  float* y_ptr = y.mutable_data();
  bool ok;
  {
    py::gil_scoped_release release;
    ok = linear_int8_packed(x.data, m, *w, ws.data, bias, y_ptr);
  }
  if (!ok) throw py::value_error("x must be finite to be quantised to int8 (it holds NaN or inf)");
  return y;
}

// A bf16 GEMM operand: 2-D, C-contiguous float32 (rounded to bf16 by the kernel) or uint16 bf16 codes.
struct Bf16Arg {
  const void* data;
  Bf16Input type;
  std::vector<int64_t> shape;
};
Bf16Arg bf16_arg(const py::object& obj, const char* name) {
  const py::array arr = require_ndarray(obj, name);
  require_ndim(arr, name, 2, 2);
  if (has_dtype<float>(arr)) {
    const Strided<float> v = contiguous_view<float>(arr, name);
    return {v.data, Bf16Input::f32, v.shape};
  }
  if (has_dtype<uint16_t>(arr)) {
    const Strided<uint16_t> v = contiguous_view<uint16_t>(arr, name);
    return {v.data, Bf16Input::bf16, v.shape};
  }
  throw py::type_error(std::string(name) + " must have dtype float32 or uint16 (bf16 codes), got " + dtype_str(arr));
}

py::array linear_bf16_py(const py::object& x_obj, const py::object& w_obj, const py::object& bias_obj) {
  const Bf16Arg x = bf16_arg(x_obj, "x"), w = bf16_arg(w_obj, "w");
  if (x.shape[1] != w.shape[1])
    throw py::value_error("w must be (out_features, in_features) with in_features = x.shape[1] = " +
                          std::to_string(x.shape[1]) + ", got " + shape_str(w.shape));
  const int64_t m = x.shape[0], k = x.shape[1], n = w.shape[0];
  const float* bias = optional_bias(bias_obj, n, "w's rows");
  py::array_t<float> y = empty<float>({m, n});
  float* y_ptr = y.mutable_data();
  {
    py::gil_scoped_release release;
    linear_bf16(x.data, x.type, m, w.data, w.type, n, k, bias, y_ptr);
  }
  return y;
}

std::shared_ptr<PackedBf16Weight> pack_bf16_weight_py(const py::object& w_obj) {
  const Bf16Arg w = bf16_arg(w_obj, "w");
  auto packed = std::make_shared<PackedBf16Weight>();
  {
    py::gil_scoped_release release;
    *packed = pack_bf16_weight(w.data, w.type, w.shape[0], w.shape[1]);
  }
  return packed;
}

py::array linear_bf16_packed_py(const py::object& x_obj, const std::shared_ptr<PackedBf16Weight>& w,
                                const py::object& bias_obj) {
  if (!w) throw py::type_error("packed must be a PackedBf16Weight (from pack_bf16_weight), got None");
  const Bf16Arg x = bf16_arg(x_obj, "x");
  if (x.shape[1] != w->k)
    throw py::value_error("x must be (m, in_features) = (m, " + std::to_string(w->k) + ") to match packed " +
                          shape_str({w->n, w->k}) + ", got " + shape_str(x.shape));
  const float* bias = optional_bias(bias_obj, w->n, "packed's rows");
  const int64_t m = x.shape[0];
  py::array_t<float> y = empty<float>({m, w->n});
  float* y_ptr = y.mutable_data();
  {
    py::gil_scoped_release release;
    linear_bf16_packed(x.data, x.type, m, *w, bias, y_ptr);
  }
  return y;
}

template <typename In, typename Out, typename Fn>
py::array convert(const py::object& obj, const char* name, Fn&& fn) {
  const Strided<In> x = contiguous_view<In>(require_ndarray(obj, name), name);
  py::array_t<Out> out = empty<Out>(x.shape);
  Out* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    fn(x.data, o, x.size());
  }
  return out;
}

// (m, k) @ (k, n) shapes of two contiguous 2-D operands.
template <typename T>
std::pair<Strided<T>, Strided<T>> gemm_operands(const py::object& a_obj, const py::object& b_obj) {
  const py::array a_arr = require_ndarray(a_obj, "a"), b_arr = require_ndarray(b_obj, "b");
  require_ndim(a_arr, "a", 2, 2);
  require_ndim(b_arr, "b", 2, 2);
  Strided<T> a = contiguous_view<T>(a_arr, "a"), b = contiguous_view<T>(b_arr, "b");
  lowp_inner(a.shape, b.shape);
  return {a, b};
}

}  // namespace

void bind_quant(py::module_& m) {
  m.def("quantize_int8", &quantize_int8_py, py::arg("x"), py::arg("symmetric"), py::arg("axis"), py::arg("scale"),
        py::arg("zero_point"));
  m.def("dequantize_int8", &dequantize_int8_py, py::arg("q"), py::arg("scale"), py::arg("zero_point"), py::arg("axis"));
  m.def("gemm_int8", &gemm_int8_py, py::arg("a"), py::arg("b"), py::arg("trans_b"));
  m.def("gemm_int8_reference", [](const py::object& a_obj, const py::object& b_obj, bool emulate_vnni) {
    // The scalar reference (or the emulated VNNI driver), for tests of the fast paths.
    const py::array a_arr = require_ndarray(a_obj, "a"), b_arr = require_ndarray(b_obj, "b");
    require_ndim(a_arr, "a", 2, 2);
    require_ndim(b_arr, "b", 2, 2);
    const Strided<int8_t> a = view<int8_t>(a_arr, "a"), b = view<int8_t>(b_arr, "b");
    if (a.shape[1] != b.shape[0])
      throw py::value_error("inner dimensions differ: a is " + shape_str(a.shape) + ", b is " + shape_str(b.shape));
    py::array_t<int32_t> c = empty<int32_t>({a.shape[0], b.shape[1]});
    GemmInt8Params p;
    p.m = a.shape[0]; p.k = a.shape[1]; p.n = b.shape[1];
    p.a = a.data; p.a_row_stride = a.strides[0]; p.a_col_stride = a.strides[1];
    p.b = b.data; p.b_row_stride = b.strides[0]; p.b_col_stride = b.strides[1];
    p.c = c.mutable_data(); p.c_row_stride = p.n;
    {
      py::gil_scoped_release release;
      if (emulate_vnni) gemm_int8_vnni_emulated(p);
      else gemm_int8_reference(p);
    }
    return c;
  }, py::arg("a"), py::arg("b"), py::arg("emulate_vnni") = false);
  m.def("_exhaustive_check", [](const std::string& what, bool saturate) {
    // Every float32 bit pattern through the dispatched converter against the scalar reference
    // (to_fp8_ref / to_bf16_ref); returns the number of disagreements. Seconds, for a one-off run
    // (tests/exhaustive_quant.py), not for the test suite.
    const bool bf16 = what == "bf16";
    const Fp8Format fmt = bf16 ? Fp8Format::e4m3 : fp8_format(what, "what");
    py::gil_scoped_release release;
    constexpr int64_t chunk = int64_t{1} << 22;
    std::vector<float> x(chunk);
    std::vector<uint8_t> out8(chunk);
    std::vector<uint16_t> out16(chunk);
    int64_t bad = 0;
    for (int64_t start = 0; start < (int64_t{1} << 32); start += chunk) {
      for (int64_t i = 0; i < chunk; ++i) {
        const uint32_t u = static_cast<uint32_t>(start + i);
        std::memcpy(&x[i], &u, 4);
      }
      if (bf16) {
        to_bf16(x.data(), out16.data(), chunk);
        for (int64_t i = 0; i < chunk; ++i) bad += out16[i] != to_bf16_ref(x[i]);
      } else {
        to_fp8(x.data(), out8.data(), chunk, fmt, saturate);
        for (int64_t i = 0; i < chunk; ++i) bad += out8[i] != to_fp8_ref(x[i], fmt, saturate);
      }
    }
    return bad;
  }, py::arg("what"), py::arg("saturate"));
  m.def("linear_int8", &linear_int8_py, py::arg("x"), py::arg("w_q"), py::arg("w_scale"), py::arg("bias"));
  py::class_<PackedInt8Weight, std::shared_ptr<PackedInt8Weight>>(
      m, "PackedInt8Weight",
      "An int8 weight W (n, k) packed for the int8 GEMM path of this CPU (pack_int8_weight); immutable.")
      .def_property_readonly("isa", [](const PackedInt8Weight& w) { return std::string(isa_name(w.isa)); },
                             "The gemm_int8 path the panels were packed for.")
      .def_property_readonly("stale", [](const PackedInt8Weight& w) { return w.isa != int8_isa(); },
                             "Whether gemm_int8 now takes another path (set_isa): pack again.")
      .def_property_readonly("shape", [](const PackedInt8Weight& w) { return py::tuple(py::cast(packed_shape(w))); },
                             "W's shape: (n, k), or (O, C, KH, KW) for a convolution's weight.")
      .def_property_readonly("nbytes", [](const PackedInt8Weight& w) {
        return static_cast<int64_t>(w.panels8.size() + 2 * w.panels16.size() + w.raw.size() + 4 * w.col_start.size());
      }, "Bytes held (the panels and a copy of W).")
      .def("__copy__", [](py::object self) { return self; })
      .def("__deepcopy__", [](py::object self, py::object) { return self; }, py::arg("memo"))
      .def("__repr__", [](const PackedInt8Weight& w) {
        return "PackedInt8Weight(shape=" + shape_str(packed_shape(w)) + ", isa='" + isa_name(w.isa) + "')";
      });
  m.def("pack_int8_weight", &pack_int8_weight_py, py::arg("w_q"));
  m.def("linear_int8_packed", &linear_int8_packed_py, py::arg("x"), py::arg("packed"), py::arg("w_scale"),
        py::arg("bias"));
  m.def("conv2d_int8", &conv2d_int8_py, py::arg("x"), py::arg("packed"), py::arg("w_scale"), py::arg("bias"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("relu"));
  m.def("linear_bf16", &linear_bf16_py, py::arg("x"), py::arg("w"), py::arg("bias"));
  py::class_<PackedBf16Weight, std::shared_ptr<PackedBf16Weight>>(
      m, "PackedBf16Weight",
      "A weight W (n, k) rounded to bf16 and packed once for the bf16 GEMM path of this CPU "
      "(pack_bf16_weight); immutable.")
      .def_property_readonly("isa", [](const PackedBf16Weight& w) { return std::string(isa_name(w.isa)); },
                             "The bf16 GEMM path the weight was packed for.")
      .def_property_readonly("stale", [](const PackedBf16Weight& w) { return w.isa != bf16_isa(); },
                             "Whether the bf16 GEMM now takes another path (set_isa): pack again.")
      .def_property_readonly("shape", [](const PackedBf16Weight& w) { return py::make_tuple(w.n, w.k); },
                             "(n, k): W's shape.")
      .def_property_readonly("nbytes", [](const PackedBf16Weight& w) {
        return static_cast<int64_t>(4 * w.panels.size() + 4 * w.values.size() + 2 * w.codes.size());
      }, "Bytes held (the panels or rounded values, and W's bf16 codes).")
      .def("__copy__", [](py::object self) { return self; })
      .def("__deepcopy__", [](py::object self, py::object) { return self; }, py::arg("memo"))
      .def("__repr__", [](const PackedBf16Weight& w) {
        return "PackedBf16Weight(shape=(" + std::to_string(w.n) + ", " + std::to_string(w.k) + "), isa='" +
               isa_name(w.isa) + "')";
      });
  m.def("pack_bf16_weight", &pack_bf16_weight_py, py::arg("w"));
  m.def("linear_bf16_packed", &linear_bf16_packed_py, py::arg("x"), py::arg("packed"), py::arg("bias"));
  m.def("to_fp8", [](const py::object& x, const std::string& fmt, bool saturate) {
    const Fp8Format f = fp8_format(fmt, "fmt");
    return convert<float, uint8_t>(x, "x", [&](const float* a, uint8_t* b, int64_t n) { to_fp8(a, b, n, f, saturate); });
  }, py::arg("x"), py::arg("fmt"), py::arg("saturate"));
  m.def("from_fp8", [](const py::object& codes, const std::string& fmt) {
    const Fp8Format f = fp8_format(fmt, "fmt");
    return convert<uint8_t, float>(codes, "codes", [&](const uint8_t* a, float* b, int64_t n) { from_fp8(a, b, n, f); });
  }, py::arg("codes"), py::arg("fmt"));
  m.def("to_bf16", [](const py::object& x) {
    return convert<float, uint16_t>(x, "x", [](const float* a, uint16_t* b, int64_t n) { to_bf16(a, b, n); });
  }, py::arg("x"));
  m.def("from_bf16", [](const py::object& x) {
    return convert<uint16_t, float>(x, "x", [](const uint16_t* a, float* b, int64_t n) { from_bf16(a, b, n); });
  }, py::arg("x"));
  m.def("gemm_fp8", [](const py::object& a_obj, const py::object& b_obj, double scale_a, double scale_b,
                       const std::string& fmt_a, const std::string& fmt_b) {
    const Fp8Format fa = fp8_format(fmt_a, "fmt_a"), fb = fp8_format(fmt_b, "fmt_b");
    // The kernel applies scale_a * scale_b once: each scale must be a positive finite number and
    // so must their product, formed in double and then converted (1e40 * 1e-40 is 1, though 1e40
    // alone is inf as a float32).
    checked_scalar<double>(scale_a, "scale_a", above(0.0));
    checked_scalar<double>(scale_b, "scale_b", above(0.0));
    const float scale = checked_scalar(scale_a * scale_b, "scale_a * scale_b", above(0.0));
    auto [a, b] = gemm_operands<uint8_t>(a_obj, b_obj);
    py::array_t<float> c = empty<float>({a.shape[0], b.shape[1]});
    float* c_ptr = c.mutable_data();
    {
      py::gil_scoped_release release;
      gemm_fp8(a.shape[0], b.shape[1], a.shape[1], a.data, b.data, scale, 1.0f, fa, fb, c_ptr);
    }
    return c;
  }, py::arg("a"), py::arg("b"), py::arg("scale_a"), py::arg("scale_b"), py::arg("fmt_a"), py::arg("fmt_b"));
  m.def("gemm_bf16", [](const py::object& a_obj, const py::object& b_obj) {
    auto [a, b] = gemm_operands<uint16_t>(a_obj, b_obj);
    py::array_t<float> c = empty<float>({a.shape[0], b.shape[1]});
    float* c_ptr = c.mutable_data();
    {
      py::gil_scoped_release release;
      gemm_bf16(a.shape[0], b.shape[1], a.shape[1], a.data, b.data, c_ptr);
    }
    return c;
  }, py::arg("a"), py::arg("b"));
}
