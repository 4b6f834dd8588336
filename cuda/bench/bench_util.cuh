// What every cuda/bench/<family>_bench.cu shares (llm.c dev/cuda style): error checks, a timer
// over cudaEvents, the measured device-to-device copy bandwidth (the roofline of a memory-bound
// kernel) and a validation helper that prints the worst difference from the CPU reference.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define BENCH_CHECK(call)                                                                        \
  do {                                                                                           \
    const cudaError_t e_ = (call);                                                               \
    if (e_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
      std::exit(1);                                                                              \
    }                                                                                            \
  } while (0)

template <typename T>
T* device_copy(const std::vector<T>& host) {
  T* d = nullptr;
  BENCH_CHECK(cudaMalloc(&d, host.size() * sizeof(T) + 16));
  BENCH_CHECK(cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

template <typename T>
std::vector<T> host_copy(const T* dev, size_t n) {
  std::vector<T> h(n);
  BENCH_CHECK(cudaMemcpy(h.data(), dev, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

// Median milliseconds of `reps` timed runs of fn (after `warmup` untimed ones).
template <typename Fn>
float time_ms(Fn&& fn, int reps = 50, int warmup = 5) {
  for (int i = 0; i < warmup; ++i) fn();
  cudaEvent_t a, b;
  BENCH_CHECK(cudaEventCreate(&a));
  BENCH_CHECK(cudaEventCreate(&b));
  std::vector<float> ms(reps);
  for (int i = 0; i < reps; ++i) {
    BENCH_CHECK(cudaEventRecord(a));
    fn();
    BENCH_CHECK(cudaEventRecord(b));
    BENCH_CHECK(cudaEventSynchronize(b));
    BENCH_CHECK(cudaEventElapsedTime(&ms[i], a, b));
  }
  BENCH_CHECK(cudaGetLastError());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::vector<float> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  return sorted[reps / 2];
}

// The device-to-device copy bandwidth in GB/s (read + write bytes per second), 1 GiB copied.
inline double copy_bandwidth_gbs() {
  const size_t bytes = size_t{1} << 30;
  void *src = nullptr, *dst = nullptr;
  BENCH_CHECK(cudaMalloc(&src, bytes));
  BENCH_CHECK(cudaMalloc(&dst, bytes));
  BENCH_CHECK(cudaMemset(src, 1, bytes));
  const float ms = time_ms([&] { BENCH_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice)); }, 20, 3);
  cudaFree(src);
  cudaFree(dst);
  return 2.0 * bytes / (ms * 1e-3) / 1e9;
}

// The device's dense peaks in FLOP/s, SMs x clock x FLOP per SM per clock: fp32 FMA 2*64 on
// sm_80, 2*128 on sm_86+; bf16/fp16 mma.sync with fp32 accumulation 2048 on sm_80, 1024 on
// sm_86/sm_89 (GeForce/L-series halve fp32 accumulation: the figure is then an upper bound), 4096
// on sm_90. Boost-clock figures, as the vendor's tables: a fraction of them is a lower bound.
struct DevicePeaks {
  double fp32 = 0, bf16 = 0;
  int major = 0, minor = 0, sms = 0;
  double clock_mhz = 0;
  char name[256] = {};
};

inline DevicePeaks device_peaks() {
  DevicePeaks p;
  cudaDeviceProp prop;
  BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  int clock_khz = 0;
  BENCH_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
  std::snprintf(p.name, sizeof p.name, "%s", prop.name);
  p.major = prop.major, p.minor = prop.minor, p.sms = prop.multiProcessorCount, p.clock_mhz = clock_khz / 1e3;
  const double clk = clock_khz * 1e3 * prop.multiProcessorCount;
  const bool sm80 = prop.major == 8 && prop.minor == 0;
  p.fp32 = clk * (sm80 ? 128 : 256);
  p.bf16 = clk * (prop.major >= 9 ? 4096 : sm80 ? 2048 : 1024);
  return p;
}

// One timing line: milliseconds, then GB/s and % of the copy bandwidth (bytes > 0) and/or
// TFLOP/s and % of a peak (flops > 0).
inline void report(const char* what, float ms, double bytes, double copy_gbs, double flops = 0, double peak = 0) {
  std::printf("  %-30s %9.3f ms", what, ms);
  if (bytes > 0) {
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    std::printf("  %7.0f GB/s %5.1f%% of copy", gbs, 100.0 * gbs / copy_gbs);
  }
  if (flops > 0) {
    const double tfs = flops / (ms * 1e-3) / 1e12;
    std::printf("  %7.1f TFLOP/s %5.1f%% of peak", tfs, 100.0 * flops / (ms * 1e-3) / peak);
  }
  std::printf("\n");
}

// Bit-for-bit equality of two arrays (codes, or floats of an exact kernel); prints and returns ok.
template <typename T>
bool validate_exact(const char* what, const std::vector<T>& got, const std::vector<T>& want) {
  size_t bad = 0, first = got.size();
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) {
      if (bad++ == 0) first = i;
    }
  }
  std::printf("  validate %-28s %zu of %zu differ from the CPU core bit for bit%s", what, bad, got.size(),
              bad ? "  FAILED" : "");
  if (bad) std::printf(" (first at %zu)", first);
  std::printf("\n");
  return bad == 0;
}

// Largest |got - want| over finite entries, and whether NaNs agree; prints and returns ok.
inline bool validate(const char* what, const std::vector<float>& got, const std::vector<float>& want, double tol) {
  double worst = 0.0;
  bool nan_ok = true;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) || std::isnan(want[i])) {
      nan_ok = nan_ok && std::isnan(got[i]) && std::isnan(want[i]);
      continue;
    }
    worst = std::max(worst, static_cast<double>(std::fabs(got[i] - want[i])));
  }
  const bool ok = nan_ok && worst <= tol;
  std::printf("  validate %-28s max |gpu - cpu| = %.3g (tol %.3g)%s\n", what, worst, tol, ok ? "" : "  FAILED");
  return ok;
}
