// grimoire._cuda max_pool2d / avg_pool2d and their backwards: the twins of _core's (same names,
// signatures, returns; the shape checks of pool_shapes.h), on device arrays, on CuPy's stream.
#include "pool.cuh"

#include <pybind11/stl.h>

#include "device.h"
#include "pool_shapes.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

Strided<float> input4d(const py::object& obj, const char* name) {
  const Strided<float> v = cuda_contiguous_view<float>(obj, name);
  require_view_ndim(v, name, 4, 4);
  return v;
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def(
      "max_pool2d",
      [](py::object x_obj, Pair kernel, Pair stride, Pair padding) {
        const Strided<float> x = input4d(x_obj, "x");
        const Pool2dShape s = pool_shape(x.shape, kernel, stride, padding);
        const std::vector<int64_t> out{s.n, s.c, s.out_h(), s.out_w()};
        auto [y_arr, y] = empty_view<float>(out, "y");
        auto [idx_arr, idx] = empty_view<int64_t>(out, "indices");
        const cudaStream_t stream = current_stream();
        {
          py::gil_scoped_release release;
          check(cuda::max_pool2d_forward(s, x.data, y.data, idx.data, stream), "max_pool2d");
        }
        return py::make_tuple(y_arr, idx_arr);
      },
      py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"));

  // Out-of-range indices must raise the CPU's ValueError: the flag is read back (synchronising).
  m.def(
      "max_pool2d_backward",
      [](py::object dy_obj, py::object idx_obj, std::vector<int64_t> input_shape) {
        const Strided<float> dy = input4d(dy_obj, "grad_out");
        const Strided<int64_t> idx = cuda_contiguous_view<int64_t>(idx_obj, "indices");
        const std::vector<int64_t> in = input_shape_arg(input_shape);
        const int64_t in_size = check_max_pool_backward(dy.shape, idx.shape, in);
        auto [dx_arr, dx] = empty_view<float>(in, "grad_x");
        auto [bad_arr, bad] = empty_view<int32_t>({1}, "bad");
        int32_t host_bad = 0;
        const cudaStream_t stream = current_stream();
        {
          py::gil_scoped_release release;
          check(cuda::max_pool2d_backward(in[0] * in[1], in_size, dy.shape[2] * dy.shape[3], dy.data, idx.data,
                                          dx.data, bad.data, stream),
                "max_pool2d_backward");
          check(cudaMemcpyAsync(&host_bad, bad.data, sizeof(int32_t), cudaMemcpyDeviceToHost, stream),
                "max_pool2d_backward (copy back)");
          check(cudaStreamSynchronize(stream), "max_pool2d_backward (synchronise)");
        }
        if (host_bad) throw_bad_pool_indices(in_size);
        return dx_arr;
      },
      py::arg("grad_out"), py::arg("indices"), py::arg("input_shape"));

  m.def(
      "avg_pool2d",
      [](py::object x_obj, Pair kernel, Pair stride, Pair padding, bool count_include_pad) {
        const Strided<float> x = input4d(x_obj, "x");
        const Pool2dShape s = pool_shape(x.shape, kernel, stride, padding);
        auto [y_arr, y] = empty_view<float>({s.n, s.c, s.out_h(), s.out_w()}, "y");
        const cudaStream_t stream = current_stream();
        {
          py::gil_scoped_release release;
          check(cuda::avg_pool2d_forward(s, x.data, y.data, count_include_pad, stream), "avg_pool2d");
        }
        return y_arr;
      },
      py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("count_include_pad"));

  m.def(
      "avg_pool2d_backward",
      [](py::object dy_obj, std::vector<int64_t> input_shape, Pair kernel, Pair stride, Pair padding,
         bool count_include_pad) {
        const Strided<float> dy = input4d(dy_obj, "grad_out");
        const std::vector<int64_t> in = input_shape_arg(input_shape);
        const Pool2dShape s = pool_shape(in, kernel, stride, padding);
        require_same_shape(dy.shape, {s.n, s.c, s.out_h(), s.out_w()}, "grad_out", "the pooling's output");
        auto [dx_arr, dx] = empty_view<float>(in, "grad_x");
        const cudaStream_t stream = current_stream();
        {
          py::gil_scoped_release release;
          check(cuda::avg_pool2d_backward(s, dy.data, dx.data, count_include_pad, stream), "avg_pool2d_backward");
        }
        return dx_arr;
      },
      py::arg("grad_out"), py::arg("input_shape"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("count_include_pad"));
  register_family(m, "pool", {"max_pool_forward_kernel", "max_pool_backward_kernel", "avg_pool_forward_kernel",
                              "avg_pool_backward_kernel"});
}
