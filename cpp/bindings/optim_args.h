// The optim family's argument checks, shared by the CPU binding (cpp/bindings/optim.cpp) and the
// CUDA binding (cuda/bindings/optim.cpp). Each takes a `view(obj, name, writable)` function that
// turns an argument into a C-contiguous Strided<float> (a NumPy array on the CPU, a CUDA array
// on the GPU), so the shape, aliasing and hyper-parameter rules and messages exist once.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "checks.h"
#include "grimoire/optim.h"

namespace grimoire::bind {

struct NamedArray {
  std::string name;
  Strided<float> v;
};

inline void require_range(double x, const char* name, double lo, double hi, bool hi_open) {
  // Checked as the float32 the kernel's constants become: finite, and inside the range after the cast.
  checked_scalar<float>(x, name, Interval{lo, hi, false, hi_open});
  if (!(x >= lo && (hi_open ? x < hi : x <= hi)))
    throw py::value_error(std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                          (hi_open ? ")" : "]") + ", got " + std::to_string(x));
}

// No two arrays share memory (each is read and written in place once): sorted by address, the
// neighbours are compared, so a list of any length costs n log n.
inline void require_disjoint(const std::vector<NamedArray>& arrays) {
  std::vector<size_t> order;  // empty arrays touch no memory (and would hide a neighbour's overlap)
  for (size_t i = 0; i < arrays.size(); ++i)
    if (arrays[i].v.size() > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return arrays[a].v.data < arrays[b].v.data || (arrays[a].v.data == arrays[b].v.data && a < b);
  });
  for (size_t i = 1; i < order.size(); ++i) {
    size_t a = order[i - 1], b = order[i];
    if (contiguous_overlap(arrays[a].v, arrays[b].v)) {
      if (a > b) std::swap(a, b);
      throw py::value_error(arrays[a].name + " and " + arrays[b].name +
                            " must not share memory (they are read and written in place)");
    }
  }
}

// One tensor's arrays of an Adam step: param, grad, m, v (, max_v), all of param's shape.
// `suffix` is "" for the single-tensor call and "[i]" for entry i of a list call (the names
// become params[i], grads[i], ...).
template <typename View>
std::vector<NamedArray> adam_arrays(View&& view, const py::object& param, const py::object& grad, const py::object& m,
                                    const py::object& v, bool amsgrad, const py::object& max_v,
                                    const std::string& suffix = "") {
  const bool list = !suffix.empty();
  auto name = [&](const char* one, const char* many) { return (list ? std::string(many) : std::string(one)) + suffix; };
  const std::string pn = name("param", "params");
  const Strided<float> pv = view(param, pn.c_str(), true);
  auto like = [&](const py::object& o, const std::string& n, bool writable) {
    Strided<float> s = view(o, n.c_str(), writable);
    require_same_shape(s.shape, pv.shape, n.c_str(), pn.c_str());
    return NamedArray{n, s};
  };
  std::vector<NamedArray> arrays = {{pn, pv}, like(grad, name("grad", "grads"), false), like(m, name("m", "ms"), true),
                                    like(v, name("v", "vs"), true)};
  if (amsgrad) {
    if (max_v.is_none()) throw py::value_error("amsgrad=True needs max_v (the running max of v, zeros at the start)");
    arrays.push_back(like(max_v, name("max_v", "max_vs"), true));
  } else if (!max_v.is_none()) {
    throw py::value_error("max_v is only used with amsgrad=True");
  }
  return arrays;
}

inline void check_adam_hyper(int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay) {
  if (step < 1) throw py::value_error("step must be >= 1 (the number of this step), got " + std::to_string(step));
  require_range(lr, "lr", 0.0, INFINITY, true);
  require_range(beta1, "beta1", 0.0, 1.0, true);
  require_range(beta2, "beta2", 0.0, 1.0, true);
  require_range(eps, "eps", 0.0, INFINITY, true);
  require_range(weight_decay, "weight_decay", 0.0, INFINITY, true);
}

