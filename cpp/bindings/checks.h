// Argument checks shared by every binding. A bad argument from Python becomes a TypeError or
// ValueError that names the argument and says what was expected and what came; it never
// reaches a kernel. Arrays are taken as they are: no silent cast, no silent copy.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "grimoire/parallel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <unistd.h>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace grimoire::bind {

namespace py = pybind11;

inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) s += shape.size() == 1 ? "," : ", ";
  }
  return s + ")";
}

inline std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// An ndarray argument as the kernel sees it: a typed pointer, the shape, and strides counted
// in elements (NumPy counts bytes).
template <typename T>
struct Strided {
  T* data = nullptr;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int ndim() const { return static_cast<int>(shape.size()); }
};

// The one place a host array enters a binding. A numpy.ndarray is taken as it is; any other
// object that exports DLPack on the CPU (array_api_strict, a CPU PyTorch tensor, JAX on the CPU)
// is viewed with numpy.from_dlpack: zero-copy, same memory, same strides, writable when the
// exporter says so. Everything else (lists, CUDA arrays here) is refused, as before.
inline py::array require_ndarray(const py::handle& obj, const char* name) {
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  constexpr int kDLCPU = 1;
  if (py::hasattr(obj, "__dlpack__") && py::hasattr(obj, "__dlpack_device__")) {
    const py::tuple where = obj.attr("__dlpack_device__")();
    if (where.size() == 2 && where[0].cast<int>() == kDLCPU) {
      py::object view = py::module_::import("numpy").attr("from_dlpack")(obj);
      if (py::isinstance<py::array>(view)) return py::reinterpret_steal<py::array>(view.release());
    }
  }
  throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " +
                       py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
}

template <typename T>
bool has_dtype(const py::array& a) {
  // equal(), not is(): an array rebuilt by pickle may hold an equal but distinct dtype object.
  return a.dtype().is(py::dtype::of<T>()) || a.dtype().equal(py::dtype::of<T>());
}

template <typename T>
const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, int8_t>) return "int8";
  else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
  else return "?";
}

inline void require_ndim(const py::array& a, const char* name, int lo, int hi) {
  const int nd = static_cast<int>(a.ndim());
  if (nd < lo || nd > hi) {
    std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
    throw py::value_error(std::string(name) + " must have " + want + " dimensions, got " +
                          std::to_string(nd) + " (shape " + shape_str(std::vector<int64_t>(a.shape(), a.shape() + nd)) + ")");
  }
}

// View `a` as elements of T. Strides must be whole elements (always true for arrays NumPy
// made for this dtype; a byte-offset view of another dtype is refused rather than copied).
template <typename T>
Strided<T> view(const py::array& a, const char* name, bool writable = false) {
  if (!has_dtype<T>(a))
    throw py::type_error(std::string(name) + " must have dtype " + dtype_name<T>() + ", got " + dtype_str(a));
  if (writable && !a.writeable()) throw py::value_error(std::string(name) + " must be writable");
  Strided<T> v;
  v.data = static_cast<T*>(const_cast<void*>(a.data()));
  const int nd = static_cast<int>(a.ndim());
  v.shape.assign(a.shape(), a.shape() + nd);
  v.strides.resize(nd);
  for (int i = 0; i < nd; ++i) {
    const int64_t s = a.strides()[i];
    if (s % static_cast<int64_t>(sizeof(T)) != 0)
      throw py::value_error(std::string(name) + " has a stride of " + std::to_string(s) +
                            " bytes, not a multiple of its item size");
    v.strides[i] = s / static_cast<int64_t>(sizeof(T));
  }
  return v;
}

template <typename T>
bool is_c_contiguous(const Strided<T>& v) {
  if (v.size() == 0) return true;  // nothing to read: any strides will do
  int64_t expect = 1;
  for (int i = v.ndim() - 1; i >= 0; --i) {
    if (v.shape[i] != 1 && v.strides[i] != expect) return false;
    expect *= v.shape[i];
  }
  return true;
}

template <typename T>
Strided<T> contiguous_view(const py::array& a, const char* name, bool writable = false) {
  Strided<T> v = view<T>(a, name, writable);
  if (!is_c_contiguous(v))
    throw py::value_error(std::string(name) + " must be C-contiguous (use numpy.ascontiguousarray)");
  return v;
}


