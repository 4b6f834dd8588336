// grimoire._cuda quantize_int8 / dequantize_int8 / to_fp8 / from_fp8 / to_bf16 / from_bf16: the
// twins of _core's (same names, signatures, returns; the checks of quant_args.h), on device
// arrays, on CuPy's stream. Given scales and zero points are checked on the host (a copy of a
// few values back); computed ones report non-finite x through a flag read back after the launch,
// so quantize_int8 synchronises, as its ValueError needs.
#include "quant.cuh"

#include <vector>

#include "device.h"
#include "quant_args.h"

namespace py = pybind11;
using namespace grimoire;
using namespace grimoire::bind;
using namespace grimoire::cudabind;

namespace {

// A 1-D device array of T with any stride, copied to the host (the values are few: one per channel).
// The copies are ordered on CuPy's current stream and waited for: a plain cudaMemcpy runs on the
// legacy default stream, which does not wait for a non-blocking stream (cupy.cuda.Stream(
// non_blocking=True)), so it could read the values before the kernel producing them has run.
template <typename T>
std::vector<T> to_host(const Strided<T>& v, cudaStream_t stream) {
  std::vector<T> out(v.size());
  if (out.empty()) return out;
  if (v.strides[0] == 1) {
    check(cudaMemcpyAsync(out.data(), v.data, out.size() * sizeof(T), cudaMemcpyDeviceToHost, stream),
          "copying scale/zero_point to the host");
  } else {
    for (size_t i = 0; i < out.size(); ++i)  // any other stride (0, negative): one value at a time
      check(cudaMemcpyAsync(&out[i], v.data + static_cast<int64_t>(i) * v.strides[0], sizeof(T),
                            cudaMemcpyDeviceToHost, stream),
            "copying scale/zero_point to the host");
  }
  check(cudaStreamSynchronize(stream), "copying scale/zero_point to the host (synchronise)");
  return out;
}

// Given scale / zero_point (device arrays): their dtype and shape (checked before anything is
// allocated, as the CPU checks them first) ...
std::pair<Strided<float>, Strided<int32_t>> given_qparam_views(const py::object& scale_obj, const py::object& zp_obj,
                                                               const QuantInt8Params& p) {
  const Strided<float> s = cuda_view<float>(scale_obj, "scale");
  const Strided<int32_t> z = cuda_view<int32_t>(zp_obj, "zero_point");
  require_view_ndim(s, "scale", 1, 1);
  require_view_ndim(z, "zero_point", 1, 1);
  require_same_shape(s.shape, {p.channels}, "scale", "the quantised axis");
  require_same_shape(z.shape, {p.channels}, "zero_point", "the quantised axis");
  return {s, z};
}

// ... then their values, on the host as the CPU checks them, written contiguously into the
// arrays the kernel reads. The upload is ordered on `stream` too: the destination comes from
// CuPy's pool, whose blocks are reused in stream order, so a legacy-stream cudaMemcpy could
// overwrite a block that earlier work on a non-blocking stream still reads. (cudaMemcpyAsync
// from pageable memory returns once the host buffer has been staged, so hs/hz may then go.)
void given_qparam_values(const Strided<float>& s, const Strided<int32_t>& z, const QuantInt8Params& p,
                         const Strided<float>& scale_out, const Strided<int32_t>& zp_out, cudaStream_t stream) {
  std::vector<float> hs = to_host(s, stream);
  std::vector<int32_t> hz = to_host(z, stream);
  const Strided<float> hsv{hs.data(), s.shape, {1}};
  const Strided<int32_t> hzv{hz.data(), z.shape, {1}};
  check_qparams(hsv, hzv, p);
  check(cudaMemcpyAsync(scale_out.data, hs.data(), hs.size() * sizeof(float), cudaMemcpyHostToDevice, stream),
        "copying scale");
  check(cudaMemcpyAsync(zp_out.data, hz.data(), hz.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream),
        "copying zero_point");
}

py::tuple quantize_int8_py(const py::object& x_obj, bool symmetric, const py::object& axis, const py::object& scale_obj,
                           const py::object& zp_obj) {
  const Strided<float> x = cuda_contiguous_view<float>(x_obj, "x");
  QuantInt8Params p = int8_layout(x.shape, axis);
  p.qmin = symmetric ? -127 : -128;
  p.qmax = 127;
  if (scale_obj.is_none() != zp_obj.is_none())
    throw py::value_error("scale and zero_point must be given together (or neither, to compute them from x)");
  const bool compute = scale_obj.is_none();
  std::pair<Strided<float>, Strided<int32_t>> given;
  if (!compute) given = given_qparam_views(scale_obj, zp_obj, p);
  auto [scale_arr, scale] = empty_view<float>({p.channels}, "scale");
  auto [zp_arr, zp] = empty_view<int32_t>({p.channels}, "zero_point");
  auto [q_arr, q] = empty_view<int8_t>(x.shape, "q");
  const cudaStream_t stream = current_stream();
  if (!compute) given_qparam_values(given.first, given.second, p, scale, zp, stream);
  auto [flag_arr, flag] = empty_view<int32_t>({1}, "nonfinite");
  auto [scratch_arr, scratch] = empty_view<float>({compute ? cuda::qparams_scratch(p) : 0}, "scratch");
  p.scale = scale.data;
  p.zero_point = zp.data;
  int32_t nonfinite = 0;
  {
    py::gil_scoped_release release;
    if (compute) {
      check(cuda::choose_qparams_int8(x.data, p, symmetric, scale.data, zp.data, flag.data, scratch.data, stream),
            "quantize_int8 (qparams)");
      check(cudaMemcpyAsync(&nonfinite, flag.data, sizeof(int32_t), cudaMemcpyDeviceToHost, stream),
            "quantize_int8 (copy back)");
      check(cudaStreamSynchronize(stream), "quantize_int8 (synchronise)");
    }
    if (!nonfinite) check(cuda::quantize_int8(x.data, q.data, p, stream), "quantize_int8");
  }
  if (nonfinite) throw py::value_error("x must be finite to be quantised to int8 (it holds NaN or inf)");
  return py::make_tuple(q_arr, scale_arr, zp_arr);
}

py::object dequantize_int8_py(const py::object& q_obj, const py::object& scale_obj, const py::object& zp_obj,
                              const py::object& axis) {
  const Strided<int8_t> q = cuda_contiguous_view<int8_t>(q_obj, "q");
  QuantInt8Params p = int8_layout(q.shape, axis);
  p.qmin = -128;
  p.qmax = 127;
  const auto [s_view, z_view] = given_qparam_views(scale_obj, zp_obj, p);
  auto [scale_arr, scale] = empty_view<float>({p.channels}, "scale");
  auto [zp_arr, zp] = empty_view<int32_t>({p.channels}, "zero_point");
  const cudaStream_t stream = current_stream();
  given_qparam_values(s_view, z_view, p, scale, zp, stream);
  p.scale = scale.data;
  p.zero_point = zp.data;
  auto [x_arr, x] = empty_view<float>(q.shape, "x");
  {
    py::gil_scoped_release release;
    check(cuda::dequantize_int8(q.data, x.data, p, stream), "dequantize_int8");
  }
  return x_arr;
}

template <typename In, typename Out, typename Fn>
py::object convert(const py::object& obj, const char* name, const char* what, Fn&& fn) {
  const Strided<In> x = cuda_contiguous_view<In>(obj, name);
  auto [out_arr, out] = empty_view<Out>(x.shape, "out");
  const cudaStream_t stream = current_stream();
  {
    py::gil_scoped_release release;
    check(fn(x.data, out.data, x.size(), stream), what);
  }
  return out_arr;
}

}  // namespace

