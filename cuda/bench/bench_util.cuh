// What every cuda/bench/<family>_bench.cu shares (llm.c dev/cuda style): error checks, a timer
// over cudaEvents, the measured device-to-device copy bandwidth (the roofline of a memory-bound
// kernel) and a validation helper that prints the worst difference from the CPU reference.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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
