// grimoire._cuda: the CUDA kernels, callable on NumPy arrays (copied to the device and back).
// Imports on a machine without a GPU and reports zero devices.
#include <cuda_runtime.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "checks.h"
#include "gemm.cuh"

namespace py = pybind11;
using namespace grimoire::bind;

namespace {

void check(int code, const char* what) {
  if (code != 0) throw std::runtime_error(std::string(what) + ": " + grimoire::cuda::error_string(code));
}

// Device memory owned for the length of one call.
struct DeviceBuffer {
  float* ptr = nullptr;
  explicit DeviceBuffer(size_t count) {
    if (count) check(cudaMalloc(&ptr, count * sizeof(float)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

py::array_t<float> gemm(const py::object& a_obj, const py::object& b_obj) {
  py::array a = require_ndarray(a_obj, "a"), b = require_ndarray(b_obj, "b");
  require_ndim(a, "a", 2, 2);
  require_ndim(b, "b", 2, 2);
  auto av = contiguous_view<float>(a, "a");
  auto bv = contiguous_view<float>(b, "b");
  const int64_t m = av.shape[0], k = av.shape[1], n = bv.shape[1];
  if (bv.shape[0] != k)
    throw py::value_error("inner dimensions differ: a is " + shape_str(av.shape) + ", b is " + shape_str(bv.shape));
  if (grimoire::cuda::device_count() == 0) throw std::runtime_error("grimoire._cuda: no CUDA device is available");
  auto c = empty<float>({m, n});
  {
    py::gil_scoped_release release;
    DeviceBuffer da(m * k), db(k * n), dc(m * n);
    check(cudaMemcpy(da.ptr, av.data, m * k * sizeof(float), cudaMemcpyHostToDevice), "copy a");
    check(cudaMemcpy(db.ptr, bv.data, k * n * sizeof(float), cudaMemcpyHostToDevice), "copy b");
    check(grimoire::cuda::gemm_f32(m, n, k, 1.0f, da.ptr, k, db.ptr, n, 0.0f, dc.ptr, n), "gemm_f32");
    check(cudaMemcpy(c.mutable_data(), dc.ptr, m * n * sizeof(float), cudaMemcpyDeviceToHost), "copy c");
  }
  return c;
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "grimoire's CUDA kernels";
  m.def("device_count", &grimoire::cuda::device_count);
  m.def("device_names", [] {
    std::vector<std::string> names;
    for (int i = 0; i < grimoire::cuda::device_count(); ++i) {
      cudaDeviceProp prop;
      if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) names.emplace_back(prop.name);
    }
    return names;
  });
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), "C = A @ B on the GPU (float32, C-contiguous).");
}
