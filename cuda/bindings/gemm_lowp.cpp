// grimoire._cuda's low-precision GEMMs: the twins of _core.gemm_int8 / linear_int8 / gemm_fp8 /
// gemm_bf16 (same names, arguments, checks and results), on device arrays. Operands the
// tensor-core kernels cannot read in place (not K-major, k not a multiple of 16, misaligned) are
// packed into a K-major, zero-padded scratch copy from CuPy's pool first.
#include "gemm.cuh"
#include "gemm_lowp.cuh"

#include "device.h"
#include "gemm_lowp_operands.h"
#include "quant_args.h"

#include <string>

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

// An 8-bit operand (rows, k) read through element strides, as the kernels need it: in place when
// it is K-major and aligned, else packed into `keep` (a scratch array that must outlive the launch).
template <typename T>
grimoire::cuda::KMajor8 k_major(const T* data, int64_t rows, int64_t k, int64_t row_stride, int64_t k_stride,
                                py::object& keep, cudaStream_t stream) {
  grimoire::cuda::KMajor8 op;
  op.rows = rows;
  if (grimoire::cuda::is_k_major8(data, k, row_stride, k_stride)) {
    op.data = data;
    op.k = k;
    op.ld = k <= 1 ? 16 : row_stride;
    return op;
  }
  const int64_t kp = grimoire::cuda::padded_k(k);
  keep = empty({rows, kp}, "uint8");
  void* dst = reinterpret_cast<void*>(cuda_view<uint8_t>(keep, "scratch", true).data);
  check(grimoire::cuda::pack_k_major(data, rows, k, row_stride, k_stride, dst, stream), "gemm operand packing");
  op.data = dst;
  op.k = kp;
  op.ld = kp;
  return op;
}

py::object gemm_int8_cuda(const py::object& a_obj, const py::object& b_obj, bool trans_b) {
  const Strided<int8_t> a = cuda_view<int8_t>(a_obj, "a"), b = cuda_view<int8_t>(b_obj, "b");
  require_view_ndim(a, "a", 2, 2);
  require_view_ndim(b, "b", 2, 2);
  const Int8GemmShape s = int8_gemm_shape(a, b, trans_b);
  auto [c_arr, c] = empty_view<int32_t>({s.m, s.n}, "c");
  if (s.m == 0 || s.n == 0) return c_arr;
  const cudaStream_t stream = current_stream();
  if (s.k == 0) {
    check(cudaMemsetAsync(c.data, 0, sizeof(int32_t) * s.m * s.n, stream), "gemm_int8");
    return c_arr;
  }
  py::object keep_a, keep_b;
  const auto ka = k_major(a.data, s.m, s.k, a.strides[0], a.strides[1], keep_a, stream);
  // op(B) seen as (n, k): its row stride steps j (b_col_stride), its k stride is b_row_stride.
  const auto kb = k_major(b.data, s.n, s.k, s.b_col_stride, s.b_row_stride, keep_b, stream);
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::gemm_int8(ka, kb, c.data, s.n, stream), "gemm_int8");
  }
  return c_arr;
}

py::object linear_int8_cuda(const py::object& x_obj, const py::object& w_obj, const py::object& ws_obj,
                            const py::object& bias_obj) {
  const Strided<float> x = cuda_view<float>(x_obj, "x"), ws = cuda_view<float>(ws_obj, "w_scale");
  const Strided<int8_t> w = cuda_view<int8_t>(w_obj, "w_q");
  require_view_ndim(x, "x", 2, 2);
  require_view_ndim(w, "w_q", 2, 2);
  require_view_ndim(ws, "w_scale", 1, 1);
  if (!is_c_contiguous(x)) throw py::value_error("x must be C-contiguous (use cupy.ascontiguousarray)");
  if (!is_c_contiguous(w)) throw py::value_error("w_q must be C-contiguous (use cupy.ascontiguousarray)");
  if (!is_c_contiguous(ws)) throw py::value_error("w_scale must be C-contiguous (use cupy.ascontiguousarray)");
  linear_int8_shapes(x.shape, w.shape, ws.shape);
  const int64_t m = x.shape[0], k = x.shape[1], n = w.shape[0];
  const float* bias = nullptr;
  if (!bias_obj.is_none()) {
    const Strided<float> b = cuda_contiguous_view<float>(bias_obj, "bias");
    require_same_shape(b.shape, {n}, "bias", "w_q's rows");
    bias = b.data;
  }
  auto [y_arr, y] = empty_view<float>({m, n}, "y");
  if (m == 0 || n == 0) return y_arr;
  const cudaStream_t stream = current_stream();
  const int64_t kp = grimoire::cuda::padded_k(k);
  py::object xq_arr = empty({m, kp}, "int8"), sx_arr = empty({m}, "float32");
  py::object flag = py::module_::import("cupy").attr("zeros")(1, "int32");
  grimoire::cuda::KMajor8 xq;
  xq.data = cuda_view<int8_t>(xq_arr, "scratch", true).data;
  xq.rows = m;
  xq.k = kp;
  xq.ld = kp;
  float* sx = cuda_view<float>(sx_arr, "scratch", true).data;
  int* bad = cuda_view<int32_t>(flag, "scratch", true).data;
  check(grimoire::cuda::quantize_rows_int8(x.data, m, k, static_cast<int8_t*>(const_cast<void*>(xq.data)), kp, sx,
                                           bad, stream),
        "linear_int8 quantisation");
  py::object keep_w;
  // In place (k % 16 == 0, so k == kp) or packed to kp columns: W's k matches xq's.
  const grimoire::cuda::KMajor8 kw = k_major(w.data, n, k, k, 1, keep_w, stream);
  check(grimoire::cuda::linear_int8(xq, kw, sx, ws.data, bias, y.data, stream), "linear_int8");
  if (flag.attr("item")().cast<int>() != 0)  // waits for the stream
    throw py::value_error("x must be finite to be quantised to int8 (it holds NaN or inf)");
  return y_arr;
}