inline void require_same_shape(const std::vector<int64_t>& got, const std::vector<int64_t>& want,
                               const char* name, const char* reference) {
  if (got != want)
    throw py::value_error(std::string(name) + " must have the shape of " + reference + " " +
                          shape_str(want) + ", got " + shape_str(got));
}

// The byte range [first, last] an array can touch, from its data pointer, shape and strides.
inline std::pair<const char*, const char*> byte_extent(const py::array& a) {
  const char* first = static_cast<const char*>(a.data());
  const char* last = first;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) == 0) return {nullptr, nullptr};
    const py::ssize_t reach = (a.shape(i) - 1) * a.strides(i);
    (reach < 0 ? first : last) += reach;
  }
  return {first, last + a.itemsize() - 1};
}

// True when the memory the two arrays may touch overlaps (used to refuse in-place aliasing a
// kernel cannot honour). The same bounds test as numpy.may_share_memory, without calling Python.
inline bool may_overlap(const py::array& a, const py::array& b) {
  const auto ea = byte_extent(a), eb = byte_extent(b);
  if (ea.first == nullptr || eb.first == nullptr) return false;
  return ea.first <= eb.second && eb.first <= ea.second;
}

// The last dimension must be contiguous (stride 1, or size <= 1, or an empty array): kernels
// that take row strides but read each row as a vector.
template <typename T>
void require_last_dim_contiguous(const Strided<T>& v, const char* name) {
  if (v.ndim() > 0 && v.size() > 0 && v.shape.back() > 1 && v.strides.back() != 1)
    throw py::value_error(std::string(name) + " must have a contiguous last dimension (stride 1 element), got " +
                          std::to_string(v.strides.back()) + " (use numpy.ascontiguousarray)");
}

// Element strides that broadcast `v` (NumPy rules: dimensions aligned on the right, a size-1 or
// missing dimension repeats) to `target`; ValueError naming the argument when it cannot.
template <typename T>
std::vector<int64_t> broadcast_strides(const Strided<T>& v, const std::vector<int64_t>& target, const char* name,
                                       const char* target_desc) {
  const int nt = static_cast<int>(target.size()), nv = v.ndim();
  if (nv > nt)
    throw py::value_error(std::string(name) + " has shape " + shape_str(v.shape) + ", which does not broadcast to " +
                          target_desc + " " + shape_str(target));
  std::vector<int64_t> strides(nt, 0);
  for (int i = 0; i < nv; ++i) {
    const int t = nt - nv + i;
    if (v.shape[i] == target[t]) strides[t] = target[t] == 1 ? 0 : v.strides[i];
    else if (v.shape[i] == 1) strides[t] = 0;
    else
      throw py::value_error(std::string(name) + " has shape " + shape_str(v.shape) + ", which does not broadcast to " +
                            target_desc + " " + shape_str(target));
  }
  return strides;
}

// Integer arguments: a ValueError that names the argument, the bound and the value.
inline void require_at_least(int64_t value, int64_t lo, const std::string& name) {
  if (value < lo)
    throw py::value_error(name + " must be >= " + std::to_string(lo) + ", got " + std::to_string(value));
}

// Size arithmetic that cannot overflow silently: a * b and a + b, or a ValueError naming `what`.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw py::value_error(what + " overflows a 64-bit size");
  return r;
}
inline int64_t checked_add(int64_t a, int64_t b, const std::string& what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw py::value_error(what + " overflows a 64-bit size");
  return r;
}

// Elements of an array of this shape, or a ValueError when the count overflows (a zero-size
// array may carry dimensions whose product does not fit).
inline int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& name) {
  int64_t n = 1;
  for (int64_t d : shape) n = checked_mul(n, d, name + "'s size " + shape_str(shape));
  return n;
}

