// Bindings for the GEMM family: grimoire.kernels.gemm and grimoire.matmul sit on _core.gemm.
#include "grimoire/gemm.h"

#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "checks.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

// (batch, rows, cols) of a 2-D or 3-D operand, with element strides; a 2-D operand has batch 1
// and batch stride 0 so it broadcasts.
template <typename T>
struct Operand {
  const T* data;
  int64_t batch, rows, cols, batch_stride, row_stride, col_stride;
};

template <typename T>
Operand<T> operand(const Strided<T>& v, bool transpose) {
  Operand<T> o{v.data, 1, 0, 0, 0, 0, 0};
  const int off = v.ndim() == 3 ? 1 : 0;
  if (off) {
    o.batch = v.shape[0];
    o.batch_stride = v.shape[0] == 1 ? 0 : v.strides[0];
  }
  o.rows = v.shape[off];
  o.cols = v.shape[off + 1];
  o.row_stride = v.strides[off];
  o.col_stride = v.strides[off + 1];
  if (transpose) {
    std::swap(o.rows, o.cols);
    std::swap(o.row_stride, o.col_stride);
  }
  return o;
}

template <typename T>
py::array gemm_typed(const py::array& a_arr, const py::array& b_arr, py::object c_obj, double alpha,
                     double beta, bool trans_a, bool trans_b) {
  const Strided<T> av = view<T>(a_arr, "a");
  const Strided<T> bv = view<T>(b_arr, "b");
  const Operand<T> a = operand(av, trans_a), b = operand(bv, trans_b);
  if (a.cols != b.rows)
    throw py::value_error("inner dimensions differ: op(a) is " + shape_str({a.rows, a.cols}) + ", op(b) is " +
                          shape_str({b.rows, b.cols}) + " (a's columns must equal b's rows)");
  if (a.batch != b.batch && a.batch != 1 && b.batch != 1)
    throw py::value_error("batch sizes differ: a has " + std::to_string(a.batch) + ", b has " +
                          std::to_string(b.batch) + " (they must match, or one must be 1 or 2-D)");
  const int64_t batch = std::max(a.batch, b.batch);
  const bool batched = av.ndim() == 3 || bv.ndim() == 3;
  std::vector<int64_t> c_shape = batched ? std::vector<int64_t>{batch, a.rows, b.cols}
                                         : std::vector<int64_t>{a.rows, b.cols};
  py::array c_arr;
  if (c_obj.is_none()) {
    c_arr = empty<T>(c_shape);
    beta = 0.0;  // a fresh C holds garbage; beta*C would read it
  } else {
    c_arr = require_ndarray(c_obj, "c");
    if (!has_dtype<T>(c_arr))
      throw py::type_error(std::string("c must have the dtype of a and b (") + dtype_name<T>() + "), got " +
                           dtype_str(c_arr));
    require_same_shape(std::vector<int64_t>(c_arr.shape(), c_arr.shape() + c_arr.ndim()), c_shape, "c",
                       "op(a) @ op(b)");
    if (may_overlap(c_arr, a_arr) || may_overlap(c_arr, b_arr))
      throw py::value_error("c must not share memory with a or b (the product is written while they are read)");
  }
  const Strided<T> cv = view<T>(c_arr, "c", /*writable=*/true);
  GemmParams<T> p;
  p.m = a.rows; p.n = b.cols; p.k = a.cols;
  p.a = a.data; p.a_row_stride = a.row_stride; p.a_col_stride = a.col_stride;
  p.b = b.data; p.b_row_stride = b.row_stride; p.b_col_stride = b.col_stride;
  const int off = batched ? 1 : 0;
  p.c = cv.data; p.c_row_stride = cv.strides[off]; p.c_col_stride = cv.strides[off + 1];
  p.alpha = static_cast<T>(alpha);
  p.beta = static_cast<T>(beta);
  GemmBatch<T> bt;
  bt.batch = batch;
  bt.a_batch_stride = a.batch_stride;
  bt.b_batch_stride = b.batch_stride;
  bt.c_batch_stride = batched ? cv.strides[0] : 0;
  {
    py::gil_scoped_release release;
    if (batched) gemm_batched(p, bt);
    else gemm(p);
  }
  return c_arr;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](py::object a_obj, py::object b_obj, py::object c, double alpha, double beta, bool trans_a, bool trans_b) {
        py::array a = require_ndarray(a_obj, "a"), b = require_ndarray(b_obj, "b");
        require_ndim(a, "a", 2, 3);
        require_ndim(b, "b", 2, 3);
        if (has_dtype<float>(a) && has_dtype<float>(b)) return gemm_typed<float>(a, b, c, alpha, beta, trans_a, trans_b);
        if (has_dtype<double>(a) && has_dtype<double>(b)) return gemm_typed<double>(a, b, c, alpha, beta, trans_a, trans_b);
        throw py::type_error("a and b must both be float32 or both float64, got " + dtype_str(a) + " and " + dtype_str(b));
      },
      py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
      py::arg("trans_a") = false, py::arg("trans_b") = false);
  m.def(
      "fma_peak_flops",
      [](int64_t iterations, int threads) {
        if (iterations < 1) throw py::value_error("iterations must be >= 1, got " + std::to_string(iterations));
        if (threads < 1) throw py::value_error("threads must be >= 1, got " + std::to_string(threads));
        py::gil_scoped_release release;
        std::vector<double> per_thread(threads, 0.0);
#pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int t = 0; t < threads; ++t) per_thread[t] = fma_peak_flops(iterations);
        return per_thread;
      },
      py::arg("iterations") = 20000000, py::arg("threads") = 1,
      "float32 FLOP per CPU-second of a loop of independent AVX2 FMAs, one value per thread "
      "(each thread's own CPU time); 0.0 without AVX2+FMA.");
}
