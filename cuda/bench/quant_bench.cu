// The quant family on the GPU (cuda/quant.cu): FP8 E4M3/E5M2 and bf16 conversions, int8
// quantise (scales chosen on the device, per tensor and per channel) and dequantise. Validate bit
// for bit against the CPU core (every value goes through the same grimoire/quant_bits.h), then
// time, printing GB/s and the fraction of the measured device-to-device copy bandwidth (every
// kernel here is memory-bound: one read and one write per element).
//   build: cmake -DGRIMOIRE_CUDA_BENCH=ON ...; run: build/dev/quant_bench [elements channels]
// Default: 64 Mi float32 values (256 MiB), 4096 channels for the per-channel int8 case (x read as
// (channels, elements / channels), a weight matrix's layout). The input mixes normal values with
// the edge cases (NaN, +-inf, values past each format's range, subnormals) so the validation sees
// every branch; the int8 inputs are finite (a NaN has no int8 code).
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "bench_util.cuh"
#include "grimoire/quant.h"
#include "quant.cuh"

using namespace grimoire;

int main(int argc, char** argv) {
  const int64_t n = argc > 2 ? std::atoll(argv[1]) : int64_t{64} << 20;
  const int64_t channels = argc > 2 ? std::atoll(argv[2]) : 4096;
  if (n % channels != 0) {
    std::fprintf(stderr, "elements must be a multiple of channels\n");
    return 2;
  }
  const double copy_gbs = copy_bandwidth_gbs();
  std::printf("quant_bench %lld elements, %lld channels; device-to-device copy: %.0f GB/s\n", (long long)n,
              (long long)channels, copy_gbs);
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  const float edge[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity(), 1e6f, -1e6f, 470.0f, 60000.0f, 1e-9f, -3e-8f,
                        0.0f, -0.0f};
  std::vector<float> x(n), xf(n);  // x with edge cases (conversions), xf finite (int8)
  for (int64_t i = 0; i < n; ++i) {
    xf[i] = normal(gen) * 8;
    x[i] = i % 1000 < 11 ? edge[i % 1000] : xf[i];
  }
  float *dx = device_copy(x), *dxf = device_copy(xf), *dout, *dscale, *scratch;
  uint8_t* d8;
  uint16_t* d16;
  int8_t* dq;
  int32_t *dzp, *dbad;
  BENCH_CHECK(cudaMalloc(&dout, n * 4));
  BENCH_CHECK(cudaMalloc(&d8, n));
  BENCH_CHECK(cudaMalloc(&d16, n * 2));
  BENCH_CHECK(cudaMalloc(&dq, n));
  BENCH_CHECK(cudaMalloc(&dscale, channels * 4));
  BENCH_CHECK(cudaMalloc(&dzp, channels * 4));
  BENCH_CHECK(cudaMalloc(&dbad, 4));
  QuantInt8Params tensor_shape{1, 1, n}, channel_shape{1, channels, n / channels};
  const int64_t scratch_floats =
      std::max(cuda::qparams_scratch(tensor_shape), cuda::qparams_scratch(channel_shape));
  BENCH_CHECK(cudaMalloc(&scratch, scratch_floats * 4 + 4));
  bool ok = true;

  // ---- conversions ----
  struct Fp8Case {
    const char* name;
    Fp8Format fmt;
    bool saturate;
  };
  const Fp8Case cases[] = {{"e4m3 saturate", Fp8Format::e4m3, true}, {"e4m3", Fp8Format::e4m3, false},
                           {"e5m2 saturate", Fp8Format::e5m2, true}, {"e5m2", Fp8Format::e5m2, false}};
  std::vector<uint8_t> codes(n);
  std::vector<float> back(n);
  for (const Fp8Case& k : cases) {
    to_fp8(x.data(), codes.data(), n, k.fmt, k.saturate);
    from_fp8(codes.data(), back.data(), n, k.fmt);
    BENCH_CHECK(cuda::to_fp8(dx, d8, n, k.fmt, k.saturate, 0));
    BENCH_CHECK(cuda::from_fp8(d8, dout, n, k.fmt, 0));
    BENCH_CHECK(cudaDeviceSynchronize());
    std::printf("fp8 %s\n", k.name);
    ok &= validate_exact("to_fp8 codes", host_copy(d8, n), codes);
    ok &= validate_exact("from_fp8 values", host_copy(dout, n), back);
  }
  std::vector<uint16_t> bits(n);
  to_bf16(x.data(), bits.data(), n);
  from_bf16(bits.data(), back.data(), n);
  BENCH_CHECK(cuda::to_bf16(dx, d16, n, 0));
  BENCH_CHECK(cuda::from_bf16(d16, dout, n, 0));
  BENCH_CHECK(cudaDeviceSynchronize());
  std::printf("bf16\n");
  ok &= validate_exact("to_bf16 codes", host_copy(d16, n), bits);
  ok &= validate_exact("from_bf16 values", host_copy(dout, n), back);

  // ---- int8: scales from the data, quantise, dequantise (per tensor and per channel) ----
  for (const bool per_channel : {false, true}) {
    for (const bool symmetric : {true, false}) {
      const QuantInt8Params shape = per_channel ? channel_shape : tensor_shape;
      const int64_t ch = shape.channels;
      std::vector<float> scale(ch);
      std::vector<int32_t> zp(ch);
      std::vector<int8_t> q(n);
      if (!choose_qparams_int8(xf.data(), shape, symmetric, scale.data(), zp.data())) return 1;
      QuantInt8Params p = shape;
      p.scale = scale.data(), p.zero_point = zp.data();
      p.qmin = symmetric ? -127 : -128, p.qmax = 127;
      quantize_int8(xf.data(), q.data(), p);
      dequantize_int8(q.data(), back.data(), p);
      QuantInt8Params dp = p;
      dp.scale = dscale, dp.zero_point = dzp;
      BENCH_CHECK(cudaMemset(dbad, 0, 4));
      BENCH_CHECK(cuda::choose_qparams_int8(dxf, shape, symmetric, dscale, dzp, dbad, scratch, 0));
      BENCH_CHECK(cuda::quantize_int8(dxf, dq, dp, 0));
      BENCH_CHECK(cuda::dequantize_int8(dq, dout, dp, 0));
      BENCH_CHECK(cudaDeviceSynchronize());
      std::printf("int8 %s, %s\n", per_channel ? "per channel" : "per tensor", symmetric ? "symmetric" : "affine");
      ok &= validate_exact("scale", host_copy(dscale, ch), scale);
      ok &= validate_exact("zero_point", host_copy(dzp, ch), zp);
      ok &= validate_exact("quantize_int8 codes", host_copy(dq, n), q);
      ok &= validate_exact("dequantize_int8 values", host_copy(dout, n), back);
      ok &= host_copy(dbad, 1)[0] == 0;
    }
  }
  if (!ok) {
    std::printf("validation FAILED: not timing\n");
    return 1;
  }

  std::printf("timings (median of 50)\n");
  const double f = 4.0 * n;  // bytes of n float32
  report("to_fp8 e4m3", time_ms([&] { BENCH_CHECK(cuda::to_fp8(dx, d8, n, Fp8Format::e4m3, true, 0)); }), f + n,
         copy_gbs);
  report("from_fp8 e4m3", time_ms([&] { BENCH_CHECK(cuda::from_fp8(d8, dout, n, Fp8Format::e4m3, 0)); }), n + f,
         copy_gbs);
  report("to_bf16", time_ms([&] { BENCH_CHECK(cuda::to_bf16(dx, d16, n, 0)); }), f + 2.0 * n, copy_gbs);
  report("from_bf16", time_ms([&] { BENCH_CHECK(cuda::from_bf16(d16, dout, n, 0)); }), 2.0 * n + f, copy_gbs);
  for (const bool per_channel : {false, true}) {
    QuantInt8Params dp = per_channel ? channel_shape : tensor_shape;
    dp.scale = dscale, dp.zero_point = dzp, dp.qmin = -127, dp.qmax = 127;
    const char* tag = per_channel ? " (per channel)" : " (per tensor)";
    char name[64];
    std::snprintf(name, sizeof name, "choose_qparams%s", tag);
    report(name, time_ms([&] {
             BENCH_CHECK(cuda::choose_qparams_int8(dxf, dp, true, dscale, dzp, dbad, scratch, 0));
           }),
           f, copy_gbs);  // one read of x
    std::snprintf(name, sizeof name, "quantize_int8%s", tag);
    report(name, time_ms([&] { BENCH_CHECK(cuda::quantize_int8(dxf, dq, dp, 0)); }), f + n, copy_gbs);
    std::snprintf(name, sizeof name, "dequantize_int8%s", tag);
    report(name, time_ms([&] { BENCH_CHECK(cuda::dequantize_int8(dq, dout, dp, 0)); }), n + f, copy_gbs);
  }
  return 0;
}