// A double as Python would print it (std::to_string gives 0.000000 for 1e-40).
inline std::string number_str(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

// Bytes of memory this machine has (physical pages): a size-dependent allocation beyond it is
// refused up front with a MemoryError naming what was asked for, rather than a std::bad_alloc
// (or the OOM killer) partway through.
inline double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 1e18;
}
inline void require_fits_in_memory(double bytes, const std::string& what) {
  if (bytes <= physical_memory_bytes()) return;
  const std::string msg = what + " needs " + number_str(bytes / 1073741824.0) + " GiB, more than this machine's " +
                          number_str(physical_memory_bytes() / 1073741824.0) + " GiB of memory";
  PyErr_SetString(PyExc_MemoryError, msg.c_str());
  throw py::error_already_set();
}

// A new C-contiguous array of T with this shape (uninitialised); its size is checked first.
template <typename T>
py::array_t<T> empty(const std::vector<int64_t>& shape) {
  const int64_t n = checked_numel(shape, "an output of shape " + shape_str(shape));
  require_fits_in_memory(static_cast<double>(n) * sizeof(T), "an output of shape " + shape_str(shape));
  return py::array_t<T>(std::vector<py::ssize_t>(shape.begin(), shape.end()));
}

}  // namespace grimoire::bind

namespace grimoire::bind {

// An optional C-contiguous 1-D array of T with exactly `len` elements (None gives a null view);
// `reference` names what fixes the length, e.g. "x's last axis".
template <typename T>
Strided<T> optional_vector(const py::object& obj, const char* name, int64_t len, const char* reference,
                           bool writable = false) {
  if (obj.is_none()) return Strided<T>{};
  py::array a = require_ndarray(obj, name);
  Strided<T> v = contiguous_view<T>(a, name, writable);
  require_same_shape(v.shape, {len}, name, reference);
  return v;
}

// True when the memory of two C-contiguous views intersects (a cheap exact test, no Python call).
template <typename T>
bool contiguous_overlap(const Strided<T>& a, const Strided<T>& b) {
  const int64_t na = a.size(), nb = b.size();
  if (na == 0 || nb == 0) return false;
  return a.data < b.data + nb && b.data < a.data + na;
}

}  // namespace grimoire::bind

namespace grimoire::bind {


// The interval a scalar argument must lie in; an open end excludes the bound itself.
struct Interval {
  double lo = -HUGE_VAL, hi = HUGE_VAL;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const { return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi); }
  std::string str() const {
    return std::string(lo_open ? "(" : "[") + number_str(lo) + ", " + number_str(hi) + (hi_open ? ")" : "]");
  }
};
inline Interval at_least(double lo) { return {lo, HUGE_VAL, false, false}; }
inline Interval above(double lo) { return {lo, HUGE_VAL, true, false}; }
inline Interval between(double lo, double hi) { return {lo, hi, false, false}; }

// THE check of a float scalar argument: converted to the kernel's type T first, then required
// finite and inside `range`. Checking the double before the cast is not enough: 1e39 is a finite
// double but inf as a float32, and 1e-50 > 0 becomes 0. A value beyond T's range counts as
// infinite (the cast itself would be undefined behaviour).
template <typename T = float>
T checked_scalar(double x, const char* name, Interval range = {}) {
  static_assert(std::is_floating_point_v<T>, "checked_scalar converts to a floating-point kernel type");
  const bool representable = std::isnan(x) || std::fabs(x) <= static_cast<double>(std::numeric_limits<T>::max());
  const T v = representable ? static_cast<T>(x) : static_cast<T>(x > 0 ? HUGE_VAL : -HUGE_VAL);
  if (!std::isfinite(v) || !range.contains(static_cast<double>(v))) {
    const bool bounded = range.lo != -HUGE_VAL || range.hi != HUGE_VAL;
    std::string what = std::string(name) + " must be finite" + (bounded ? " and in " + range.str() : "");
    if constexpr (std::is_same_v<T, float>) what += " as a float32";
    what += ", got " + number_str(x);
    if (std::isfinite(x) && static_cast<double>(v) != x) what += " (" + number_str(static_cast<double>(v)) + " as a float32)";
    throw py::value_error(what);
  }
  return v;
}

// An integer argument within [lo, hi]: bounds that keep a kernel's work or sizes finite.
inline int64_t checked_int(int64_t value, const char* name, int64_t lo, int64_t hi) {
  if (value < lo || value > hi)
    throw py::value_error(std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                          "], got " + std::to_string(value));
  return value;
}

