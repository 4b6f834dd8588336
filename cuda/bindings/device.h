// What every CUDA binding needs beyond checks.h: the stream to launch on, output allocation,
// and turning a cudaError_t into a Python exception.
//
// grimoire writes kernels, not an array library: outputs are allocated by CuPy (its memory
// pool), and kernels run on CuPy's current stream, so a grimoire call orders with the user's
// CuPy work exactly as a CuPy kernel would. The arrays' device is checked in Python
// (grimoire/kernels/_device.py) before a binding is reached.
#pragma once

#include <cuda_runtime.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "checks.h"

namespace grimoire::cudabind {

namespace py = pybind11;

// A cudaError_t from a launch or an API call: RuntimeError saying what failed.
inline void check(cudaError_t code, const char* what) {
  if (code != cudaSuccess)
    throw std::runtime_error(std::string("grimoire._cuda: ") + what + " failed: " + cudaGetErrorString(code));
}

inline int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: zero devices, and clear the sticky error
    return 0;
  }
  return n;
}

inline void require_device() {
  if (device_count() == 0) throw std::runtime_error("grimoire._cuda: no CUDA device is available");
}

// CuPy's current stream (a cudaStream_t; 0 is the legacy default stream).
inline cudaStream_t current_stream() {
  py::object stream = py::module_::import("cupy.cuda").attr("get_current_stream")();
  return reinterpret_cast<cudaStream_t>(stream.attr("ptr").cast<uintptr_t>());
}

// A new C-contiguous device array from CuPy's pool; `dtype` is a NumPy dtype name.
inline py::object empty(const std::vector<int64_t>& shape, const char* dtype) {
  require_device();
  py::tuple s(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) s[i] = shape[i];
  return py::module_::import("cupy").attr("empty")(s, dtype);
}

template <typename T>
const char* numpy_dtype() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, int8_t>) return "int8";
  else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
  else return "?";
}

// An output of T with this shape and the device view the kernel writes through.
template <typename T>
std::pair<py::object, bind::Strided<T>> empty_view(const std::vector<int64_t>& shape, const char* name) {
  py::object arr = empty(shape, numpy_dtype<T>());
  return {arr, bind::cuda_view<T>(arr, name, /*writable=*/true)};
}

// Record the CUDA kernels a family built, for `grimoire info` (_cuda.families).
inline void register_family(py::module_& m, const char* family, const std::vector<std::string>& kernels) {
  py::tuple names(kernels.size());
  for (size_t i = 0; i < kernels.size(); ++i) names[i] = kernels[i];
  m.attr("families")[family] = names;
}

}  // namespace grimoire::cudabind