inline void check_sgd_hyper(double lr, double momentum, double dampening, bool nesterov, double weight_decay) {
  require_range(lr, "lr", 0.0, INFINITY, true);
  require_range(momentum, "momentum", 0.0, INFINITY, true);
  require_range(dampening, "dampening", -INFINITY, INFINITY, true);
  require_range(weight_decay, "weight_decay", 0.0, INFINITY, true);
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    throw py::value_error("nesterov=True needs momentum > 0 and dampening == 0");
}

// One tensor's arrays of an SGD step: param, grad (, momentum_buf when momentum != 0).
template <typename View>
std::vector<NamedArray> sgd_arrays(View&& view, const py::object& param, const py::object& grad, const py::object& buf,
                                   double momentum, const std::string& suffix = "") {
  const bool list = !suffix.empty();
  auto name = [&](const char* one, const char* many) { return (list ? std::string(many) : std::string(one)) + suffix; };
  const std::string pn = name("param", "params");
  const Strided<float> pv = view(param, pn.c_str(), true);
  const std::string gn = name("grad", "grads");
  const Strided<float> gv = view(grad, gn.c_str(), false);
  require_same_shape(gv.shape, pv.shape, gn.c_str(), pn.c_str());
  std::vector<NamedArray> arrays = {{pn, pv}, {gn, gv}};
  if (momentum != 0.0) {
    if (buf.is_none()) throw py::value_error("momentum != 0 needs momentum_buf (an array of param's shape)");
    const std::string bn = name("momentum_buf", "momentum_bufs");
    const Strided<float> bv = view(buf, bn.c_str(), true);
    require_same_shape(bv.shape, pv.shape, bn.c_str(), pn.c_str());
    arrays.push_back({bn, bv});
  }
  return arrays;
}

// The lists of a multi-tensor call: equal lengths (names the first list that differs).
inline size_t list_length(const std::vector<std::pair<const char*, py::object>>& lists) {
  // The optional lists (max_vs, momentum_bufs) arrive as py::object: anything but None, a list or
  // a tuple is refused here by name (py::len of an int would be a TypeError naming nothing).
  for (const auto& [name, obj] : lists)
    if (!obj.is_none() && !py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj))
      throw py::type_error(std::string(name) + " must be a list of arrays or None, got " +
                           std::string(py::str(py::type::of(obj).attr("__name__"))));
  const size_t n = py::len(lists[0].second);
  for (const auto& [name, obj] : lists)
    if (!obj.is_none() && py::len(obj) != n)
      throw py::value_error(std::string(name) + " has " + std::to_string(py::len(obj)) + " entries but " +
                            lists[0].first + " has " + std::to_string(n));
  return n;
}

// clip_grad_norm's arguments: the scalars, then every gradient (writable), none sharing memory.
template <typename View>
std::vector<GradSpan> clip_grad_norm_args(View&& view, const py::list& grads, double max_norm, double norm_type) {
  if (!(norm_type > 0.0)) throw py::value_error("norm_type must be > 0 or inf, got " + std::to_string(norm_type));
  if (std::isnan(max_norm) || max_norm < 0.0)
    throw py::value_error("max_norm must be >= 0, got " + std::to_string(max_norm));
  std::vector<NamedArray> arrays;
  std::vector<GradSpan> spans;
  for (size_t i = 0; i < grads.size(); ++i) {
    const std::string name = "grads[" + std::to_string(i) + "]";
    arrays.push_back({name, view(grads[i], name.c_str(), true)});
    spans.push_back({arrays.back().v.data, arrays.back().v.size()});
  }
  // Two entries sharing memory would be scaled twice.
  std::vector<size_t> order;  // empty arrays touch no memory (and would hide a neighbour's overlap)
  for (size_t i = 0; i < arrays.size(); ++i)
    if (arrays[i].v.size() > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return arrays[a].v.data < arrays[b].v.data; });
  for (size_t i = 1; i < order.size(); ++i)
    if (contiguous_overlap(arrays[order[i - 1]].v, arrays[order[i]].v))
      throw py::value_error(arrays[order[i - 1]].name + " and " + arrays[order[i]].name +
                            " share memory (each gradient must be scaled once)");
  return spans;
}

}  // namespace grimoire::bind
