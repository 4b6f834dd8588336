#include "grimoire/cpu.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define GRIMOIRE_X86 1
#endif

namespace grimoire {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

Isa isa_from_name(const std::string& name) {
  if (name == "scalar") return Isa::scalar;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  throw std::invalid_argument("isa must be one of 'scalar', 'avx2', 'avx512', got '" + name + "'");
}

static CpuFeatures read_cpu_features() {
  CpuFeatures f;
#ifdef GRIMOIRE_X86
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  f.fma = ecx & (1u << 12);
  f.f16c = ecx & (1u << 29);
  if (!osxsave) return f;
  // The OS must save the YMM (and for AVX-512 the opmask/ZMM) state, or the registers are unusable.
  unsigned xcr0_lo, xcr0_hi;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm_ok = (xcr0_lo & 0x6) == 0x6;
  const bool zmm_ok = (xcr0_lo & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  f.avx2 = ymm_ok && (ebx & (1u << 5));
  f.avx512f = zmm_ok && (ebx & (1u << 16));
  f.avx512dq = zmm_ok && (ebx & (1u << 17));
  f.avx512bw = zmm_ok && (ebx & (1u << 30));
  f.avx512vl = zmm_ok && (ebx & (1u << 31));
  f.avx512vnni = zmm_ok && (ecx & (1u << 11));
  unsigned eax1, ebx1, ecx1, edx1;
  if (__get_cpuid_count(7, 1, &eax1, &ebx1, &ecx1, &edx1)) {
    f.avxvnni = ymm_ok && (eax1 & (1u << 4));
    f.avx512bf16 = zmm_ok && (eax1 & (1u << 5));
  }
  f.fma = f.fma && ymm_ok;
#endif
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = read_cpu_features();
  return features;
}

Isa detected_isa() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.fma) return Isa::avx512;
  if (f.avx2 && f.fma) return Isa::avx2;
  return Isa::scalar;
}

static Isa initial_limit() {
  const char* env = std::getenv("GRIMOIRE_ISA");
  if (env == nullptr || *env == '\0') return detected_isa();
  try {
    return std::min(isa_from_name(env), detected_isa());
  } catch (const std::invalid_argument&) {
    return detected_isa();  // a typo in the environment must not make the import fail
  }
}

static std::atomic<int>& limit_storage() {
  static std::atomic<int> limit{static_cast<int>(initial_limit())};
  return limit;
}

Isa active_isa() { return static_cast<Isa>(limit_storage().load(std::memory_order_relaxed)); }

void set_isa_limit(Isa limit) {
  if (static_cast<int>(limit) > static_cast<int>(detected_isa())) {
    throw std::invalid_argument(std::string("isa '") + isa_name(limit) +
                                "' is not supported by this CPU (best: '" +
                                isa_name(detected_isa()) + "')");
  }
  limit_storage().store(static_cast<int>(limit), std::memory_order_relaxed);
}

Isa isa_for(const std::vector<Isa>& family_paths) {
  const Isa limit = active_isa();
  Isa best = Isa::scalar;
  for (Isa p : family_paths)
    if (static_cast<int>(p) <= static_cast<int>(limit) && static_cast<int>(p) > static_cast<int>(best)) best = p;
  return best;
}

static std::vector<KernelFamily>& family_storage() {
  static std::vector<KernelFamily> families;
  return families;
}

void register_family(const std::string& name, std::vector<Isa> paths) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  for (auto& f : family_storage())
    if (f.name == name) {
      f.paths = std::move(paths);
      return;
    }
  family_storage().push_back({name, std::move(paths)});
}

const std::vector<KernelFamily>& kernel_families() { return family_storage(); }

}  // namespace grimoire
