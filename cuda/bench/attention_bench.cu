// Flash attention microbenchmark (llm.c dev/cuda style): validate, then time.
//
//   attention_bench [seq=4096] [batch=4] [heads=16] [head_dim=128]
//
// 1. Validation on a small problem with ragged lengths, GQA and causal: the bf16 forward and
//    backward against the CPU core's scalar reference (grimoire::attention_*_reference, double
//    accumulation) on the same bf16-rounded inputs; the tolerances are bf16-level.
// 2. Timing (cudaEvents, median of 20 after warm-up) of the forward and forward+backward at
//    batch x heads x seq x head_dim, causal and not, in TFLOP/s and % of the tensor-core peak
//    (SMs x clock x dense bf16 flops per SM per clock: 2048 on sm_80, 4096 on sm_90).
//    FLOPs: forward 4 * b * h * s^2 * d (halved when causal), backward 2.5x the forward
//    (FlashAttention's convention: five GEMMs against two).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "attention.cuh"
#include "grimoire/attention.h"

using grimoire::AttentionParams;
using grimoire::cuda::AttentionCudaParams;
using grimoire::cuda::AttentionDtype;

#define CHECK(x)                                                                              \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                           \
    }                                                                                         \
  } while (0)

namespace {

struct Shape {
  int64_t b, h, kh, lq, lk, d;
};

uint16_t to_bf16_bits(float x) {  // round to nearest even (finite inputs)
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
float from_bf16_bits(uint16_t x) {
  const uint32_t u = uint32_t{x} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct Device {
  void* ptr = nullptr;
  explicit Device(size_t bytes) { CHECK(cudaMalloc(&ptr, std::max<size_t>(bytes, 1))); }
  ~Device() { cudaFree(ptr); }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr); }
};

void contiguous_strides(int64_t* s, int64_t heads, int64_t len, int64_t d) {
  s[0] = heads * len * d;
  s[1] = len * d;
  s[2] = d;
}

// Device buffers of one problem (bf16 q, k, v, grad_out; outputs) and the params over them.
struct Problem {
  Shape sh;
  bool causal;
  std::vector<uint16_t> q, k, v, go;
  Device dq_in, dk_in, dv_in, dgo, dout, dlse, ddq, ddk, ddv;
  std::unique_ptr<Device> ws_fwd, ws_bwd;  // sized once p is filled
  AttentionCudaParams p;
  int device = 0;

  static size_t qn(const Shape& s) { return size_t(s.b * s.h * s.lq * s.d); }
  static size_t kn(const Shape& s) { return size_t(s.b * s.kh * s.lk * s.d); }