// (m, k) @ (k, n) contiguous 2-D operands of one typestr.
template <typename T>
std::pair<Strided<T>, Strided<T>> contiguous_pair(const py::object& a_obj, const py::object& b_obj,
                                                  const char* typestr = nullptr) {
  Strided<T> a = cuda_view<T>(a_obj, "a", false, typestr), b = cuda_view<T>(b_obj, "b", false, typestr);
  require_view_ndim(a, "a", 2, 2);
  require_view_ndim(b, "b", 2, 2);
  if (!is_c_contiguous(a)) throw py::value_error("a must be C-contiguous (use cupy.ascontiguousarray)");
  if (!is_c_contiguous(b)) throw py::value_error("b must be C-contiguous (use cupy.ascontiguousarray)");
  lowp_inner(a.shape, b.shape);
  return {a, b};
}

py::object gemm_fp8_cuda(const py::object& a_obj, const py::object& b_obj, double scale_a, double scale_b,
                         const std::string& fmt_a, const std::string& fmt_b) {
  const Fp8Format fa = fp8_format(fmt_a, "fmt_a"), fb = fp8_format(fmt_b, "fmt_b");
  auto [a, b] = contiguous_pair<uint8_t>(a_obj, b_obj);
  const int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  auto [c_arr, c] = empty_view<float>({m, n}, "c");
  if (m == 0 || n == 0) return c_arr;
  const cudaStream_t stream = current_stream();
  if (k == 0) {
    check(cudaMemsetAsync(c.data, 0, sizeof(float) * m * n, stream), "gemm_fp8");
    return c_arr;
  }
  py::object keep_a, keep_b;
  const auto ka = k_major(a.data, m, k, k, 1, keep_a, stream);
  const auto kb = k_major(b.data, n, k, 1, n, keep_b, stream);  // B (k, n) row-major seen as (n, k)
  const float alpha = static_cast<float>(scale_a) * static_cast<float>(scale_b);
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::gemm_fp8(ka, kb, alpha, fa, fb, c.data, n, stream), "gemm_fp8");
  }
  return c_arr;
}

py::object gemm_bf16_cuda(const py::object& a_obj, const py::object& b_obj) {
  auto [a, b] = contiguous_pair<uint16_t>(a_obj, b_obj, "<u2");
  const int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  auto [c_arr, c] = empty_view<float>({m, n}, "c");
  grimoire::cuda::Gemm16Params p;
  p.m = m; p.n = n; p.k = k;
  p.a = a.data; p.a_row_stride = k; p.a_col_stride = 1;
  p.b = b.data; p.b_row_stride = n; p.b_col_stride = 1;
  p.c = c.data; p.c_row_stride = n; p.c_col_stride = 1;
  p.type = grimoire::cuda::Half::bf16;
  GemmBatch<float> bt;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::gemm16(p, bt, stream), "gemm_bf16");
  }
  return c_arr;
}

}  // namespace

void bind_gemm_lowp(py::module_& m) {
  m.def("gemm_int8", &gemm_int8_cuda, py::arg("a"), py::arg("b"), py::arg("trans_b"));
  m.def("linear_int8", &linear_int8_cuda, py::arg("x"), py::arg("w_q"), py::arg("w_scale"), py::arg("bias"));
  m.def("gemm_fp8", &gemm_fp8_cuda, py::arg("a"), py::arg("b"), py::arg("scale_a"), py::arg("scale_b"),
        py::arg("fmt_a"), py::arg("fmt_b"));
  m.def("gemm_bf16", &gemm_bf16_cuda, py::arg("a"), py::arg("b"));
  register_family(m, "gemm_lowp", {"tc_gemm_kernel", "quantize_rows_kernel", "pack_k_major_kernel"});
}
