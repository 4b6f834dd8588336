// max / avg pooling forward and backward on the GPU (cuda/pool.cu): validate bit for bit against
// the CPU core (the kernels visit each window in the CPU's order, so the results are identical),
// then time, printing GB/s and the fraction of the measured device-to-device copy bandwidth
// (pooling is memory-bound: the roofline is the copy).
//   build: cmake -DGRIMOIRE_CUDA_BENCH=ON ...; run: build/dev/pool_bench [n c hw]
// Default: the ResNet stem's max pool (3x3, stride 2, padding 1) on (32, 64, 112, 112), and a 2x2
// stride-2 average pool on the same input. Bytes moved: forward reads x and writes y (+ int64
// indices for max); backward reads grad_y (+ indices) and writes grad_x (every element: the
// kernels zero what no window reaches).
#include <cstdio>
#include <random>
#include <vector>

#include "bench_util.cuh"
#include "grimoire/pool.h"
#include "pool.cuh"

using namespace grimoire;

namespace {

Pool2dShape pool(int64_t n, int64_t c, int64_t hw, int64_t k, int64_t stride, int64_t pad) {
  Pool2dShape s;
  s.n = n, s.c = c, s.h = s.w = hw, s.kh = s.kw = k, s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, int64_t fallback) { return argc > 3 ? std::atoll(argv[i]) : fallback; };
  const int64_t n = arg(1, 32), c = arg(2, 64), hw = arg(3, 112);
  const Pool2dShape maxp = pool(n, c, hw, 3, 2, 1), avgp = pool(n, c, hw, 2, 2, 0);
  const double copy_gbs = copy_bandwidth_gbs();
  std::printf("pool_bench x (%lld, %lld, %lld, %lld); device-to-device copy: %.0f GB/s\n", (long long)n, (long long)c,
              (long long)hw, (long long)hw, copy_gbs);
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  const int64_t in = n * c * hw * hw;
  std::vector<float> x(in), gy(in);  // gy: long enough for either output
  for (float& v : x) v = normal(gen);
  for (float& v : gy) v = normal(gen);
  float *dx = device_copy(x), *dgy = device_copy(gy), *dy, *dgx;
  int64_t* didx;
  int32_t* dbad;
  BENCH_CHECK(cudaMalloc(&dy, in * 4));
  BENCH_CHECK(cudaMalloc(&dgx, in * 4));
  BENCH_CHECK(cudaMalloc(&didx, in * 8));
  BENCH_CHECK(cudaMalloc(&dbad, 4));
  BENCH_CHECK(cudaMemset(dbad, 0, 4));
  bool ok = true;

  // ---- max pool ----
  const int64_t mout = maxp.n * maxp.c * maxp.out_h() * maxp.out_w();
  const int64_t planes = n * c, in_plane = hw * hw, out_plane = maxp.out_h() * maxp.out_w();
  std::vector<float> y(mout), gx(in, 0.0f);
  std::vector<int64_t> idx(mout);
  max_pool2d_forward(maxp, x.data(), y.data(), idx.data());
  max_pool2d_backward(planes, in_plane, out_plane, gy.data(), idx.data(), gx.data());
  auto max_fwd = [&] { BENCH_CHECK(cuda::max_pool2d_forward(maxp, dx, dy, didx, 0)); };
  auto max_bwd = [&] {
    BENCH_CHECK(cuda::max_pool2d_backward(planes, in_plane, out_plane, dgy, didx, dgx, dbad, 0));
  };
  max_fwd();
  max_bwd();
  BENCH_CHECK(cudaDeviceSynchronize());
  std::printf("max_pool2d 3x3 stride 2 padding 1 -> (%lld, %lld)\n", (long long)maxp.out_h(), (long long)maxp.out_w());
  ok &= validate_exact("y", host_copy(dy, mout), y);
  ok &= validate_exact("indices", host_copy(didx, mout), idx);
  ok &= validate_exact("grad_x", host_copy(dgx, in), gx);
  ok &= host_copy(dbad, 1)[0] == 0;

  // ---- avg pool ----
  const int64_t aout = avgp.n * avgp.c * avgp.out_h() * avgp.out_w();
  std::vector<float> ay(aout), agx(in);
  avg_pool2d_forward(avgp, x.data(), ay.data(), true);
  avg_pool2d_backward(avgp, gy.data(), agx.data(), true);
  auto avg_fwd = [&] { BENCH_CHECK(cuda::avg_pool2d_forward(avgp, dx, dy, true, 0)); };
  auto avg_bwd = [&] { BENCH_CHECK(cuda::avg_pool2d_backward(avgp, dgy, dgx, true, 0)); };
  avg_fwd();
  avg_bwd();
  BENCH_CHECK(cudaDeviceSynchronize());
  std::printf("avg_pool2d 2x2 stride 2 -> (%lld, %lld)\n", (long long)avgp.out_h(), (long long)avgp.out_w());
  ok &= validate_exact("y", host_copy(dy, aout), ay);
  ok &= validate_exact("grad_x", host_copy(dgx, in), agx);
  if (!ok) {
    std::printf("validation FAILED: not timing\n");
    return 1;
  }

  std::printf("timings (median of 50)\n");
  report("max_pool2d forward", time_ms(max_fwd), in * 4.0 + mout * 12.0, copy_gbs);
  report("max_pool2d backward", time_ms(max_bwd), mout * 12.0 + in * 4.0, copy_gbs);
  report("avg_pool2d forward", time_ms(avg_fwd), in * 4.0 + aout * 4.0, copy_gbs);
  report("avg_pool2d backward", time_ms(avg_bwd), aout * 4.0 + in * 4.0, copy_gbs);
  return 0;
}
