// Bindings for linear attention: q (..., q_len, head_dim), k (..., k_len, head_dim),
// v (..., k_len, v_dim) with the same leading dimensions, float32, C-contiguous.
#include "grimoire/linear_attention.h"

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

Strided<float> operand(const py::object& obj, const char* name) {
  const py::array arr = require_ndarray(obj, name);
  require_ndim(arr, name, 3, 4);
  return contiguous_view<float>(arr, name);
}

struct Checked {
  LinearAttentionParams params;
  std::vector<int64_t> lead;  // the leading (batch, heads) dimensions
};

Checked check(const Strided<float>& q, const Strided<float>& k, const Strided<float>& v, bool causal, double eps) {
  Checked c;
  const int nd = q.ndim();
  c.lead.assign(q.shape.begin(), q.shape.end() - 2);
  std::vector<int64_t> k_want = c.lead, v_want = c.lead;
  k_want.push_back(k.ndim() == nd ? k.shape[nd - 2] : -1);
  k_want.push_back(q.shape[nd - 1]);
  require_same_shape(k.shape, k_want, "k", "(*q.shape[:-2], k_len, q.shape[-1])");
  v_want.push_back(k.shape[nd - 2]);
  v_want.push_back(v.ndim() == nd ? v.shape[nd - 1] : -1);
  require_same_shape(v.shape, v_want, "v", "(*q.shape[:-2], k.shape[-2], v_dim)");
  LinearAttentionParams& p = c.params;
  p.batch_heads = checked_numel(c.lead, "q's leading dimensions");
  p.q_len = q.shape[nd - 2];
  p.k_len = k.shape[nd - 2];
  p.head_dim = q.shape[nd - 1];
  p.v_dim = v.shape[nd - 1];
  p.causal = causal;
  p.eps = finite_float(eps, "eps", true);
  if (!(p.eps > 0.0f)) throw py::value_error("eps must be > 0 (it keeps the denominator positive)");
  p.q = q.data;
  p.k = k.data;
  p.v = v.data;
  return c;
}

std::vector<int64_t> with_tail(std::vector<int64_t> lead, int64_t len, int64_t dim) {
  lead.push_back(len);
  lead.push_back(dim);
  return lead;
}

}  // namespace

void bind_linear_attention(py::module_& m) {
  m.def(
      "linear_attention_forward",
      [](const py::object& q_obj, const py::object& k_obj, const py::object& v_obj, bool causal, double eps) {
        const auto q = operand(q_obj, "q"), k = operand(k_obj, "k"), v = operand(v_obj, "v");
        Checked c = check(q, k, v, causal, eps);
        auto out = empty<float>(with_tail(c.lead, c.params.q_len, c.params.v_dim));
        c.params.out = out.mutable_data();
        {
          py::gil_scoped_release release;
          linear_attention_forward(c.params);
        }
        return out;
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false, py::arg("eps") = 1e-6,
      "out_i = phi(q_i)' S_i / (phi(q_i)' z_i + eps), phi = elu + 1 (float32, C-contiguous).");
  m.def(
      "linear_attention_backward",
      [](const py::object& g_obj, const py::object& q_obj, const py::object& k_obj, const py::object& v_obj,
         bool causal, double eps) {
        const auto q = operand(q_obj, "q"), k = operand(k_obj, "k"), v = operand(v_obj, "v");
        const auto g = operand(g_obj, "grad_out");
        Checked c = check(q, k, v, causal, eps);
        require_same_shape(g.shape, with_tail(c.lead, c.params.q_len, c.params.v_dim), "grad_out", "the output");
        auto dq = empty<float>(q.shape), dk = empty<float>(k.shape), dv = empty<float>(v.shape);
        c.params.grad_out = g.data;
        c.params.dq = dq.mutable_data();
        c.params.dk = dk.mutable_data();
        c.params.dv = dv.mutable_data();
        {
          py::gil_scoped_release release;
          linear_attention_backward(c.params);
        }
        return py::make_tuple(dq, dk, dv);
      },
      py::arg("grad_out"), py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false,
      py::arg("eps") = 1e-6, "Gradients (dq, dk, dv) of linear_attention_forward.");
}
