// grimoire._cuda.conv2d / conv2d_backward: the twins of _core's (same arguments, shape checks from
// conv_operands.h, same results), on device arrays. float32 operands give float32 results (SIMT);
// bf16 operands (uint16 bits: x, w and grad_out all bf16) run on tensor cores and give float32.
#include "conv.cuh"

#include <pybind11/stl.h>

#include "conv_operands.h"
#include "device.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

struct DeviceConv {
  Conv2dShape s;
  grimoire::cuda::ConvType type;
  const void *x, *w;
  const float* b = nullptr;
  std::vector<int64_t> x_shape, w_shape, y_shape;
  std::string typestr;
};

DeviceConv prepare(const py::object& x_obj, const py::object& w_obj, const py::object& b_obj, ConvPair stride,
                   ConvPair padding, ConvPair dilation, int64_t groups) {
  const std::string ts = cuda_interface(x_obj, "x")["typestr"].cast<std::string>();
  if (ts != "<f4" && ts != "<u2")
    throw py::type_error("x must have dtype float32 or bfloat16 (uint16 bits), got " + typestr_name(ts));
  DeviceConv c;
  c.typestr = ts;
  c.type = ts == "<f4" ? grimoire::cuda::ConvType::f32 : grimoire::cuda::ConvType::bf16;
  // float and uint16_t views differ only in the element size the strides are counted in.
  auto view4 = [&](const py::object& obj, const char* name, std::vector<int64_t>& shape) -> const void* {
    if (ts == "<f4") {
      const Strided<float> v = cuda_contiguous_view<float>(obj, name);
      require_view_ndim(v, name, 4, 4);
      shape = v.shape;
      return v.data;
    }
    const Strided<uint16_t> v = cuda_contiguous_view<uint16_t>(obj, name, false, "<u2");
    require_view_ndim(v, name, 4, 4);
    shape = v.shape;
    return v.data;
  };
  c.x = view4(x_obj, "x", c.x_shape);
  c.w = view4(w_obj, "w", c.w_shape);
  c.s = conv2d_shape(c.x_shape, c.w_shape, stride, padding, dilation, groups, c.y_shape);
  if (!b_obj.is_none()) {
    const Strided<float> bv = cuda_contiguous_view<float>(b_obj, "b");
    require_view_ndim(bv, "b", 1, 1);
    require_same_shape(bv.shape, {c.s.c_out}, "b", "w's output channels");
    c.b = bv.data;
  }
  return c;
}

py::object forward(const py::object& x, const py::object& w, const py::object& b, ConvPair stride,
                   ConvPair padding, ConvPair dilation, int64_t groups) {
  const DeviceConv c = prepare(x, w, b, stride, padding, dilation, groups);
  auto [y_arr, y] = empty_view<float>(c.y_shape, "y");
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::conv2d_forward(c.s, c.type, c.x, c.w, c.b, y.data, stream), "conv2d");
  }
  return y_arr;
}

py::tuple backward(const py::object& dy_obj, const py::object& x, const py::object& w, ConvPair stride,
                   ConvPair padding, ConvPair dilation, int64_t groups, bool need_x, bool need_w, bool need_b) {
  const DeviceConv c = prepare(x, w, py::none(), stride, padding, dilation, groups);
  const void* dy;
  std::vector<int64_t> dy_shape;
  if (c.typestr == "<f4") {
    const Strided<float> v = cuda_contiguous_view<float>(dy_obj, "grad_out");
    require_view_ndim(v, "grad_out", 4, 4);
    dy = v.data, dy_shape = v.shape;
  } else {
    const Strided<uint16_t> v = cuda_contiguous_view<uint16_t>(dy_obj, "grad_out", false, "<u2");
    require_view_ndim(v, "grad_out", 4, 4);
    dy = v.data, dy_shape = v.shape;
  }
  require_same_shape(dy_shape, c.y_shape, "grad_out", "the convolution's output");
  py::object dx = py::none(), dw = py::none(), db = py::none();
  float *dxp = nullptr, *dwp = nullptr, *dbp = nullptr;
  if (need_x) dx = empty(c.x_shape, "float32");
  if (need_w) dw = empty(c.w_shape, "float32");
  if (need_b) db = empty({c.s.c_out}, "float32");
  if (need_x) dxp = cuda_view<float>(dx, "dx", true).data;
  if (need_w) dwp = cuda_view<float>(dw, "dw", true).data;
  if (need_b) dbp = cuda_view<float>(db, "db", true).data;
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(grimoire::cuda::conv2d_backward(c.s, c.type, dy, c.x, c.w, dxp, dwp, dbp, stream), "conv2d_backward");
  }
  return py::make_tuple(dx, dw, db);
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d", &forward, py::arg("x"), py::arg("w"), py::arg("b"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"));
  m.def("conv2d_backward", &backward, py::arg("grad_out"), py::arg("x"), py::arg("w"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("need_x"), py::arg("need_w"),
        py::arg("need_b"));
  register_family(m, "conv", {"simt_gemm_kernel", "tc_gemm_kernel", "bias_grad_kernel"});
}
