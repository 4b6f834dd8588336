// grimoire._core: the Python face of the C++ core. Each kernel family binds itself in its own
// file (cpp/bindings/<family>.cpp) through a bind_<family>(module) function listed here.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "grimoire/cpu.h"
#include "grimoire/parallel.h"

namespace py = pybind11;

void bind_gemm(py::module_& m);
void bind_conv(py::module_& m);
void bind_pool(py::module_& m);
void bind_graph(py::module_& m);
void bind_timeseries(py::module_& m);
void bind_special(py::module_& m);
void bind_attention(py::module_& m);
void bind_linear_attention(py::module_& m);
void bind_norm(py::module_& m);
void bind_softmax(py::module_& m);
void bind_activation(py::module_& m);
void bind_optim(py::module_& m);
void bind_distance(py::module_& m);
void bind_word2vec(py::module_& m);
void bind_quant(py::module_& m);
void bind_tree(py::module_& m);
void bind_cluster(py::module_& m);
void bind_svm(py::module_& m);
void bind_hierarchy(py::module_& m);
void bind_tsne(py::module_& m);
void bind_umap(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "grimoire's C++ core (kernels for the CPU)";

  m.def("set_num_threads", &grimoire::set_num_threads, py::arg("n"),
        "Pin the threads used by every kernel of the core (overrides OMP_NUM_THREADS and threadpoolctl).");
  m.def("unpin_num_threads", &grimoire::unpin_num_threads,
        "Follow OpenMP's thread count again (OMP_NUM_THREADS, omp_set_num_threads, threadpoolctl).");
  m.def("num_threads_pinned", &grimoire::num_threads_pinned);
  m.def("get_num_threads", &grimoire::num_threads);
  m.def("available_cores", &grimoire::available_cores);
  m.def("detected_isa", [] { return grimoire::isa_name(grimoire::detected_isa()); });
  m.def("active_isa", [] { return grimoire::isa_name(grimoire::active_isa()); });
  m.def("set_isa", [](const std::string& name) { grimoire::set_isa_limit(grimoire::isa_from_name(name)); },
        py::arg("isa"), "Limit the kernels to an instruction set: 'scalar', 'avx2' or 'avx512'.");
  m.def("cpu_features", [] {
    const auto& f = grimoire::cpu_features();
    py::dict d;
    d["avx2"] = f.avx2; d["fma"] = f.fma; d["f16c"] = f.f16c;
    d["avx512f"] = f.avx512f; d["avx512bw"] = f.avx512bw; d["avx512dq"] = f.avx512dq;
    d["avx512vl"] = f.avx512vl; d["avx512vnni"] = f.avx512vnni; d["avx512bf16"] = f.avx512bf16;
    d["avxvnni"] = f.avxvnni;
    return d;
  });
  m.def("kernel_families", [] {
    py::dict d;
    for (const auto& fam : grimoire::kernel_families()) {
      py::list paths;
      for (auto p : fam.paths) paths.append(grimoire::isa_name(p));
      d[fam.name.c_str()] = py::make_tuple(paths, grimoire::isa_name(grimoire::isa_for(fam.paths)));
    }
    return d;
  }, "{family: ([compiled paths], path in use)}");
  m.attr("compiler") = GRIMOIRE_COMPILER;

  bind_gemm(m);
  bind_conv(m);
  bind_pool(m);
  bind_graph(m);
  bind_timeseries(m);
  bind_special(m);
  bind_attention(m);
  bind_linear_attention(m);
  bind_norm(m);
  bind_softmax(m);
  bind_activation(m);
  bind_optim(m);
  bind_distance(m);
  bind_word2vec(m);
  bind_quant(m);
  bind_tree(m);
  bind_cluster(m);
  bind_svm(m);
  bind_hierarchy(m);
  bind_tsne(m);
  bind_umap(m);
}
