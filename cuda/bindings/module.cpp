// grimoire._cuda: the CUDA kernels on device arrays (CuPy, or anything exporting
// __cuda_array_interface__). Each kernel family binds itself in cuda/bindings/<family>.cpp
// through a bind_<family>(module) function listed here, as cpp/bindings does for _core.
// Imports on a machine without a GPU (the runtime is linked statically) and reports zero devices.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "device.h"

namespace py = pybind11;

void bind_gemm(py::module_& m);
void bind_gemm_lowp(py::module_& m);
void bind_conv(py::module_& m);
void bind_attention(py::module_& m);
void bind_norm(py::module_& m);
void bind_softmax(py::module_& m);
void bind_optim(py::module_& m);
void bind_quant(py::module_& m);
void bind_pool(py::module_& m);

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "grimoire's CUDA kernels (device arrays in, device arrays out, on CuPy's current stream)";
  m.def("device_count", &grimoire::cudabind::device_count);
  m.def("device_names", [] {
    std::vector<std::string> names;
    for (int i = 0; i < grimoire::cudabind::device_count(); ++i) {
      cudaDeviceProp prop;
      if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) names.emplace_back(prop.name);
    }
    return names;
  });
  m.def("runtime_version", [] {
    int v = 0;
    cudaRuntimeGetVersion(&v);
    return v;
  }, "The CUDA runtime grimoire._cuda was linked with (e.g. 13000).");

  // {family: (kernel names)} for `grimoire info`; each bind_<family> adds its entry.
  m.attr("families") = py::dict();
  bind_gemm(m);
  bind_gemm_lowp(m);
  bind_conv(m);
  bind_attention(m);
  bind_norm(m);
  bind_softmax(m);
  bind_optim(m);
  bind_quant(m);
  bind_pool(m);
}
