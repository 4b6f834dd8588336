// grimoire._cuda.attention_forward / attention_backward: the CUDA twins of the _core bindings
// (same names, signatures and checks through attention_operands.h), on device arrays, launched
// on CuPy's current stream. q, k, v (and grad_out, out) share one dtype: float32, bfloat16 (as
// uint16 bits) or float16; out has that dtype, lse and the gradients are float32.
#include "attention.cuh"

#include "attention_operands.h"
#include "device.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;
using grimoire::cuda::AttentionCudaParams;
using grimoire::cuda::AttentionDtype;

namespace {

struct Dtype {
  AttentionDtype kind;
  const char* typestr;  // __cuda_array_interface__ typestr of the operands
  const char* numpy;    // CuPy dtype name of out
};

Dtype dtype_of(const py::object& q) {
  const std::string ts = cuda_interface(q, "q")["typestr"].cast<std::string>();
  if (ts == "<f4") return {AttentionDtype::f32, "<f4", "float32"};
  if (ts == "<u2") return {AttentionDtype::bf16, "<u2", "uint16"};
  if (ts == "<f2") return {AttentionDtype::f16, "<f2", "float16"};
  throw py::type_error("q must have dtype float32, bfloat16 (as uint16 bits) or float16, got " + typestr_name(ts));
}

// A 4-D operand of the call's dtype with a contiguous head dimension (float32 stands in for
// every 32-bit and uint16_t for both 16-bit types: only sizes and strides are read here).
template <typename T>
Strided<T> operand(const py::object& obj, const char* name, const Dtype& dt) {
  Strided<T> v = cuda_view<T>(obj, name, /*writable=*/false, dt.typestr);
  require_view_ndim(v, name, 4, 4);
  require_last_dim_contiguous(v, name);
  return v;
}

template <typename T>
py::object fill_params(AttentionCudaParams& p, const Dtype& dt, const py::object& q_obj, const py::object& k_obj,
                       const py::object& v_obj, bool causal, const py::object& scale, const py::object& mask_obj) {
  const Strided<T> q = operand<T>(q_obj, "q", dt), k = operand<T>(k_obj, "k", dt), v = operand<T>(v_obj, "v", dt);
  check_attention_shapes(q, k, v);
  p.dtype = dt.kind;
  p.batch = q.shape[0];
  p.heads = q.shape[1];
  p.kv_heads = k.shape[1];
  p.q_len = q.shape[2];
  p.k_len = k.shape[2];
  p.head_dim = q.shape[3];
  p.q = q.data;
  p.k = k.data;
  p.v = v.data;
  set_attention_strides(p.q_stride, q);
  set_attention_strides(p.k_stride, k);
  set_attention_strides(p.v_stride, v);
  p.causal = causal;
  p.scale = attention_scale(scale, p.head_dim);
  if (mask_obj.is_none()) return py::none();
  const std::vector<int64_t> target = {p.batch, p.heads, p.q_len, p.k_len};
  const std::string ts = cuda_interface(mask_obj, "mask")["typestr"].cast<std::string>();
  std::vector<int64_t> strides;
  if (ts == "|b1") {
    const Strided<uint8_t> m = cuda_view<uint8_t>(mask_obj, "mask", false, "|b1");
    check_mask_ndim(m.shape, target);
    p.mask_kind = AttentionMask::keep;
    p.mask = m.data;
    strides = broadcast_strides(m, target, "mask", "(batch, heads, q_len, k_len)");
  } else if (ts == "<f4") {
    const Strided<float> m = cuda_view<float>(mask_obj, "mask");
    check_mask_ndim(m.shape, target);
    p.mask_kind = AttentionMask::additive;
    p.mask = m.data;
    strides = broadcast_strides(m, target, "mask", "(batch, heads, q_len, k_len)");
  } else {
    throw py::type_error(mask_dtype_error(typestr_name(ts)));
  }
  std::copy(strides.begin(), strides.end(), p.mask_stride);
  return mask_obj;
}

int current_device() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

// Scratch from CuPy's pool (freed back to it, stream-ordered, when the call returns).
std::pair<py::object, grimoire::cuda::AttentionWorkspace> workspace(int64_t bytes) {
  if (bytes <= 0) return {py::none(), {}};
  auto [arr, view] = empty_view<uint8_t>({bytes}, "workspace");
  return {arr, {view.data, bytes}};
}

template <typename T>
py::tuple forward_typed(const Dtype& dt, const py::object& q, const py::object& k, const py::object& v, bool causal,
                        const py::object& scale, const py::object& mask) {
  AttentionCudaParams p;
  fill_params<T>(p, dt, q, k, v, causal, scale, mask);
  py::object out = empty({p.batch, p.heads, p.q_len, p.head_dim}, dt.numpy);
  auto [lse, lse_view] = empty_view<float>({p.batch, p.heads, p.q_len}, "lse");
  p.out = cuda_view<T>(out, "out", /*writable=*/true, dt.typestr).data;
  p.out_stride[0] = p.heads * p.q_len * p.head_dim;
  p.out_stride[1] = p.q_len * p.head_dim;
  p.out_stride[2] = p.head_dim;
  p.lse = lse_view.data;
  const int device = current_device();
  auto [ws_arr, ws] = workspace(grimoire::cuda::attention_forward_workspace(p, device));
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::attention_forward(p, ws, device, stream), "attention_forward");
  }
  return py::make_tuple(out, lse);
}

