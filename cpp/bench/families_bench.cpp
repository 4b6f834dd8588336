// Google Benchmark of the core's kernel families beside GEMM (gemm_bench.cpp): softmax and
// fused cross-entropy, LayerNorm/RMSNorm, the fused Adam step, attention, conv2d, bf16/FP8
// conversion, and the special functions of grimoire.stats.
//
// Each benchmark first runs the fast path (the ISA the dispatcher picks) and the family's scalar
// reference on its own inputs and aborts on a mismatch beyond the stated tolerance; only then
// does it time the fast path. Threads: every available core (grimoire::num_threads()).
//
// Build and run (CONTRIBUTING.md, "C++ microbenchmarks"):
//   cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DGRIMOIRE_CUDA=OFF -DGRIMOIRE_CPP_BENCH=ON
//   cmake --build build/bench --target families_bench && build/bench/families_bench
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "grimoire/attention.h"
#include "grimoire/conv.h"
#include "grimoire/cpu.h"
#include "grimoire/norm.h"
#include "grimoire/optim.h"
#include "grimoire/quant.h"
#include "grimoire/softmax.h"
#include "grimoire/special.h"

namespace {

std::vector<float> randn(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// |fast - ref| <= atol + rtol |ref| everywhere, or the run stops: timing a wrong kernel is worse
// than no figure.
template <typename A, typename B>
void require_close(const char* what, const A& fast, const B& ref, double rtol, double atol) {
  for (size_t i = 0; i < ref.size(); ++i) {
    const double f = static_cast<double>(fast[i]), r = static_cast<double>(ref[i]);
    if (!(std::fabs(f - r) <= atol + rtol * std::fabs(r))) {
      std::fprintf(stderr, "families_bench: %s fast path differs from the reference at %zu: %.9g vs %.9g\n",
                   what, i, f, r);
      std::abort();
    }
  }
}

// Bit-exact conversions (bf16, FP8): every code equals the reference's.
template <typename Code, typename Ref>
void require_codes(const char* what, const std::vector<float>& x, const std::vector<Code>& codes, Ref ref) {
  for (size_t i = 0; i < x.size(); ++i)
    if (codes[i] != ref(x[i])) {
      std::fprintf(stderr, "families_bench: %s code of %.9g is %u, the reference gives %u\n", what, x[i],
                   unsigned(codes[i]), unsigned(ref(x[i])));
      std::abort();
    }
}

void bytes_counter(benchmark::State& state, double bytes) {
  state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

void BM_softmax_forward(benchmark::State& state) {
  const int64_t rows = state.range(0), dim = state.range(1);
  auto x = randn(rows * dim, 1, 3.0f);
  std::vector<float> y(x.size()), ref(x.size());
  grimoire::SoftmaxParams p{rows, dim, x.data(), nullptr, ref.data()};
  grimoire::softmax_forward_reference(p);
  p.out = y.data();
  grimoire::softmax_forward(p);
  require_close("softmax_forward", y, ref, 5e-5, 1e-7);  // the SIMD exp is a polynomial
  for (auto _ : state) {
    grimoire::softmax_forward(p);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 8.0 * rows * dim);
}

void BM_cross_entropy(benchmark::State& state) {
  const int64_t n = state.range(0), classes = state.range(1);
  auto logits = randn(n * classes, 2, 2.0f);
  std::vector<int64_t> targets(n);
  for (int64_t i = 0; i < n; ++i) targets[i] = (i * 7919) % classes;
  std::vector<float> losses(n), grad(n * classes), ref_losses(n), ref_grad(n * classes);
  grimoire::CrossEntropyParams p;
  p.n = n; p.classes = classes; p.logits = logits.data(); p.targets = targets.data();
  p.label_smoothing = 0.1f; p.losses = ref_losses.data(); p.grad = ref_grad.data();
  const double ref = grimoire::cross_entropy_reference(p);
  p.losses = losses.data(); p.grad = grad.data();
  const double fast = grimoire::cross_entropy(p);
  require_close("cross_entropy loss", std::vector<double>{fast}, std::vector<double>{ref}, 1e-5, 0);
  require_close("cross_entropy grad", grad, ref_grad, 1e-4, 1e-8);
  for (auto _ : state) benchmark::DoNotOptimize(grimoire::cross_entropy(p));
  bytes_counter(state, 8.0 * n * classes);
}

template <bool Rms>
void BM_norm_forward(benchmark::State& state) {
  const int64_t rows = state.range(0), dim = state.range(1);
  auto x = randn(rows * dim, 3), w = randn(dim, 4), b = randn(dim, 5);
  std::vector<float> y(x.size()), ref(x.size()), mean(rows), rstd(rows);
  grimoire::LayerNormParams p;
  p.rows = rows; p.dim = dim; p.x = x.data(); p.weight = w.data(); p.bias = Rms ? nullptr : b.data();
  p.mean = mean.data(); p.rstd = rstd.data(); p.y = ref.data();
  Rms ? grimoire::rms_norm_forward_reference(p) : grimoire::layer_norm_forward_reference(p);
  p.y = y.data();
  Rms ? grimoire::rms_norm_forward(p) : grimoire::layer_norm_forward(p);
  require_close(Rms ? "rms_norm_forward" : "layer_norm_forward", y, ref, 1e-4, 1e-5);
  for (auto _ : state) {
    Rms ? grimoire::rms_norm_forward(p) : grimoire::layer_norm_forward(p);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 8.0 * rows * dim);
}

void BM_adam_step(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto grad = randn(n, 6), param0 = randn(n, 7);
  std::vector<float> param = param0, m(n, 0.0f), v(n, 0.0f), rparam = param0, rm(n, 0.0f), rv(n, 0.0f);
  grimoire::AdamParams p;
  p.n = n; p.grad = grad.data(); p.weight_decay = 0.01;
  p.param = rparam.data(); p.m = rm.data(); p.v = rv.data();
  grimoire::adam_step_reference(p);
  p.param = param.data(); p.m = m.data(); p.v = v.data();
  grimoire::adam_step(p);
  require_close("adam_step param", param, rparam, 1e-5, 1e-6);
  require_close("adam_step v", v, rv, 1e-5, 1e-12);
  for (auto _ : state) {
    grimoire::adam_step(p);  // the step count stays 1: every call does the same work
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 28.0 * n);  // param, m, v read and written, grad read
}

void BM_attention_forward(benchmark::State& state) {
  const int64_t len = state.range(0), d = 64, heads = 8;
  auto q = randn(heads * len * d, 8), k = randn(heads * len * d, 9), v = randn(heads * len * d, 10);
  std::vector<float> out(q.size()), ref(q.size()), lse(heads * len), ref_lse(heads * len);
  grimoire::AttentionParams p;
  p.batch = 1; p.heads = p.kv_heads = heads; p.q_len = p.k_len = len; p.head_dim = d;
  const int64_t st[3] = {heads * len * d, len * d, d};
  for (int i = 0; i < 3; ++i) p.q_stride[i] = p.k_stride[i] = p.v_stride[i] = p.out_stride[i] = st[i];
  p.q = q.data(); p.k = k.data(); p.v = v.data(); p.scale = 1.0f / 8.0f; p.causal = true;
  p.out = ref.data(); p.lse = ref_lse.data();
  grimoire::attention_forward_reference(p);
  p.out = out.data(); p.lse = lse.data();
  grimoire::attention_forward(p);
  require_close("attention_forward out", out, ref, 1e-4, 1e-5);
  require_close("attention_forward lse", lse, ref_lse, 1e-5, 1e-5);
  for (auto _ : state) {
    grimoire::attention_forward(p);
    benchmark::ClobberMemory();
  }
  // Causal: half of the 4 * len^2 * d multiply-adds of QK^T and PV.
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * heads * len * len * d, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_conv2d_forward(benchmark::State& state) {
  grimoire::Conv2dShape s;
  s.n = 8; s.c_in = state.range(0); s.h = s.w = state.range(1); s.c_out = state.range(0);
  s.kh = s.kw = 3; s.pad_h = s.pad_w = 1;
  auto x = randn(s.n * s.c_in * s.h * s.w, 11), w = randn(s.c_out * s.c_in * 9, 12, 0.1f), b = randn(s.c_out, 13);
  const size_t ny = s.n * s.c_out * s.out_h() * s.out_w();
  std::vector<float> y(ny), ref(ny);
  grimoire::conv2d_forward_reference(s, x.data(), w.data(), b.data(), ref.data());
  grimoire::conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
  require_close("conv2d_forward", y, ref, 1e-4, 1e-4);
  for (auto _ : state) {
    grimoire::conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * ny * s.c_in * 9, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_to_bf16(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto x = randn(n, 14, 100.0f);
  std::vector<uint16_t> out(n);
  grimoire::to_bf16(x.data(), out.data(), n);
  require_codes("to_bf16", x, out, [](float v) { return grimoire::to_bf16_ref(v); });
  for (auto _ : state) {
    grimoire::to_bf16(x.data(), out.data(), n);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 6.0 * n);
}

void BM_to_fp8_e4m3(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto x = randn(n, 15, 100.0f);
  std::vector<uint8_t> out(n);
  grimoire::to_fp8(x.data(), out.data(), n, grimoire::Fp8Format::e4m3, true);
  require_codes("to_fp8 e4m3", x, out, [](float v) { return grimoire::to_fp8_ref(v, grimoire::Fp8Format::e4m3, true); });
  for (auto _ : state) {
    grimoire::to_fp8(x.data(), out.data(), n, grimoire::Fp8Format::e4m3, true);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 5.0 * n);
}

// The special functions have one path; the check is an identity they must satisfy:
// ndtri(ndtr(x)) = x (for x <= 2: beyond, 1 - Phi(x) is below the float64 resolution of Phi), and
// P(a, x) + Q(a, x) = 1.
void BM_ndtr(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<double> x(n), p(n), back(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -8.0 + 10.0 * i / n;
  grimoire::ndtr(x.data(), p.data(), n);
  grimoire::ndtri(p.data(), back.data(), n);
  require_close("ndtri(ndtr(x))", back, x, 1e-9, 1e-12);
  for (auto _ : state) {
    grimoire::ndtr(x.data(), p.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_gammainc(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<double> a(n), x(n), p(n), q(n), ones(n, 1.0);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = 0.5 + 20.0 * (i % 97) / 97;
    x[i] = 40.0 * i / n;
  }
  grimoire::gammainc(a.data(), x.data(), p.data(), n, false);
  grimoire::gammainc(a.data(), x.data(), q.data(), n, true);
  for (int64_t i = 0; i < n; ++i) p[i] += q[i];
  require_close("P + Q", p, ones, 1e-12, 0);
  for (auto _ : state) {
    grimoire::gammainc(a.data(), x.data(), p.data(), n, false);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

}  // namespace

BENCHMARK(BM_softmax_forward)->Args({4096, 1024})->Args({256, 32768})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_cross_entropy)->Args({4096, 1000})->Args({64, 50257})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_norm_forward, false)->Args({8192, 1024})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_norm_forward, true)->Args({8192, 1024})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_adam_step)->Arg(1 << 22)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_attention_forward)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_forward)->Args({64, 32})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_to_bf16)->Arg(1 << 22)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_to_fp8_e4m3)->Arg(1 << 22)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ndtr)->Arg(1 << 20)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gammainc)->Arg(1 << 18)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
