// grimoire._cuda.gemm: the CUDA twin of _core.gemm (same signature, same checks through
// gemm_operands.h), on device arrays, launched on CuPy's current stream.
#include "gemm.cuh"

#include "device.h"
#include "gemm_operands.h"

#include <string>
#include <type_traits>

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

// T is the operands' element (float, or uint16_t for bf16 bits and fp16 with `typestr`); C is
// float32 for all of them.
template <typename T>
py::object gemm_typed(const py::object& a_obj, const py::object& b_obj, const py::object& c_obj, double alpha,
                      double beta, bool trans_a, bool trans_b, const char* typestr = nullptr) {
  const Strided<T> av = cuda_view<T>(a_obj, "a", false, typestr), bv = cuda_view<T>(b_obj, "b", false, typestr);
  require_view_ndim(av, "a", 2, 3);
  require_view_ndim(bv, "b", 2, 3);
  const Operand<T> a = operand(av, trans_a), b = operand(bv, trans_b);
  check_inner(a.cols, b.rows, "op(a) is " + shape_str({a.rows, a.cols}), "op(b) is " + shape_str({b.rows, b.cols}));
  const int64_t batch = common_batch(a.batch, b.batch);
  const bool batched = av.ndim() == 3 || bv.ndim() == 3;
  const std::vector<int64_t> c_shape = batched ? std::vector<int64_t>{batch, a.rows, b.cols}
                                               : std::vector<int64_t>{a.rows, b.cols};
  py::object c_arr;
  Strided<float> cv;
  if (c_obj.is_none()) {
    std::tie(c_arr, cv) = empty_view<float>(c_shape, "c");
    beta = 0.0;  // a fresh C holds garbage; beta*C would read it
  } else {
    c_arr = c_obj;
    cv = cuda_view<float>(c_obj, "c", /*writable=*/true);
    require_same_shape(cv.shape, c_shape, "c", "op(a) @ op(b)");
    if (views_may_overlap(cv, av) || views_may_overlap(cv, bv))
      throw py::value_error("c must not share memory with a or b (the product is written while they are read)");
  }
  const int off = batched ? 1 : 0;
  std::conditional_t<std::is_same_v<T, float>, GemmParams<float>, grimoire::cuda::Gemm16Params> p;
  p.m = a.rows; p.n = b.cols; p.k = a.cols;
  p.a = a.data; p.a_row_stride = a.row_stride; p.a_col_stride = a.col_stride;
  p.b = b.data; p.b_row_stride = b.row_stride; p.b_col_stride = b.col_stride;
  p.c = cv.data; p.c_row_stride = cv.strides[off]; p.c_col_stride = cv.strides[off + 1];
  p.alpha = finite_float(alpha, "alpha");
  p.beta = finite_float(beta, "beta");
  GemmBatch<float> bt;
  bt.batch = batch;
  bt.a_batch_stride = a.batch_stride;
  bt.b_batch_stride = b.batch_stride;
  bt.c_batch_stride = batched ? cv.strides[0] : 0;
  const cudaStream_t stream = current_stream();
  if constexpr (std::is_same_v<T, float>) {
    py::gil_scoped_release release;
    check(grimoire::cuda::gemm(p, bt, stream), "gemm");
  } else {
    p.type = std::string(typestr) == "<f2" ? grimoire::cuda::Half::f16 : grimoire::cuda::Half::bf16;
    py::gil_scoped_release release;
    check(grimoire::cuda::gemm16(p, bt, stream), "gemm");
  }
  return c_arr;
}

// Dispatch on the operands' dtype: float32 (SIMT), bf16 bits (uint16) or float16 (tensor cores).
py::object gemm_any(const py::object& a, const py::object& b, const py::object& c, double alpha, double beta,
                    bool trans_a, bool trans_b) {
  const std::string ta = cuda_interface(a, "a")["typestr"].cast<std::string>();
  const std::string tb = cuda_interface(b, "b")["typestr"].cast<std::string>();
  if (ta == tb && ta == "<f4") return gemm_typed<float>(a, b, c, alpha, beta, trans_a, trans_b);
  if (ta == tb && (ta == "<u2" || ta == "<f2"))
    return gemm_typed<uint16_t>(a, b, c, alpha, beta, trans_a, trans_b, ta == "<u2" ? "<u2" : "<f2");
  throw py::type_error("a and b must both be float32, both bfloat16 (uint16 bits) or both float16, got " +
                       typestr_name(ta) + " and " + typestr_name(tb));
}