// An output array no element of which is reached twice (a stride-0 or otherwise self-overlapping
// view would have several results written to one place).
inline void require_no_internal_overlap(const py::array& a, const char* name) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (|stride| bytes, extent)
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) == 0) return;
    if (a.shape(i) > 1) dims.push_back({std::llabs(static_cast<long long>(a.strides(i))), a.shape(i)});
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = a.itemsize();  // bytes spanned by the dimensions so far
  for (const auto& [stride, extent] : dims) {
    if (stride < reach)
      throw py::value_error(std::string(name) + " has overlapping elements (a stride-0 or self-overlapping view); "
                            "it must be an array each of whose elements is written once");
    reach = stride * (extent - 1) + reach;
  }
}

}  // namespace grimoire::bind

namespace grimoire::bind {

// Ctrl-C during a long kernel: construct one (GIL held) before releasing the GIL around the
// kernel, and call raise_if_interrupted() once the GIL is back. While it lives, the kernel's
// grimoire::interrupted() checkpoints take the GIL every ~50 ms to run Python's signal handlers;
// a KeyboardInterrupt (or whatever a handler raised) stops the kernel and is raised here.
class Interruptible {
 public:
  Interruptible() { set_interrupt_poll(&poll); }
  ~Interruptible() { set_interrupt_poll(nullptr); }
  Interruptible(const Interruptible&) = delete;
  Interruptible& operator=(const Interruptible&) = delete;
  void raise_if_interrupted() const {
    if (PyErr_Occurred()) throw py::error_already_set();
  }

 private:
  static bool poll() {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;  // the exception stays set for raise_if_interrupted
  }
};

// ---------------------------------------------------------------------------------------------
// Device arrays: the CUDA bindings (grimoire._cuda) take any object exporting
// __cuda_array_interface__ (a CuPy array, a PyTorch CUDA tensor, a Numba device array) and see
// it as the same Strided<T> the CPU bindings see, so every check above (shape, contiguity,
// broadcast, overlap, sizes) is one helper for both devices. Nothing here touches the device.
// ---------------------------------------------------------------------------------------------

// The __cuda_array_interface__ typestr of T ("<f4", ...); uint16_t also stands for bfloat16 bits,
// as it does in the CPU core (to_bf16 returns uint16).
template <typename T>
const char* cuda_typestr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, double>) return "<f8";
  else if constexpr (std::is_same_v<T, int8_t>) return "|i1";
  else if constexpr (std::is_same_v<T, uint8_t>) return "|u1";
  else if constexpr (std::is_same_v<T, int32_t>) return "<i4";
  else if constexpr (std::is_same_v<T, int64_t>) return "<i8";
  else if constexpr (std::is_same_v<T, uint16_t>) return "<u2";
  else return "?";
}

// NumPy's name for a typestr, for messages: "<f4" -> float32.
inline std::string typestr_name(const std::string& ts) {
  if (ts.size() < 3) return ts;
  const char kind = ts[1];
  const int bits = 8 * std::stoi(ts.substr(2));
  if (kind == 'f') return "float" + std::to_string(bits);
  if (kind == 'i') return "int" + std::to_string(bits);
  if (kind == 'u') return "uint" + std::to_string(bits);
  if (kind == 'b') return "bool";
  return ts;
}

inline bool is_cuda_array(const py::handle& obj) { return py::hasattr(obj, "__cuda_array_interface__"); }

