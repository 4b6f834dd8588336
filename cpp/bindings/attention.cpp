// Bindings for the attention family: grimoire.kernels.attention / attention_backward.
#include "grimoire/attention.h"

#include <cmath>

#include "attention_operands.h"
#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

// A 4-D float32 operand with a contiguous head dimension: (batch, heads, len, head_dim).
Strided<float> operand(const py::object& obj, const char* name) {
  py::array a = require_ndarray(obj, name);
  if (!has_dtype<float>(a)) throw py::type_error(std::string(name) + " must have dtype float32, got " + dtype_str(a));
  require_ndim(a, name, 4, 4);
  Strided<float> v = view<float>(a, name);
  require_last_dim_contiguous(v, name);
  return v;
}

// Checks q, k, v, scale and mask and fills everything of AttentionParams but the outputs.
// The arrays stay referenced by the caller (the mask view is returned to keep it alive).
py::object fill_params(AttentionParams& p, const py::object& q_obj, const py::object& k_obj, const py::object& v_obj,
                       bool causal, const py::object& scale, const py::object& mask_obj) {
  const Strided<float> q = operand(q_obj, "q"), k = operand(k_obj, "k"), v = operand(v_obj, "v");
  check_attention_shapes(q, k, v);
  const int64_t d = q.shape[3];
  p.batch = q.shape[0];
  p.heads = q.shape[1];
  p.kv_heads = k.shape[1];
  p.q_len = q.shape[2];
  p.k_len = k.shape[2];
  p.head_dim = d;
  p.q = q.data;
  p.k = k.data;
  p.v = v.data;
  set_attention_strides(p.q_stride, q);
  set_attention_strides(p.k_stride, k);
  set_attention_strides(p.v_stride, v);
  p.causal = causal;
  p.scale = attention_scale(scale, d);
  if (mask_obj.is_none()) return py::none();
  py::array mask = require_ndarray(mask_obj, "mask");
  const std::vector<int64_t> target = {p.batch, p.heads, p.q_len, p.k_len};
  check_mask_ndim(std::vector<int64_t>(mask.shape(), mask.shape() + mask.ndim()), target);
  if (mask.dtype().kind() == 'b') {
    mask = mask.attr("view")("uint8");  // the same bytes, 0 or 1: a view, not a copy
    p.mask_kind = AttentionMask::keep;
    const Strided<uint8_t> m = view<uint8_t>(mask, "mask");
    p.mask = m.data;
    const auto s = broadcast_strides(m, target, "mask", "(batch, heads, q_len, k_len)");
    std::copy(s.begin(), s.end(), p.mask_stride);
  } else if (has_dtype<float>(mask)) {
    p.mask_kind = AttentionMask::additive;
    const Strided<float> m = view<float>(mask, "mask");
    p.mask = m.data;
    const auto s = broadcast_strides(m, target, "mask", "(batch, heads, q_len, k_len)");
    std::copy(s.begin(), s.end(), p.mask_stride);
  } else {
    throw py::type_error(mask_dtype_error(dtype_str(mask)));
  }
  return std::move(mask);
}

py::tuple forward(const py::object& q, const py::object& k, const py::object& v, bool causal, const py::object& scale,
                  const py::object& mask) {
  AttentionParams p;
  py::object keep = fill_params(p, q, k, v, causal, scale, mask);
  py::array_t<float> out = empty<float>({p.batch, p.heads, p.q_len, p.head_dim});
  py::array_t<float> lse = empty<float>({p.batch, p.heads, p.q_len});
  p.out = out.mutable_data();
  p.out_stride[0] = p.heads * p.q_len * p.head_dim;
  p.out_stride[1] = p.q_len * p.head_dim;
  p.out_stride[2] = p.head_dim;
  p.lse = lse.mutable_data();
  {
    py::gil_scoped_release release;
    attention_forward(p);
  }
  return py::make_tuple(out, lse);
}

py::tuple backward(const py::object& grad_out, const py::object& q, const py::object& k, const py::object& v,
                   const py::object& out_obj, const py::object& lse_obj, bool causal, const py::object& scale,
                   const py::object& mask) {
  AttentionParams p;
  py::object keep = fill_params(p, q, k, v, causal, scale, mask);
  const std::vector<int64_t> q_shape = {p.batch, p.heads, p.q_len, p.head_dim};
  const Strided<float> go = operand(grad_out, "grad_out"), out = operand(out_obj, "out");
  require_same_shape(go.shape, q_shape, "grad_out", "q");
  require_same_shape(out.shape, q_shape, "out", "q");
  py::array lse_arr = require_ndarray(lse_obj, "lse");
  if (!has_dtype<float>(lse_arr)) throw py::type_error("lse must have dtype float32, got " + dtype_str(lse_arr));
  const Strided<float> lse = contiguous_view<float>(lse_arr, "lse");
  require_same_shape(lse.shape, {p.batch, p.heads, p.q_len}, "lse", "(batch, heads, q_len) of q");
  p.grad_out = go.data;
  set_attention_strides(p.grad_out_stride, go);
  p.out = out.data;
  set_attention_strides(p.out_stride, out);
  p.lse = lse.data;
  py::array_t<float> dq = empty<float>(q_shape);
  py::array_t<float> dk = empty<float>({p.batch, p.kv_heads, p.k_len, p.head_dim});
  py::array_t<float> dv = empty<float>({p.batch, p.kv_heads, p.k_len, p.head_dim});
  p.dq = dq.mutable_data();
  p.dk = dk.mutable_data();
  p.dv = dv.mutable_data();
  {
    py::gil_scoped_release release;
    attention_backward(p);
  }
  return py::make_tuple(dq, dk, dv);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("attention_forward", &forward, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false,
        py::arg("scale") = py::none(), py::arg("mask") = py::none(),
        "softmax(scale * q k^T + mask) v with grouped-query heads; returns (out, lse).");
  m.def("attention_backward", &backward, py::arg("grad_out"), py::arg("q"), py::arg("k"), py::arg("v"),
        py::arg("out"), py::arg("lse"), py::arg("causal") = false, py::arg("scale") = py::none(),
        py::arg("mask") = py::none(), "Gradients (dq, dk, dv) of attention_forward.");
}
