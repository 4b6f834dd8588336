// softmax and the fused cross-entropy (loss + gradient) on a GPT-2 vocabulary: validate against
// the CPU core, then time, printing GB/s and the fraction of the measured device-to-device copy
// bandwidth. cross-entropy moves 2 reads + 1 write of the logits (loss pass, gradient pass).
//   build: cmake -DGRIMOIRE_CUDA_BENCH=ON ...; run: build/dev/softmax_bench [rows classes]
#include <cstdio>
#include <random>
#include <vector>

#include "bench_util.cuh"
#include "grimoire/softmax.h"
#include "softmax.cuh"

using namespace grimoire;

int main(int argc, char** argv) {
  const int64_t n = argc > 2 ? std::atoll(argv[1]) : 4096, c = argc > 2 ? std::atoll(argv[2]) : 50257;
  const double copy_gbs = copy_bandwidth_gbs();
  std::printf("softmax_bench %lld x %lld; device-to-device copy: %.0f GB/s\n", static_cast<long long>(n),
              static_cast<long long>(c), copy_gbs);
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  std::vector<float> x(n * c);
  for (float& v : x) v = normal(gen) * 4;
  std::vector<int64_t> t(n);
  for (int64_t i = 0; i < n; ++i) t[i] = (i * 7919) % c;
  float* dx = device_copy(x);
  int64_t* dt = device_copy(t);
  float *dy, *dgrad, *dlosses;
  cuda::CrossEntropyResult* dres;
  BENCH_CHECK(cudaMalloc(&dy, x.size() * 4));
  BENCH_CHECK(cudaMalloc(&dgrad, x.size() * 4));
  BENCH_CHECK(cudaMalloc(&dlosses, n * 4));
  BENCH_CHECK(cudaMalloc(&dres, sizeof(cuda::CrossEntropyResult)));
  // CPU references
  std::vector<float> y(x.size()), grad(x.size()), losses(n);
  softmax_forward_reference(SoftmaxParams{n, c, x.data(), nullptr, y.data()});
  CrossEntropyParams cp;
  cp.n = n, cp.classes = c, cp.logits = x.data(), cp.targets = t.data(), cp.losses = losses.data(), cp.grad = grad.data();
  const double loss = cross_entropy_reference(cp);
  // GPU
  const SoftmaxParams sp{n, c, dx, nullptr, dy};
  CrossEntropyParams dp = cp;
  dp.logits = dx, dp.targets = dt, dp.losses = dlosses, dp.grad = dgrad;
  BENCH_CHECK(cuda::softmax_forward(sp, 0));
  BENCH_CHECK(cuda::cross_entropy(dp, dres, 0));
  BENCH_CHECK(cudaDeviceSynchronize());
  const cuda::CrossEntropyResult res = host_copy(dres, 1)[0];
  bool ok = validate("softmax", host_copy(dy, x.size()), y, 1e-6);
  ok &= validate("cross_entropy losses", host_copy(dlosses, n), losses, 1e-4);
  ok &= validate("cross_entropy grad", host_copy(dgrad, x.size()), grad, 1e-8);
  ok &= validate("cross_entropy mean", {static_cast<float>(res.total)}, {static_cast<float>(loss)}, 1e-5);
  const double bytes = static_cast<double>(n) * c * 4;
  const float sms = time_ms([&] { BENCH_CHECK(cuda::softmax_forward(sp, 0)); });
  const float cms = time_ms([&] { BENCH_CHECK(cuda::cross_entropy(dp, dres, 0)); });
  std::printf("softmax        %8.3f ms  %7.0f GB/s  %5.1f%% of copy\n", sms, 2 * bytes / (sms * 1e-3) / 1e9,
              100.0 * 2 * bytes / (sms * 1e-3) / 1e9 / copy_gbs);
  std::printf("cross_entropy  %8.3f ms  %7.0f GB/s  %5.1f%% of copy\n", cms, 3 * bytes / (cms * 1e-3) / 1e9,
              100.0 * 3 * bytes / (cms * 1e-3) / 1e9 / copy_gbs);
  return ok ? 0 : 1;
}
