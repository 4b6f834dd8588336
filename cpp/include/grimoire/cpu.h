// What the CPU can do, and which instruction-set path the kernels may use.
//
// Every kernel family has a scalar reference path (always compiled, the definition of
// correctness) and may have SIMD paths compiled into *_avx2.cpp / *_avx512.cpp sources.
// The family asks `isa_for(family_paths)` at call time and gets the best path that the CPU
// supports and that the user allows (GRIMOIRE_ISA=scalar|avx2|avx512, or set_isa_limit()).
#pragma once

#include <string>
#include <vector>

namespace grimoire {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
Isa isa_from_name(const std::string& name);  // throws std::invalid_argument

// Feature bits read once from cpuid.
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
};
const CpuFeatures& cpu_features();

// Best ISA this CPU runs (avx2 means AVX2+FMA; avx512 means F+BW+DQ+VL).
Isa detected_isa();

// The ceiling the kernels may use: min(detected, user limit). The limit starts from the
// GRIMOIRE_ISA environment variable (read once) and can be changed with set_isa_limit.
Isa active_isa();
// Throws std::invalid_argument if the CPU cannot run `limit`.
void set_isa_limit(Isa limit);

// The best of a family's compiled paths that is allowed right now.
Isa isa_for(const std::vector<Isa>& family_paths);

// Kernel families announce their compiled paths so grimoire.info() can report them.
struct KernelFamily {
  std::string name;
  std::vector<Isa> paths;
};
void register_family(const std::string& name, std::vector<Isa> paths);
const std::vector<KernelFamily>& kernel_families();

}  // namespace grimoire