  Problem(Shape s, bool c, std::mt19937& rng)
      : sh(s), causal(c), q(qn(s)), k(kn(s)), v(kn(s)), go(qn(s)), dq_in(qn(s) * 2), dk_in(kn(s) * 2),
        dv_in(kn(s) * 2), dgo(qn(s) * 2), dout(qn(s) * 2), dlse(size_t(s.b * s.h * s.lq) * 4), ddq(qn(s) * 4),
        ddk(kn(s) * 4), ddv(kn(s) * 4) {
    std::normal_distribution<float> normal;
    for (auto* vec : {&q, &k, &v, &go})
      for (auto& x : *vec) x = to_bf16_bits(normal(rng));
    CHECK(cudaMemcpy(dq_in.ptr, q.data(), q.size() * 2, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dk_in.ptr, k.data(), k.size() * 2, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dv_in.ptr, v.data(), v.size() * 2, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dgo.ptr, go.data(), go.size() * 2, cudaMemcpyHostToDevice));
    CHECK(cudaGetDevice(&device));
    p.dtype = AttentionDtype::bf16;
    p.batch = s.b, p.heads = s.h, p.kv_heads = s.kh, p.q_len = s.lq, p.k_len = s.lk, p.head_dim = s.d;
    p.q = dq_in.ptr, p.k = dk_in.ptr, p.v = dv_in.ptr, p.grad_out = dgo.ptr, p.out = dout.ptr;
    contiguous_strides(p.q_stride, s.h, s.lq, s.d);
    contiguous_strides(p.k_stride, s.kh, s.lk, s.d);
    contiguous_strides(p.v_stride, s.kh, s.lk, s.d);
    contiguous_strides(p.out_stride, s.h, s.lq, s.d);
    contiguous_strides(p.grad_out_stride, s.h, s.lq, s.d);
    p.scale = 1.0f / std::sqrt(float(s.d));
    p.causal = c;
    p.lse = dlse.as<float>(), p.dq = ddq.as<float>(), p.dk = ddk.as<float>(), p.dv = ddv.as<float>();
    ws_fwd = std::make_unique<Device>(size_t(grimoire::cuda::attention_forward_workspace(p, device)));
    ws_bwd = std::make_unique<Device>(size_t(grimoire::cuda::attention_backward_workspace(p)));
  }
  void forward(cudaStream_t st) {
    CHECK(grimoire::cuda::attention_forward(p, {ws_fwd->ptr, grimoire::cuda::attention_forward_workspace(p, device)},
                                            device, st));
  }
  void backward(cudaStream_t st) {
    CHECK(grimoire::cuda::attention_backward(p, {ws_bwd->ptr, grimoire::cuda::attention_backward_workspace(p)}, st));
  }
};

std::vector<float> widen(const std::vector<uint16_t>& x) {
  std::vector<float> f(x.size());
  for (size_t i = 0; i < x.size(); ++i) f[i] = from_bf16_bits(x[i]);
  return f;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b, double* ref_max) {
  double e = 0.0, m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isinf(b[i]) && a[i] == b[i]) continue;
    e = std::max(e, std::abs(double(a[i]) - double(b[i])));
    m = std::max(m, std::abs(double(b[i])));
  }
  *ref_max = m;
  return e;
}