// numpy.matmul for 1-D to 3-D device operands: the 1-D promotion of the CPU binding
// (vector_operand), the product from gemm (float32 C; bf16 / fp16 operands on tensor cores).
py::object matmul_cuda(const py::object& a_obj, const py::object& b_obj) {
  const std::string ta = cuda_interface(a_obj, "a")["typestr"].cast<std::string>();
  const std::string tb = cuda_interface(b_obj, "b")["typestr"].cast<std::string>();
  if (ta != tb || (ta != "<f4" && ta != "<u2" && ta != "<f2"))
    throw py::type_error("a and b must both be float32, both bfloat16 (uint16 bits) or both float16, got " +
                         typestr_name(ta) + " and " + typestr_name(tb));
  // Views with the element size of the dtype (float32 or 16-bit); the shapes decide the rest.
  auto shapes = [&](auto tag) {
    using T = decltype(tag);
    const char* ts = std::is_same_v<T, float> ? nullptr : ta.c_str();
    const Strided<T> av = cuda_view<T>(a_obj, "a", false, ts), bv = cuda_view<T>(b_obj, "b", false, ts);
    require_view_ndim(av, "a", 1, 3);
    require_view_ndim(bv, "b", 1, 3);
    const Operand<T> a = av.ndim() == 1 ? vector_operand(av, true) : operand(av, false);
    const Operand<T> b = bv.ndim() == 1 ? vector_operand(bv, false) : operand(bv, false);
    check_inner(a.cols, b.rows, "a has shape " + shape_str(av.shape), "b has shape " + shape_str(bv.shape));
    const int64_t batch = common_batch(a.batch, b.batch);
    std::vector<int64_t> shape;
    if (av.ndim() == 3 || bv.ndim() == 3) shape.push_back(batch);
    if (av.ndim() != 1) shape.push_back(a.rows);
    if (bv.ndim() != 1) shape.push_back(b.cols);
    auto [c_arr, cv] = empty_view<float>(shape, "c");
    std::conditional_t<std::is_same_v<T, float>, GemmParams<float>, grimoire::cuda::Gemm16Params> p;
    p.m = a.rows; p.n = b.cols; p.k = a.cols;
    p.a = a.data; p.a_row_stride = a.row_stride; p.a_col_stride = a.col_stride;
    p.b = b.data; p.b_row_stride = b.row_stride; p.b_col_stride = b.col_stride;
    p.c = cv.data; p.c_row_stride = b.cols; p.c_col_stride = 1;  // C-contiguous (batch, m, n)
    GemmBatch<float> bt;
    bt.batch = batch;
    bt.a_batch_stride = a.batch_stride;
    bt.b_batch_stride = b.batch_stride;
    bt.c_batch_stride = a.rows * b.cols;
    const cudaStream_t stream = current_stream();
    if constexpr (std::is_same_v<T, float>) {
      py::gil_scoped_release release;
      check(grimoire::cuda::gemm(p, bt, stream), "matmul");
    } else {
      p.type = ta == "<f2" ? grimoire::cuda::Half::f16 : grimoire::cuda::Half::bf16;
      py::gil_scoped_release release;
      check(grimoire::cuda::gemm16(p, bt, stream), "matmul");
    }
    return c_arr;
  };
  if (ta == "<f4") return shapes(float{});
  return shapes(uint16_t{});
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      &gemm_any,
      py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
      py::arg("trans_a") = false, py::arg("trans_b") = false,
      "C = alpha * op(A) @ op(B) + beta * C on device arrays; the twin of grimoire._core.gemm. "
      "float32 operands run on the CUDA cores; bf16 (uint16 bits) and float16 operands on the tensor "
      "cores with float32 accumulation; C is float32 in every case. On an sm_90 GPU with "
      "GRIMOIRE_CUDA_WGMMA=1 in the environment, 16-bit operands that are both K-major (a row-major, "
      "b given with trans_b=True) run on the Hopper wgmma kernel instead: opt-in until it has been "
      "verified against the CPU core on a GPU (gemm_path says which kernel a call takes).");
  m.def(
      "gemm_path",
      [](py::object a, py::object b, bool trans_a, bool trans_b) -> std::string {
        // The kernel gemm would pick for 16-bit operands (for tests of the dispatch): "simt",
        // "tc_<A layout>_<B layout>" (mma.sync) or "wgmma" (opted in, sm_90 device).
        const std::string ta = cuda_interface(a, "a")["typestr"].cast<std::string>();
        if (ta == "<f4") return "simt";
        const Strided<uint16_t> av = cuda_view<uint16_t>(a, "a", false, ta.c_str());
        const Strided<uint16_t> bv = cuda_view<uint16_t>(b, "b", false, ta.c_str());
        const Operand<uint16_t> oa = operand(av, trans_a), ob = operand(bv, trans_b);
        grimoire::cuda::Gemm16Params p;
        p.m = oa.rows; p.n = ob.cols; p.k = oa.cols;
        p.a = oa.data; p.a_row_stride = oa.row_stride; p.a_col_stride = oa.col_stride;
        p.b = ob.data; p.b_row_stride = ob.row_stride; p.b_col_stride = ob.col_stride;
        GemmBatch<float> bt;
        bt.a_batch_stride = oa.batch_stride;
        bt.b_batch_stride = ob.batch_stride;
        return grimoire::cuda::gemm16_path(p, bt);
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      "The kernel gemm(a, b, trans_a=trans_a, trans_b=trans_b) would run for these operands: 'simt' "
      "(float32, or 16-bit views without a contiguous dimension), 'tc_<a>_<b>' (mma.sync; k = K-major, "
      "mn = M/N-major) or 'wgmma' (Hopper; only with GRIMOIRE_CUDA_WGMMA=1 on an sm_90 device).");
  m.def("matmul", &matmul_cuda, py::arg("a"), py::arg("b"),
        "numpy.matmul semantics on device arrays (1-D to 3-D); float32 result.");
  register_family(m, "gemm", {"simt_gemm_kernel", "tc_gemm_kernel", "wgmma_gemm_kernel"});
}
