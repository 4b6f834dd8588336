// Bindings for the GEMM family: grimoire.kernels.gemm sits on _core.gemm, grimoire.matmul on
// _core.matmul (NumPy's matmul semantics, with the 1-D promotion done here so the Python side
// stays a single call).
#include "grimoire/gemm.h"

#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "checks.h"
#include "gemm_operands.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;

namespace {

// C[i] = alpha * A[i] @ B[i] + beta * C[i] for i < batch; the GIL is released around the kernel.
template <typename T>
void launch(const Operand<T>& a, const Operand<T>& b, T* c, int64_t c_batch_stride, int64_t c_row_stride,
            int64_t c_col_stride, double alpha, double beta, int64_t batch) {
  GemmParams<T> p;
  p.m = a.rows; p.n = b.cols; p.k = a.cols;
  p.a = a.data; p.a_row_stride = a.row_stride; p.a_col_stride = a.col_stride;
  p.b = b.data; p.b_row_stride = b.row_stride; p.b_col_stride = b.col_stride;
  p.c = c; p.c_row_stride = c_row_stride; p.c_col_stride = c_col_stride;
  p.alpha = static_cast<T>(alpha);
  p.beta = static_cast<T>(beta);
  // An empty C has nothing to write (a batch of 2**40 empty products was 2**40 empty loops).
  if (p.m == 0 || p.n == 0 || batch == 0) return;
  // Small products stay on this thread with the GIL held: releasing it costs more than they do.
  const double flops = 2.0 * static_cast<double>(p.m) * p.n * p.k * batch;
  const bool small = flops < 65536.0;
  if (batch == 1) {
    if (small) return gemm(p);
    // A large product goes in tiles of C (at least kMinTile a side, about kFlopsPerTile of work:
    // a fraction of a second) so that Ctrl-C is seen between tiles. A tile's elements are
    // computed exactly as in the whole product (the same k blocking); B is re-packed per row of
    // tiles, which costs 1 / (2 * kMinTile) of the arithmetic.
    constexpr double kFlopsPerTile = 2e9;
    constexpr int64_t kMinTile = 512;
    int64_t tile_m = p.m, tile_n = p.n;
    while (2.0 * tile_m * tile_n * p.k > kFlopsPerTile && (tile_m >= 2 * kMinTile || tile_n >= 2 * kMinTile)) {
      if (tile_m >= tile_n) tile_m = (tile_m + 1) / 2;
      else tile_n = (tile_n + 1) / 2;
    }
    Interruptible interrupt;
    {
      py::gil_scoped_release release;
      for (int64_t r0 = 0; r0 < p.m && !interrupted(); r0 += tile_m)
        for (int64_t c0 = 0; c0 < p.n && !interrupted(); c0 += tile_n) {
          GemmParams<T> q = p;
          q.m = std::min(tile_m, p.m - r0);
          q.n = std::min(tile_n, p.n - c0);
          q.a = p.a + r0 * p.a_row_stride;
          q.b = p.b + c0 * p.b_col_stride;
          q.c = p.c + r0 * p.c_row_stride + c0 * p.c_col_stride;
          gemm(q);
        }
    }
    interrupt.raise_if_interrupted();
    return;
  }
  GemmBatch<T> bt;
  bt.batch = batch;
  bt.a_batch_stride = a.batch_stride;
  bt.b_batch_stride = b.batch_stride;
  bt.c_batch_stride = c_batch_stride;
  if (small) return gemm_batched(p, bt);
  py::gil_scoped_release release;
  gemm_batched(p, bt);
}

template <typename T>
py::array gemm_typed(const py::array& a_arr, const py::array& b_arr, py::object c_obj, double alpha,
                     double beta, bool trans_a, bool trans_b) {
  checked_scalar<T>(alpha, "alpha");
  checked_scalar<T>(beta, "beta");
  const Strided<T> av = view<T>(a_arr, "a");
  const Strided<T> bv = view<T>(b_arr, "b");
  const Operand<T> a = operand(av, trans_a), b = operand(bv, trans_b);
  check_inner(a.cols, b.rows, "op(a) is " + shape_str({a.rows, a.cols}), "op(b) is " + shape_str({b.rows, b.cols}));
  const int64_t batch = common_batch(a.batch, b.batch);
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
    require_no_internal_overlap(c_arr, "c");
    if (may_overlap(c_arr, a_arr) || may_overlap(c_arr, b_arr))
      throw py::value_error("c must not share memory with a or b (the product is written while they are read)");
  }
  const Strided<T> cv = view<T>(c_arr, "c", /*writable=*/true);
  const int off = batched ? 1 : 0;
  launch(a, b, cv.data, batched ? cv.strides[0] : 0, cv.strides[off], cv.strides[off + 1], alpha, beta, batch);
  return c_arr;
}

// numpy.matmul for 1-D to 3-D operands of one float dtype.
template <typename T>
py::object matmul_typed(const py::array& a_arr, const py::array& b_arr) {
  const Strided<T> av = view<T>(a_arr, "a");
  const Strided<T> bv = view<T>(b_arr, "b");
  const Operand<T> a = av.ndim() == 1 ? vector_operand(av, true) : operand(av, false);
  const Operand<T> b = bv.ndim() == 1 ? vector_operand(bv, false) : operand(bv, false);
  check_inner(a.cols, b.rows, "a has shape " + shape_str(av.shape), "b has shape " + shape_str(bv.shape));
  const int64_t batch = common_batch(a.batch, b.batch);
  std::vector<int64_t> shape;
  if (av.ndim() == 3 || bv.ndim() == 3) shape.push_back(batch);
  if (av.ndim() != 1) shape.push_back(a.rows);
  if (bv.ndim() != 1) shape.push_back(b.cols);
  // C-contiguous (batch, m, n) whatever the promoted axes, so the squeezed shape shares its layout.
  py::array c_arr = empty<T>(shape);
  T* c = static_cast<T*>(c_arr.mutable_data());
  launch(a, b, c, a.rows * b.cols, b.cols, 1, 1.0, 0.0, batch);
  if (shape.empty()) return c_arr[py::tuple()];  // vector @ vector is a scalar, as in NumPy
  return std::move(c_arr);
}

bool is_float(const py::array& a) { return has_dtype<float>(a) || has_dtype<double>(a); }

void require_float(const py::array& a, const char* name) {
  if (!is_float(a))
    throw py::type_error(std::string(name) + " must have dtype float32 or float64, got " + dtype_str(a));
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
      "matmul",
      [](py::object a_obj, py::object b_obj) -> py::object {
        py::array a = require_ndarray(a_obj, "a"), b = require_ndarray(b_obj, "b");
        require_float(a, "a");
        require_float(b, "b");
        require_ndim(a, "a", 1, 3);
        require_ndim(b, "b", 1, 3);
        if (!a.dtype().is(b.dtype())) {  // float32 with float64: float64, as numpy.matmul
          if (has_dtype<float>(a)) a = a.attr("astype")("float64");
          else b = b.attr("astype")("float64");
        }
        if (has_dtype<float>(a)) return matmul_typed<float>(a, b);
        return matmul_typed<double>(a, b);
      },
      py::arg("a"), py::arg("b"));
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
      "float32 FLOP per CPU-second of a loop of independent FMAs as wide as the gemm path in use "
      "(16 lanes on avx512, 8 on avx2), one value per thread (each thread's own CPU time); 0.0 on "
      "the scalar path.");
}
