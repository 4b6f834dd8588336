// grimoire._cuda.gemm: the CUDA twin of _core.gemm (same signature, same checks through
// gemm_operands.h), on device arrays, launched on CuPy's current stream.
#include "gemm.cuh"

#include "device.h"
#include "gemm_operands.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

template <typename T>
py::object gemm_typed(const py::object& a_obj, const py::object& b_obj, const py::object& c_obj, double alpha,
                      double beta, bool trans_a, bool trans_b) {
  const Strided<T> av = cuda_view<T>(a_obj, "a"), bv = cuda_view<T>(b_obj, "b");
  require_view_ndim(av, "a", 2, 3);
  require_view_ndim(bv, "b", 2, 3);
  const Operand<T> a = operand(av, trans_a), b = operand(bv, trans_b);
  check_inner(a.cols, b.rows, "op(a) is " + shape_str({a.rows, a.cols}), "op(b) is " + shape_str({b.rows, b.cols}));
  const int64_t batch = common_batch(a.batch, b.batch);
  const bool batched = av.ndim() == 3 || bv.ndim() == 3;
  const std::vector<int64_t> c_shape = batched ? std::vector<int64_t>{batch, a.rows, b.cols}
                                               : std::vector<int64_t>{a.rows, b.cols};
  py::object c_arr;
  Strided<T> cv;
  if (c_obj.is_none()) {
    std::tie(c_arr, cv) = empty_view<T>(c_shape, "c");
    beta = 0.0;  // a fresh C holds garbage; beta*C would read it
  } else {
    c_arr = c_obj;
    cv = cuda_view<T>(c_obj, "c", /*writable=*/true);
    require_same_shape(cv.shape, c_shape, "c", "op(a) @ op(b)");
    if (views_may_overlap(cv, av) || views_may_overlap(cv, bv))
      throw py::value_error("c must not share memory with a or b (the product is written while they are read)");
  }
  const int off = batched ? 1 : 0;
  GemmParams<T> p;
  p.m = a.rows; p.n = b.cols; p.k = a.cols;
  p.a = a.data; p.a_row_stride = a.row_stride; p.a_col_stride = a.col_stride;
  p.b = b.data; p.b_row_stride = b.row_stride; p.b_col_stride = b.col_stride;
  p.c = cv.data; p.c_row_stride = cv.strides[off]; p.c_col_stride = cv.strides[off + 1];
  p.alpha = static_cast<T>(finite_float(alpha, "alpha"));
  p.beta = static_cast<T>(finite_float(beta, "beta"));
  GemmBatch<T> bt;
  bt.batch = batch;
  bt.a_batch_stride = a.batch_stride;
  bt.b_batch_stride = b.batch_stride;
  bt.c_batch_stride = batched ? cv.strides[0] : 0;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::gemm(p, bt, stream), "gemm");
  }
  return c_arr;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](py::object a, py::object b, py::object c, double alpha, double beta, bool trans_a, bool trans_b) {
        const std::string ta = cuda_interface(a, "a")["typestr"].cast<std::string>();
        const std::string tb = cuda_interface(b, "b")["typestr"].cast<std::string>();
        if (ta == "<f4" && tb == "<f4") return gemm_typed<float>(a, b, c, alpha, beta, trans_a, trans_b);
        throw py::type_error("a and b must both be float32, got " + typestr_name(ta) + " and " + typestr_name(tb));
      },
      py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
      py::arg("trans_a") = false, py::arg("trans_b") = false,
      "C = alpha * op(A) @ op(B) + beta * C on device arrays; the twin of grimoire._core.gemm.");
  register_family(m, "gemm", {"gemm_f32_simt"});
}