void bind_quant(py::module_& m) {
  m.def("quantize_int8", &quantize_int8_py, py::arg("x"), py::arg("symmetric"), py::arg("axis"), py::arg("scale"),
        py::arg("zero_point"));
  m.def("dequantize_int8", &dequantize_int8_py, py::arg("q"), py::arg("scale"), py::arg("zero_point"), py::arg("axis"));
  m.def("to_fp8", [](const py::object& x, const std::string& fmt, bool saturate) {
    const Fp8Format f = fp8_format(fmt, "fmt");
    return convert<float, uint8_t>(x, "x", "to_fp8", [&](const float* a, uint8_t* b, int64_t n, cudaStream_t s) {
      return cuda::to_fp8(a, b, n, f, saturate, s);
    });
  }, py::arg("x"), py::arg("fmt"), py::arg("saturate"));
  m.def("from_fp8", [](const py::object& codes, const std::string& fmt) {
    const Fp8Format f = fp8_format(fmt, "fmt");
    return convert<uint8_t, float>(codes, "codes", "from_fp8", [&](const uint8_t* a, float* b, int64_t n, cudaStream_t s) {
      return cuda::from_fp8(a, b, n, f, s);
    });
  }, py::arg("codes"), py::arg("fmt"));
  m.def("to_bf16", [](const py::object& x) {
    return convert<float, uint16_t>(x, "x", "to_bf16", [](const float* a, uint16_t* b, int64_t n, cudaStream_t s) {
      return cuda::to_bf16(a, b, n, s);
    });
  }, py::arg("x"));
  m.def("from_bf16", [](const py::object& x) {
    return convert<uint16_t, float>(x, "x", "from_bf16", [](const uint16_t* a, float* b, int64_t n, cudaStream_t s) {
      return cuda::from_bf16(a, b, n, s);
    });
  }, py::arg("x"));
  register_family(m, "quant", {"to_fp8_kernel", "from_fp8_kernel", "to_bf16_kernel", "from_bf16_kernel",
                               "channel_minmax_kernel", "channel_qparams_kernel", "quantize_int8_kernel",
                               "dequantize_int8_kernel"});
}