// GPU bf16 forward/backward against the CPU scalar reference on the same rounded inputs.
bool validate(Shape s, bool causal, std::mt19937& rng) {
  Problem pr(s, causal, rng);
  pr.forward(0);
  pr.backward(0);
  CHECK(cudaDeviceSynchronize());
  std::vector<uint16_t> out_bits(Problem::qn(s));
  std::vector<float> lse(size_t(s.b * s.h * s.lq)), dq(Problem::qn(s)), dk(Problem::kn(s)), dv(Problem::kn(s));
  CHECK(cudaMemcpy(out_bits.data(), pr.dout.ptr, out_bits.size() * 2, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(lse.data(), pr.dlse.ptr, lse.size() * 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(dq.data(), pr.ddq.ptr, dq.size() * 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(dk.data(), pr.ddk.ptr, dk.size() * 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(dv.data(), pr.ddv.ptr, dv.size() * 4, cudaMemcpyDeviceToHost));
  const std::vector<float> q = widen(pr.q), k = widen(pr.k), v = widen(pr.v), go = widen(pr.go);
  // The backward reference reads the GPU's bf16 output (as the GPU backward does).
  const std::vector<float> out = widen(out_bits);
  std::vector<float> ref_out(q.size()), ref_lse(lse.size()), rdq(q.size()), rdk(k.size()), rdv(v.size());
  AttentionParams c;
  c.batch = s.b, c.heads = s.h, c.kv_heads = s.kh, c.q_len = s.lq, c.k_len = s.lk, c.head_dim = s.d;
  c.q = q.data(), c.k = k.data(), c.v = v.data();
  contiguous_strides(c.q_stride, s.h, s.lq, s.d);
  contiguous_strides(c.k_stride, s.kh, s.lk, s.d);
  contiguous_strides(c.v_stride, s.kh, s.lk, s.d);
  contiguous_strides(c.out_stride, s.h, s.lq, s.d);
  contiguous_strides(c.grad_out_stride, s.h, s.lq, s.d);
  c.scale = pr.p.scale, c.causal = causal;
  c.out = ref_out.data(), c.lse = ref_lse.data();
  grimoire::attention_forward_reference(c);
  c.out = const_cast<float*>(out.data()), c.lse = lse.data(), c.grad_out = go.data();
  c.dq = rdq.data(), c.dk = rdk.data(), c.dv = rdv.data();
  grimoire::attention_backward_reference(c);
  bool ok = true;
  auto report = [&](const char* what, const std::vector<float>& got, const std::vector<float>& ref, double rel) {
    double m;
    const double e = max_abs_diff(got, ref, &m);
    const bool pass = e <= rel * std::max(1.0, m);
    std::printf("  %-4s max |err| %.3g (max |ref| %.3g) %s\n", what, e, m, pass ? "ok" : "FAILED");
    ok = ok && pass;
  };
  std::printf("validate b=%lld h=%lld kv=%lld q=%lld k=%lld d=%lld causal=%d\n", (long long)s.b, (long long)s.h,
              (long long)s.kh, (long long)s.lq, (long long)s.lk, (long long)s.d, int(causal));
  report("out", out, ref_out, 1.6e-2);  // bf16 output: ~2^-8 relative, P rounded to bf16
  report("lse", lse, ref_lse, 1e-3);
  report("dq", dq, rdq, 3e-2);
  report("dk", dk, rdk, 3e-2);
  report("dv", dv, rdv, 3e-2);
  return ok;
}

double peak_tflops() {
  int dev = 0, sms = 0, khz = 0, major = 0;
  CHECK(cudaGetDevice(&dev));
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev));
  CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  const double per_sm_clk = major >= 9 ? 4096.0 : 2048.0;  // dense bf16 tensor-core flops
  return sms * (khz * 1e3) * per_sm_clk / 1e12;
}

template <typename F>
float median_ms(F&& run, int repeats = 20) {
  for (int i = 0; i < 3; ++i) run();
  std::vector<float> t(repeats);
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < repeats; ++i) {
    CHECK(cudaEventRecord(a));
    run();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    CHECK(cudaEventElapsedTime(&t[i], a, b));
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[repeats / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t seq = argc > 1 ? std::atoll(argv[1]) : 4096, batch = argc > 2 ? std::atoll(argv[2]) : 4;
  const int64_t heads = argc > 3 ? std::atoll(argv[3]) : 16, d = argc > 4 ? std::atoll(argv[4]) : 128;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("attention_bench: no CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::mt19937 rng(1234);
  bool ok = true;
  for (bool causal : {false, true}) {
    ok = validate({2, 4, 2, 77, 300, 128}, causal, rng) && ok;  // ragged tiles, GQA, q_len < k_len
    ok = validate({1, 2, 1, 130, 65, 64}, causal, rng) && ok;   // q_len > k_len: empty causal rows
    ok = validate({1, 4, 1, 1, 5000, 128}, causal, rng) && ok;  // decode: split-K
  }
  if (!ok) {
    std::printf("validation FAILED: no timings\n");
    return 1;
  }
  const double peak = peak_tflops();
  std::printf("\n%s, peak %.0f dense bf16 TFLOP/s; batch %lld, heads %lld, seq %lld, head_dim %lld, bf16\n",
              prop.name, peak, (long long)batch, (long long)heads, (long long)seq, (long long)d);
  for (bool causal : {false, true}) {
    Problem pr({batch, heads, heads, seq, seq, d}, causal, rng);
    const double fwd_flops = 4.0 * batch * heads * seq * seq * d * (causal ? 0.5 : 1.0);
    const float f = median_ms([&] { pr.forward(0); });
    const float fb = median_ms([&] { pr.forward(0); pr.backward(0); });
    const double tf = fwd_flops / (f * 1e-3) / 1e12, tfb = 3.5 * fwd_flops / (fb * 1e-3) / 1e12;
    std::printf("causal=%d  forward %8.3f ms %6.1f TFLOP/s (%4.1f%% of peak)   fwd+bwd %8.3f ms %6.1f TFLOP/s (%4.1f%%)\n",
                int(causal), f, tf, 100 * tf / peak, fb, tfb, 100 * tfb / peak);
  }
  return 0;
}
