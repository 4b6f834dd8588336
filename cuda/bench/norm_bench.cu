// layer_norm / rms_norm forward and backward on the GPU: validate against the CPU core's
// reference, then time, printing GB/s and the fraction of the measured device-to-device copy
// bandwidth (the issue's bar for the forward: >= 80%).
//   build: cmake -DGRIMOIRE_CUDA_BENCH=ON ...; run: build/dev/norm_bench [rows dim]
#include <cstdio>
#include <random>
#include <vector>

#include "bench_util.cuh"
#include "grimoire/norm.h"
#include "norm.cuh"

using namespace grimoire;

int main(int argc, char** argv) {
  const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 8 * 1024, dim = argc > 2 ? std::atoll(argv[2]) : 768;
  const double copy_gbs = copy_bandwidth_gbs();
  std::printf("norm_bench rows=%lld dim=%lld; device-to-device copy: %.0f GB/s\n", static_cast<long long>(rows),
              static_cast<long long>(dim), copy_gbs);
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  std::vector<float> x(rows * dim), gy(rows * dim), w(dim), b(dim);
  for (float& v : x) v = normal(gen) * 2 + 0.5f;
  for (float& v : gy) v = normal(gen);
  for (float& v : w) v = normal(gen);
  for (float& v : b) v = normal(gen);
  float *dx = device_copy(x), *dgy = device_copy(gy), *dw = device_copy(w), *db = device_copy(b);
  float *dy, *dmean, *drstd, *dgx, *dgw, *dgb, *scratch;
  BENCH_CHECK(cudaMalloc(&dy, x.size() * 4));
  BENCH_CHECK(cudaMalloc(&dgx, x.size() * 4));
  BENCH_CHECK(cudaMalloc(&dmean, rows * 4));
  BENCH_CHECK(cudaMalloc(&drstd, rows * 4));
  BENCH_CHECK(cudaMalloc(&dgw, dim * 4));
  BENCH_CHECK(cudaMalloc(&dgb, dim * 4));
  BENCH_CHECK(cudaMalloc(&scratch, cuda::norm_backward_scratch(rows, dim, false) * 4));
  bool ok = true;
  for (bool rms : {false, true}) {
    const char* name = rms ? "rms_norm" : "layer_norm";
    // CPU reference
    std::vector<float> y(x.size()), mean(rows), rstd(rows), gx(x.size()), gw(dim), gb(dim);
    LayerNormParams p{rows, dim, x.data(), w.data(), rms ? nullptr : b.data(), y.data(), mean.data(), rstd.data(), 1e-5f};
    if (rms) rms_norm_forward_reference(p);
    else layer_norm_forward_reference(p);
    LayerNormBackwardParams bp{rows, dim, gy.data(), x.data(), w.data(), rms ? nullptr : mean.data(), rstd.data(),
                               gx.data(), gw.data(), rms ? nullptr : gb.data()};
    if (rms) rms_norm_backward_reference(bp);
    else layer_norm_backward_reference(bp);
    // GPU
    LayerNormParams dp{rows, dim, dx, dw, rms ? nullptr : db, dy, dmean, drstd, 1e-5f};
    LayerNormBackwardParams dbp{rows, dim, dgy, dx, dw, rms ? nullptr : dmean, drstd, dgx, dgw, rms ? nullptr : dgb};
    auto fwd = [&] { BENCH_CHECK(rms ? cuda::rms_norm_forward(dp, 0) : cuda::layer_norm_forward(dp, 0)); };
    auto bwd = [&] {
      BENCH_CHECK(rms ? cuda::rms_norm_backward(dbp, scratch, 0) : cuda::layer_norm_backward(dbp, scratch, 0));
    };
    fwd();
    bwd();
    BENCH_CHECK(cudaDeviceSynchronize());
    std::printf("%s\n", name);
    ok &= validate("y", host_copy(dy, x.size()), y, 1e-4);
    ok &= validate("rstd", host_copy(drstd, rows), rstd, 1e-4);
    ok &= validate("grad_x", host_copy(dgx, x.size()), gx, 1e-3);
    ok &= validate("grad_weight", host_copy(dgw, dim), gw, 1e-2);
    if (!rms) ok &= validate("grad_bias", host_copy(dgb, dim), gb, 1e-2);
    const double fwd_bytes = 2.0 * rows * dim * 4;  // read x, write y (w, b, stats negligible)
    const double bwd_bytes = 3.0 * rows * dim * 4;  // read grad_y and x, write grad_x
    const float fms = time_ms(fwd), bms = time_ms(bwd);
    std::printf("  forward  %8.3f ms  %7.0f GB/s  %5.1f%% of copy\n", fms, fwd_bytes / (fms * 1e-3) / 1e9,
                100.0 * fwd_bytes / (fms * 1e-3) / 1e9 / copy_gbs);
    std::printf("  backward %8.3f ms  %7.0f GB/s  %5.1f%% of copy\n", bms, bwd_bytes / (bms * 1e-3) / 1e9,
                100.0 * bwd_bytes / (bms * 1e-3) / 1e9 / copy_gbs);
  }
  return ok ? 0 : 1;
}