template <typename T>
py::tuple backward_typed(const Dtype& dt, const py::object& grad_out, const py::object& q, const py::object& k,
                         const py::object& v, const py::object& out_obj, const py::object& lse_obj, bool causal,
                         const py::object& scale, const py::object& mask) {
  AttentionCudaParams p;
  fill_params<T>(p, dt, q, k, v, causal, scale, mask);
  const std::vector<int64_t> q_shape = {p.batch, p.heads, p.q_len, p.head_dim};
  const Strided<T> go = operand<T>(grad_out, "grad_out", dt), out = operand<T>(out_obj, "out", dt);
  require_same_shape(go.shape, q_shape, "grad_out", "q");
  require_same_shape(out.shape, q_shape, "out", "q");
  const Strided<float> lse = cuda_contiguous_view<float>(lse_obj, "lse");
  require_same_shape(lse.shape, {p.batch, p.heads, p.q_len}, "lse", "(batch, heads, q_len) of q");
  p.grad_out = go.data;
  set_attention_strides(p.grad_out_stride, go);
  p.out = out.data;
  set_attention_strides(p.out_stride, out);
  p.lse = lse.data;
  auto [dq, dq_view] = empty_view<float>(q_shape, "dq");
  auto [dk, dk_view] = empty_view<float>({p.batch, p.kv_heads, p.k_len, p.head_dim}, "dk");
  auto [dv, dv_view] = empty_view<float>({p.batch, p.kv_heads, p.k_len, p.head_dim}, "dv");
  p.dq = dq_view.data;
  p.dk = dk_view.data;
  p.dv = dv_view.data;
  auto [ws_arr, ws] = workspace(grimoire::cuda::attention_backward_workspace(p));
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::attention_backward(p, ws, stream), "attention_backward");
  }
  return py::make_tuple(dq, dk, dv);
}

// The kernel path a call takes ("mma", "mma_splitk", "simt"): for the tests.
py::str forward_path(const py::object& q, const py::object& k, const py::object& v, bool causal) {
  const Dtype dt = dtype_of(q);
  AttentionCudaParams p;
  if (dt.kind == AttentionDtype::f32) fill_params<float>(p, dt, q, k, v, causal, py::none(), py::none());
  else fill_params<uint16_t>(p, dt, q, k, v, causal, py::none(), py::none());
  return grimoire::cuda::attention_forward_path(p, current_device());
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def(
      "attention_forward",
      [](const py::object& q, const py::object& k, const py::object& v, bool causal, const py::object& scale,
         const py::object& mask) {
        const Dtype dt = dtype_of(q);
        if (dt.kind == AttentionDtype::f32) return forward_typed<float>(dt, q, k, v, causal, scale, mask);
        return forward_typed<uint16_t>(dt, q, k, v, causal, scale, mask);
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false, py::arg("scale") = py::none(),
      py::arg("mask") = py::none(),
      "softmax(scale * q k^T + mask) v with grouped-query heads on device arrays; returns (out, lse).");
  m.def(
      "attention_backward",
      [](const py::object& grad_out, const py::object& q, const py::object& k, const py::object& v,
         const py::object& out, const py::object& lse, bool causal, const py::object& scale, const py::object& mask) {
        const Dtype dt = dtype_of(q);
        if (dt.kind == AttentionDtype::f32)
          return backward_typed<float>(dt, grad_out, q, k, v, out, lse, causal, scale, mask);
        return backward_typed<uint16_t>(dt, grad_out, q, k, v, out, lse, causal, scale, mask);
      },
      py::arg("grad_out"), py::arg("q"), py::arg("k"), py::arg("v"), py::arg("out"), py::arg("lse"),
      py::arg("causal") = false, py::arg("scale") = py::none(), py::arg("mask") = py::none(),
      "Gradients (dq, dk, dv) of attention_forward, float32, deterministic.");
  m.def("attention_forward_path", &forward_path, py::arg("q"), py::arg("k"), py::arg("v"),
        py::arg("causal") = false, "Which forward kernels a call takes: mma, mma_splitk or simt.");
  register_family(m, "attention",
                  std::vector<std::string>(std::begin(grimoire::cuda::kAttentionKernels),
                                           std::end(grimoire::cuda::kAttentionKernels)));
}