// A device array argument: its interface dict, or a TypeError naming the argument.
inline py::dict cuda_interface(const py::handle& obj, const char* name) {
  if (!is_cuda_array(obj))
    throw py::type_error(std::string(name) + " must be a CUDA array (CuPy, or any object with "
                         "__cuda_array_interface__), got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  return obj.attr("__cuda_array_interface__").cast<py::dict>();
}

// View a device array as elements of T. `typestr` overrides the expected element type where one
// C++ type stands for several (float16 and bfloat16 bits are both uint16_t).
template <typename T>
Strided<T> cuda_view(const py::handle& obj, const char* name, bool writable = false,
                     const char* typestr = nullptr) {
  const py::dict cai = cuda_interface(obj, name);
  const std::string want = typestr ? typestr : cuda_typestr<T>();
  const std::string got = cai["typestr"].cast<std::string>();
  if (got != want)
    throw py::type_error(std::string(name) + " must have dtype " + typestr_name(want) + ", got " + typestr_name(got));
  if (cai.contains("mask") && !cai["mask"].is_none())
    throw py::value_error(std::string(name) + " is a masked array; masks are not supported");
  const py::tuple data = cai["data"].cast<py::tuple>();
  if (writable && data[1].cast<bool>()) throw py::value_error(std::string(name) + " must be writable");
  Strided<T> v;
  v.data = reinterpret_cast<T*>(data[0].cast<uintptr_t>());
  for (const auto& d : cai["shape"].cast<py::tuple>()) v.shape.push_back(d.cast<int64_t>());
  const int nd = v.ndim();
  v.strides.resize(nd);
  if (!cai.contains("strides") || cai["strides"].is_none()) {  // None: C-contiguous
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; --i) v.strides[i] = s, s *= std::max<int64_t>(v.shape[i], 1);
  } else {
    const py::tuple st = cai["strides"].cast<py::tuple>();
    for (int i = 0; i < nd; ++i) {
      const int64_t s = st[i].cast<int64_t>();
      if (s % static_cast<int64_t>(sizeof(T)) != 0)
        throw py::value_error(std::string(name) + " has a stride of " + std::to_string(s) +
                              " bytes, not a multiple of its item size");
      v.strides[i] = s / static_cast<int64_t>(sizeof(T));
    }
  }
  checked_numel(v.shape, name);
  return v;
}

template <typename T>
Strided<T> cuda_contiguous_view(const py::handle& obj, const char* name, bool writable = false,
                                const char* typestr = nullptr) {
  Strided<T> v = cuda_view<T>(obj, name, writable, typestr);
  if (!is_c_contiguous(v)) throw py::value_error(std::string(name) + " must be C-contiguous (use cupy.ascontiguousarray)");
  return v;
}

// The device twin of optional_vector: an optional C-contiguous 1-D device array of T with
// exactly `len` elements (None gives a null view).
template <typename T>
Strided<T> cuda_optional_vector(const py::object& obj, const char* name, int64_t len, const char* reference,
                                bool writable = false) {
  if (obj.is_none()) return Strided<T>{};
  Strided<T> v = cuda_contiguous_view<T>(obj, name, writable);
  require_same_shape(v.shape, {len}, name, reference);
  return v;
}

// ndim bounds on a view (the Strided form of require_ndim, for device arrays).
template <typename T>
void require_view_ndim(const Strided<T>& v, const char* name, int lo, int hi) {
  if (v.ndim() < lo || v.ndim() > hi) {
    std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
    throw py::value_error(std::string(name) + " must have " + want + " dimensions, got " + std::to_string(v.ndim()) +
                          " (shape " + shape_str(v.shape) + ")");
  }
}

// The byte range a strided view can touch, and whether two views' ranges intersect: the device
// twin of may_overlap (the same bounds test as numpy.may_share_memory).
template <typename A, typename B>
bool views_may_overlap(const Strided<A>& a, const Strided<B>& b) {
  auto extent = [](const auto& v, auto* tag) -> std::pair<const char*, const char*> {
    using E = std::remove_pointer_t<decltype(tag)>;
    const char* first = reinterpret_cast<const char*>(v.data);
    const char* last = first;
    for (int i = 0; i < v.ndim(); ++i) {
      if (v.shape[i] == 0) return {nullptr, nullptr};
      const int64_t reach = (v.shape[i] - 1) * v.strides[i] * static_cast<int64_t>(sizeof(E));
      (reach < 0 ? first : last) += reach;
    }
    return {first, last + sizeof(E) - 1};
  };
  const auto ea = extent(a, static_cast<A*>(nullptr)), eb = extent(b, static_cast<B*>(nullptr));
  if (ea.first == nullptr || eb.first == nullptr) return false;
  return ea.first <= eb.second && eb.first <= ea.second;
}

}  // namespace grimoire::bind

namespace grimoire::bind {
// A finite float argument (optionally >= 0), checked as the float32 it becomes: checked_scalar.
inline float finite_float(double x, const char* name, bool non_negative = false) {
  return checked_scalar<float>(x, name, non_negative ? at_least(0.0) : Interval{});
}
}  // namespace grimoire::bind
