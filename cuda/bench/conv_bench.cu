// conv2d forward and backward on the GPU (implicit GEMM, cuda/conv.cu): validate against the CPU
// core's scalar reference, then time, printing TFLOP/s and the fraction of the device's peak
// (float32: the SIMT mainloop against the fp32 FMA peak; bf16: tensor cores against the bf16
// mma peak; bench_util.cuh's device_peaks).
//   build: cmake -DGRIMOIRE_CUDA_BENCH=ON ...; run: build/dev/conv_bench [n c_in hw c_out k stride]
// Default: a ResNet-50 stage-2 3x3 layer, batch 32, 64 -> 64 channels at 56x56, padding k/2.
// Validation runs the same layer at batch 1 (the scalar reference at batch 32 would take
// minutes); FLOPs: forward 2 N C_out OH OW (C_in/g) KH KW, backward twice that (dgrad + wgrad).
#include <cstdio>
#include <random>
#include <vector>

#include "bench_util.cuh"
#include "conv.cuh"
#include "grimoire/conv.h"
#include "grimoire/quant.h"

using namespace grimoire;

namespace {

Conv2dShape layer(int64_t n, int64_t c_in, int64_t hw, int64_t c_out, int64_t k, int64_t stride) {
  Conv2dShape s;
  s.n = n, s.c_in = c_in, s.h = s.w = hw, s.c_out = c_out, s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = k / 2;
  return s;
}

std::vector<float> random(size_t n, std::mt19937& gen) {
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (float& x : v) x = normal(gen);
  return v;
}

// float32 values exactly representable in bf16 (so the CPU reference sees the GPU's inputs), and
// their bits.
std::vector<float> round_bf16(const std::vector<float>& v, std::vector<uint16_t>& bits) {
  bits.resize(v.size());
  to_bf16(v.data(), bits.data(), static_cast<int64_t>(v.size()));
  std::vector<float> out(v.size());
  from_bf16(bits.data(), out.data(), static_cast<int64_t>(v.size()));
  return out;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

struct Buffers {
  std::vector<float> x, w, b, dy;
};

const char* type_name(cuda::ConvType t) { return t == cuda::ConvType::bf16 ? "bf16" : "float32"; }

// The device arrays of one layer in one precision: x, w, dy as float32 or bf16 bits.
struct DeviceLayer {
  void *x = nullptr, *w = nullptr, *dy = nullptr;
  float *b = nullptr, *y = nullptr, *dx = nullptr, *dw = nullptr, *db = nullptr;
  DeviceLayer(cuda::ConvType type, const Buffers& h) {
    if (type == cuda::ConvType::bf16) {
      std::vector<uint16_t> xb, wb, dyb;
      round_bf16(h.x, xb), round_bf16(h.w, wb), round_bf16(h.dy, dyb);  // the bits are what is kept
      x = device_copy(xb), w = device_copy(wb), dy = device_copy(dyb);
    } else {
      x = device_copy(h.x), w = device_copy(h.w), dy = device_copy(h.dy);
    }
    b = device_copy(h.b);
    BENCH_CHECK(cudaMalloc(&y, h.dy.size() * 4));
    BENCH_CHECK(cudaMalloc(&dx, h.x.size() * 4));
    BENCH_CHECK(cudaMalloc(&dw, h.w.size() * 4));
    BENCH_CHECK(cudaMalloc(&db, h.b.size() * 4));
  }
  ~DeviceLayer() {
    for (void* p : {x, w, dy, static_cast<void*>(b), static_cast<void*>(y), static_cast<void*>(dx),
                    static_cast<void*>(dw), static_cast<void*>(db)})
      cudaFree(p);
  }
};

Buffers make(const Conv2dShape& s, std::mt19937& gen) {
  Buffers h;
  h.x = random(s.n * s.c_in * s.h * s.w, gen);
  h.w = random(s.c_out * (s.c_in / s.groups) * s.kh * s.kw, gen);
  h.b = random(s.c_out, gen);
  h.dy = random(s.n * s.c_out * s.out_h() * s.out_w(), gen);
  return h;
}

// The GPU's forward and backward against the scalar reference on the same (bf16-rounded) inputs.
// Tolerance: float32 summation-order error over k = (C_in/g) KH KW terms of products of N(0, 1)
// values, 1e-5 * k relative to the largest output (the CPU core's own tests use the same form).
bool validate_layer(const Conv2dShape& s, cuda::ConvType type, Buffers h) {
  if (type == cuda::ConvType::bf16) {
    std::vector<uint16_t> bits;
    h.x = round_bf16(h.x, bits), h.w = round_bf16(h.w, bits), h.dy = round_bf16(h.dy, bits);
  }
  std::vector<float> y(h.dy.size()), dx(h.x.size()), dw(h.w.size()), db(h.b.size());
  conv2d_forward_reference(s, h.x.data(), h.w.data(), h.b.data(), y.data());
  conv2d_backward_reference(s, h.dy.data(), h.x.data(), h.w.data(), dx.data(), dw.data(), db.data());
  DeviceLayer d(type, h);
  BENCH_CHECK(cuda::conv2d_forward(s, type, d.x, d.w, d.b, d.y, 0));
  BENCH_CHECK(cuda::conv2d_backward(s, type, d.dy, d.x, d.w, d.dx, d.dw, d.db, 0));
  BENCH_CHECK(cudaDeviceSynchronize());
  const double k = static_cast<double>(std::max(s.c_in, s.c_out) / s.groups * s.kh * s.kw);  // forward, dgrad
  const double k_wgrad = static_cast<double>(s.n * s.out_h() * s.out_w());
  std::printf("%s, batch %lld\n", type_name(type), static_cast<long long>(s.n));
  bool ok = validate("y", host_copy(d.y, y.size()), y, 1e-5 * k * (max_abs(y) + 1));
  ok &= validate("grad_x", host_copy(d.dx, dx.size()), dx, 1e-5 * k * (max_abs(dx) + 1));
  ok &= validate("grad_w", host_copy(d.dw, dw.size()), dw, 1e-5 * std::sqrt(k_wgrad) * (max_abs(dw) + 1));
  ok &= validate("grad_b", host_copy(d.db, db.size()), db, 1e-5 * std::sqrt(k_wgrad) * (max_abs(db) + 1));
  return ok;
}

void time_layer(const Conv2dShape& s, cuda::ConvType type, const Buffers& h, const DevicePeaks& peaks) {
  DeviceLayer d(type, h);
  const double fwd_flops = 2.0 * s.n * s.c_out * s.out_h() * s.out_w() * (s.c_in / s.groups) * s.kh * s.kw;
  const double peak = type == cuda::ConvType::bf16 ? peaks.bf16 : peaks.fp32;
  const float fms = time_ms([&] { BENCH_CHECK(cuda::conv2d_forward(s, type, d.x, d.w, d.b, d.y, 0)); }, 20, 3);
  const float bms = time_ms(
      [&] { BENCH_CHECK(cuda::conv2d_backward(s, type, d.dy, d.x, d.w, d.dx, d.dw, d.db, 0)); }, 20, 3);
  std::printf("%s, batch %lld\n", type_name(type), static_cast<long long>(s.n));
  report("forward", fms, 0, 0, fwd_flops, peak);
  report("backward (dgrad + wgrad + db)", bms, 0, 0, 2 * fwd_flops, peak);
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, int64_t fallback) { return argc > 6 ? std::atoll(argv[i]) : fallback; };
  const Conv2dShape s = layer(arg(1, 32), arg(2, 64), arg(3, 56), arg(4, 64), arg(5, 3), arg(6, 1));
  Conv2dShape v = s;
  v.n = 1;
  const DevicePeaks peaks = device_peaks();
  std::printf("conv_bench on %s (sm_%d%d, %d SMs, %.0f MHz): x (%lld, %lld, %lld, %lld), w (%lld, %lld, %lld, %lld), "
              "stride %lld, padding %lld; peaks fp32 %.1f, bf16 %.1f TFLOP/s\n",
              peaks.name, peaks.major, peaks.minor, peaks.sms, peaks.clock_mhz, (long long)s.n, (long long)s.c_in,
              (long long)s.h, (long long)s.w, (long long)s.c_out, (long long)s.c_in, (long long)s.kh, (long long)s.kw,
              (long long)s.stride_h, (long long)s.pad_h, peaks.fp32 / 1e12, peaks.bf16 / 1e12);
  std::mt19937 gen(0);
  bool ok = true;
  for (cuda::ConvType type : {cuda::ConvType::f32, cuda::ConvType::bf16}) ok &= validate_layer(v, type, make(v, gen));
  if (!ok) {
    std::printf("validation FAILED: not timing\n");
    return 1;
  }
  const Buffers h = make(s, gen);
  for (cuda::ConvType type : {cuda::ConvType::f32, cuda::ConvType::bf16}) time_layer(s, type, h, peaks);
  return 0;
}
