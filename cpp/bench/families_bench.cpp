// Google Benchmark of the core's kernel families beside GEMM (gemm_bench.cpp): GELU forward and
// backward, softmax and fused cross-entropy, LayerNorm/RMSNorm, the fused Adam step, attention, conv2d, bf16/FP8
// conversion, the special functions of grimoire.stats, int8 quantisation (choose_qparams,
// quantize, dequantize), the int8 GEMM and int8 linear layer (per call and prepacked), the
// FP8/bf16 GEMMs, and max/average pooling.
//
// Each benchmark first runs the fast path (the ISA the dispatcher picks) and the family's scalar
// reference on its own inputs and aborts on a mismatch beyond the stated tolerance; only then
// does it time the fast path. Where a family has no separate reference function, the reference
// is its scalar path (the ISA limit set to scalar for one call), an exact double-precision loop
// written here (FP8/bf16 GEMM, pooling), or an identity (special functions). The int8 benchmarks
// name the path they timed in their label (avx512 is the VNNI kernel). Threads: every available
// core (grimoire::num_threads()).
//
// Build and run (CONTRIBUTING.md, "C++ microbenchmarks"):
//   cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DGRIMOIRE_CUDA=OFF -DGRIMOIRE_CPP_BENCH=ON
//   cmake --build build/bench --target families_bench && build/bench/families_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "grimoire/activation.h"
#include "grimoire/attention.h"
#include "grimoire/conv.h"
#include "grimoire/cpu.h"
#include "grimoire/gemm_int8.h"
#include "grimoire/norm.h"
#include "grimoire/optim.h"
#include "grimoire/pool.h"
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

void ops_counter(benchmark::State& state, double ops) {
  state.counters["GOP/s"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}

std::vector<int8_t> random_int8(size_t n, unsigned seed, int lo = -128, int hi = 127) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(gen));
  return v;
}

// Runs f with the kernels limited to their scalar paths (the families' reference), then puts
// back the limit in force before (GRIMOIRE_ISA or the detected ISA).
template <typename F>
void on_scalar_path(F&& f) {
  const grimoire::Isa previous = grimoire::active_isa();
  grimoire::set_isa_limit(grimoire::Isa::scalar);
  f();
  grimoire::set_isa_limit(previous);
}

// GELU over n elements: forward (arg 1 = 0) or backward (1); a GPT MLP's (2048, 1024) activations.
void BM_gelu(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool backward = state.range(1) != 0;
  auto x = randn(n, 1, 3.0f), g = randn(n, 2);
  std::vector<float> y(n), ref(n);
  grimoire::ActivationParams p{n, x.data(), g.data(), ref.data()};
  if (backward) grimoire::gelu_backward_reference(p);
  else grimoire::gelu_forward_reference(p);
  p.out = y.data();
  const auto run = backward ? &grimoire::gelu_backward : &grimoire::gelu_forward;
  run(p);
  require_close("gelu", y, ref, 1e-6, 2e-6);  // float32 A&S erf (1.5e-7) against double std::erf
  for (auto _ : state) {
    run(p);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, (backward ? 12.0 : 8.0) * n);
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

// ---- int8 quantisation: bit for bit the scalar path (codes, scales, zero points, values) ----

// x (channels, inner): per channel when channels > 1, per tensor when channels == 1.
grimoire::QuantInt8Params int8_shape(int64_t channels, int64_t inner) {
  grimoire::QuantInt8Params p;
  p.outer = 1; p.channels = channels; p.inner = inner;
  return p;
}

void BM_choose_qparams_int8(benchmark::State& state) {
  const int64_t channels = state.range(0), inner = state.range(1);
  auto x = randn(channels * inner, 16, 3.0f);
  const auto shape = int8_shape(channels, inner);
  std::vector<float> scale(channels), ref_scale(channels);
  std::vector<int32_t> zp(channels), ref_zp(channels);
  bool ref_ok = false;
  on_scalar_path([&] { ref_ok = grimoire::choose_qparams_int8(x.data(), shape, false, ref_scale.data(), ref_zp.data()); });
  const bool ok = grimoire::choose_qparams_int8(x.data(), shape, false, scale.data(), zp.data());
  require_close("choose_qparams_int8 ok", std::vector<int>{ok}, std::vector<int>{ref_ok}, 0, 0);
  require_close("choose_qparams_int8 scale", scale, ref_scale, 0, 0);
  require_close("choose_qparams_int8 zero_point", zp, ref_zp, 0, 0);
  for (auto _ : state) benchmark::DoNotOptimize(grimoire::choose_qparams_int8(x.data(), shape, false, scale.data(), zp.data()));
  bytes_counter(state, 4.0 * channels * inner);
}

void BM_quantize_int8(benchmark::State& state) {
  const int64_t channels = state.range(0), inner = state.range(1);
  auto x = randn(channels * inner, 17, 3.0f);
  auto p = int8_shape(channels, inner);
  std::vector<float> scale(channels);
  std::vector<int32_t> zp(channels);
  if (!grimoire::choose_qparams_int8(x.data(), p, false, scale.data(), zp.data())) std::abort();
  p.scale = scale.data(); p.zero_point = zp.data(); p.qmin = -128; p.qmax = 127;  // affine
  std::vector<int8_t> q(x.size()), ref(x.size());
  on_scalar_path([&] { grimoire::quantize_int8(x.data(), ref.data(), p); });
  grimoire::quantize_int8(x.data(), q.data(), p);
  require_close("quantize_int8", q, ref, 0, 0);
  for (auto _ : state) {
    grimoire::quantize_int8(x.data(), q.data(), p);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 5.0 * channels * inner);
}

void BM_dequantize_int8(benchmark::State& state) {
  const int64_t channels = state.range(0), inner = state.range(1);
  auto q = random_int8(channels * inner, 18);
  auto p = int8_shape(channels, inner);
  std::vector<float> scale(channels);
  std::vector<int32_t> zp(channels);
  for (int64_t c = 0; c < channels; ++c) {
    scale[c] = 0.01f + 0.001f * static_cast<float>(c % 17);
    zp[c] = static_cast<int32_t>(c % 9) - 4;
  }
  p.scale = scale.data(); p.zero_point = zp.data();
  std::vector<float> x(q.size()), ref(q.size());
  on_scalar_path([&] { grimoire::dequantize_int8(q.data(), ref.data(), p); });
  grimoire::dequantize_int8(q.data(), x.data(), p);
  require_close("dequantize_int8", x, ref, 0, 0);
  for (auto _ : state) {
    grimoire::dequantize_int8(q.data(), x.data(), p);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 5.0 * channels * inner);
}

// ---- int8 GEMM and linear layer: exact integers, so equal to the reference bit for bit ------

void BM_gemm_int8(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  auto a = random_int8(m * k, 19), b = random_int8(k * n, 20);  // -128 included: the VNNI offset's edge
  std::vector<int32_t> c(m * n), ref(m * n);
  grimoire::GemmInt8Params p;
  p.m = m; p.n = n; p.k = k;
  p.a = a.data(); p.a_row_stride = k; p.a_col_stride = 1;
  p.b = b.data(); p.b_row_stride = n; p.b_col_stride = 1;
  p.c = ref.data(); p.c_row_stride = n;
  grimoire::gemm_int8_reference(p);
  p.c = c.data();
  grimoire::gemm_int8(p);
  require_close("gemm_int8", c, ref, 0, 0);
  for (auto _ : state) {
    grimoire::gemm_int8(p);
    benchmark::ClobberMemory();
  }
  state.SetLabel(grimoire::isa_name(grimoire::int8_isa()));
  ops_counter(state, 2.0 * m * n * k);
}

struct LinearInt8Problem {
  int64_t m, n, k;
  std::vector<float> x, w_scale, bias;
  std::vector<int8_t> w;
  LinearInt8Problem(int64_t m_, int64_t n_, int64_t k_)
      : m(m_), n(n_), k(k_), x(randn(m_ * k_, 21)), w_scale(n_), bias(randn(n_, 22)), w(random_int8(n_ * k_, 23, -127, 127)) {
    for (int64_t j = 0; j < n; ++j) w_scale[j] = 1e-3f * static_cast<float>(1 + j % 50);
  }
  grimoire::LinearInt8Params params(float* y) const {
    grimoire::LinearInt8Params p;
    p.m = m; p.n = n; p.k = k;
    p.x = x.data(); p.w = w.data(); p.w_scale = w_scale.data(); p.bias = bias.data(); p.y = y;
    return p;
  }
  // The scalar path: x quantised whole, gemm_int8_reference, the same float32 epilogue.
  std::vector<float> reference() const {
    std::vector<float> y(m * n);
    bool ok = false;
    on_scalar_path([&] { ok = grimoire::linear_int8(params(y.data())); });
    if (!ok) std::abort();
    return y;
  }
};

void BM_linear_int8(benchmark::State& state) {
  const LinearInt8Problem pr(state.range(0), state.range(1), state.range(2));
  const auto ref = pr.reference();
  std::vector<float> y(ref.size());
  const auto p = pr.params(y.data());
  if (!grimoire::linear_int8(p)) std::abort();
  require_close("linear_int8", y, ref, 0, 0);
  for (auto _ : state) benchmark::DoNotOptimize(grimoire::linear_int8(p));
  state.SetLabel(grimoire::isa_name(grimoire::int8_isa()));
  ops_counter(state, 2.0 * pr.m * pr.n * pr.k);
}

// W packed once, outside the timed loop (as QuantizedLinear does); the per-call quantisation of
// x is timed.
void BM_linear_int8_packed(benchmark::State& state) {
  const LinearInt8Problem pr(state.range(0), state.range(1), state.range(2));
  const auto ref = pr.reference();
  const auto packed = grimoire::pack_int8_weight(pr.w.data(), pr.n, pr.k);
  std::vector<float> y(ref.size());
  if (!grimoire::linear_int8_packed(pr.x.data(), pr.m, packed, pr.w_scale.data(), pr.bias.data(), y.data())) std::abort();
  require_close("linear_int8_packed", y, ref, 0, 0);
  for (auto _ : state)
    benchmark::DoNotOptimize(grimoire::linear_int8_packed(pr.x.data(), pr.m, packed, pr.w_scale.data(), pr.bias.data(), y.data()));
  state.SetLabel(grimoire::isa_name(packed.isa));
  ops_counter(state, 2.0 * pr.m * pr.n * pr.k);
}

// The quantised convolution of the digits CNN's second layer (n images of c x 8 x 8, 3x3, pad 1,
// 2c output channels, ReLU fused), W packed once outside the timed loop; the per-call
// quantisation of x and the patch gathering are timed. Validated against the scalar path.
void BM_conv2d_int8(benchmark::State& state) {
  const int64_t n = state.range(0), c = state.range(1);
  grimoire::Conv2dShape s;
  s.n = n; s.c_in = c; s.h = 8; s.w = 8; s.c_out = 2 * c; s.kh = 3; s.kw = 3; s.pad_h = 1; s.pad_w = 1;
  const std::vector<float> x = randn(n * c * 64, 31), bias = randn(s.c_out, 32);
  const std::vector<int8_t> w = random_int8(s.c_out * c * 9, 33, -127, 127);
  std::vector<float> w_scale(s.c_out, 2e-3f), y(n * s.c_out * 64), ref(y.size());
  grimoire::Conv2dInt8Params p;
  p.shape = s; p.x = x.data(); p.w_scale = w_scale.data(); p.bias = bias.data(); p.relu = true;
  grimoire::PackedInt8Weight scalar_w;
  on_scalar_path([&] {
    scalar_w = grimoire::pack_int8_conv_weight(w.data(), s.c_out, c, 3, 3);
    p.w = &scalar_w;
    p.y = ref.data();
    if (!grimoire::conv2d_int8(p)) std::abort();
  });
  const auto packed = grimoire::pack_int8_conv_weight(w.data(), s.c_out, c, 3, 3);
  p.w = &packed;
  p.y = y.data();
  if (!grimoire::conv2d_int8(p)) std::abort();
  require_close("conv2d_int8", y, ref, 0, 0);
  for (auto _ : state) benchmark::DoNotOptimize(grimoire::conv2d_int8(p));
  state.SetLabel(grimoire::isa_name(packed.isa));
  ops_counter(state, 2.0 * n * 64 * s.c_out * c * 9);
}

// ---- FP8 / bf16 GEMMs: decode + float32 GEMM, against an exact double-precision product -----

// c_ref = alpha * decode(A) @ decode(B) in double, with the operands decoded one value at a time
// by the scalar references; the fast path may differ by float32 accumulation. The tolerance is
// 4 eps sqrt(k) sum_p |alpha a_ip b_pj|: rounding errors of random-signed terms grow like sqrt(k)
// (the worst case, k eps, would let a single wrong term of the k go unnoticed), with a wide margin
// for these randn operands.
template <typename DecodeA, typename DecodeB>
void require_gemm_close(const char* what, int64_t m, int64_t n, int64_t k, DecodeA dec_a, DecodeB dec_b, double alpha,
                        const std::vector<float>& c) {
  std::vector<float> a(m * k), b(k * n);  // decoded FP8/bf16 values are exact in float32
  for (int64_t i = 0; i < m * k; ++i) a[i] = dec_a(i);
  for (int64_t i = 0; i < k * n; ++i) b[i] = dec_b(i);
  std::vector<double> ref(n), mag(n), ref_all(m * n), tol_all(m * n);
  for (int64_t i = 0; i < m; ++i) {
    std::fill(ref.begin(), ref.end(), 0.0);
    std::fill(mag.begin(), mag.end(), 0.0);
    for (int64_t p = 0; p < k; ++p) {
      const double aip = a[i * k + p];  // double products of float32 values: exact
      const float* brow = b.data() + p * n;
      for (int64_t j = 0; j < n; ++j) {
        ref[j] += aip * brow[j];
        mag[j] += std::fabs(aip * brow[j]);
      }
    }
    for (int64_t j = 0; j < n; ++j) {
      ref_all[i * n + j] = alpha * ref[j];
      tol_all[i * n + j] = 4.0 * 1.2e-7 * std::sqrt(double(k)) * std::fabs(alpha) * mag[j];
    }
  }
  for (int64_t i = 0; i < m * n; ++i)
    if (!(std::fabs(static_cast<double>(c[i]) - ref_all[i]) <= tol_all[i])) {
      std::fprintf(stderr, "families_bench: %s differs from the exact product at %lld: %.9g vs %.9g (tolerance %.3g)\n",
                   what, static_cast<long long>(i), static_cast<double>(c[i]), ref_all[i], tol_all[i]);
      std::abort();
    }
}

void BM_gemm_fp8(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  using grimoire::Fp8Format;
  // A in E4M3 (weights, activations), B in E5M2 (the wider range gradients use).
  auto af = randn(m * k, 24, 4.0f), bf = randn(k * n, 25, 100.0f);
  std::vector<uint8_t> a(m * k), b(k * n);
  for (int64_t i = 0; i < m * k; ++i) a[i] = grimoire::to_fp8_ref(af[i], Fp8Format::e4m3, true);
  for (int64_t i = 0; i < k * n; ++i) b[i] = grimoire::to_fp8_ref(bf[i], Fp8Format::e5m2, true);
  const float scale_a = 0.5f, scale_b = 0.125f;
  std::vector<float> c(m * n);
  grimoire::gemm_fp8(m, n, k, a.data(), b.data(), scale_a, scale_b, Fp8Format::e4m3, Fp8Format::e5m2, c.data());
  require_gemm_close(
      "gemm_fp8", m, n, k, [&](int64_t i) { return grimoire::from_fp8_ref(a[i], Fp8Format::e4m3); },
      [&](int64_t i) { return grimoire::from_fp8_ref(b[i], Fp8Format::e5m2); }, double(scale_a) * scale_b, c);
  for (auto _ : state) {
    grimoire::gemm_fp8(m, n, k, a.data(), b.data(), scale_a, scale_b, Fp8Format::e4m3, Fp8Format::e5m2, c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_gemm_bf16(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  auto af = randn(m * k, 26), bf = randn(k * n, 27);
  std::vector<uint16_t> a(m * k), b(k * n);
  for (int64_t i = 0; i < m * k; ++i) a[i] = grimoire::to_bf16_ref(af[i]);
  for (int64_t i = 0; i < k * n; ++i) b[i] = grimoire::to_bf16_ref(bf[i]);
  std::vector<float> c(m * n);
  grimoire::gemm_bf16(m, n, k, a.data(), b.data(), c.data());
  require_gemm_close(
      "gemm_bf16", m, n, k, [&](int64_t i) { return grimoire::from_bf16_ref(a[i]); },
      [&](int64_t i) { return grimoire::from_bf16_ref(b[i]); }, 1.0, c);
  for (auto _ : state) {
    grimoire::gemm_bf16(m, n, k, a.data(), b.data(), c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

// ---- pooling: the dispatched path (GRIMOIRE_ISA limits it); the reference is the window formula
// of pool.h, written out here ----

// Window (i, j) of a kh x kw, stride s, padding p pooling, rows [h0, h1) and columns [w0, w1)
// clipped to the image; `padded` counts the cells inside the padded image.
struct PoolWindow {
  int64_t h0, h1, w0, w1, padded;
};
PoolWindow pool_window(const grimoire::Pool2dShape& s, int64_t i, int64_t j) {
  const int64_t r0 = i * s.stride_h - s.pad_h, c0 = j * s.stride_w - s.pad_w;
  const int64_t r1 = std::min(r0 + s.kh, s.h + s.pad_h), c1 = std::min(c0 + s.kw, s.w + s.pad_w);
  return {std::max<int64_t>(r0, 0), std::min(r1, s.h), std::max<int64_t>(c0, 0), std::min(c1, s.w),
          (r1 - r0) * (c1 - c0)};
}

// ResNet's stem pooling: 3x3, stride 2, padding 1 over (N, C, H, H).
grimoire::Pool2dShape stem_pool(benchmark::State& state) {
  grimoire::Pool2dShape s;
  s.n = state.range(0); s.c = state.range(1); s.h = s.w = state.range(2);
  s.kh = s.kw = 3; s.stride_h = s.stride_w = 2; s.pad_h = s.pad_w = 1;
  return s;
}

void BM_max_pool2d_forward(benchmark::State& state) {
  const auto s = stem_pool(state);
  const int64_t planes = s.n * s.c, OH = s.out_h(), OW = s.out_w();
  auto x = randn(planes * s.h * s.w, 28);
  std::vector<float> y(planes * OH * OW), ref(y.size());
  std::vector<int64_t> idx(y.size()), ref_idx(y.size());
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j) {
        const PoolWindow win = pool_window(s, i, j);
        const int64_t o = (pl * OH + i) * OW + j;
        ref_idx[o] = -1;
        for (int64_t r = win.h0; r < win.h1; ++r)
          for (int64_t c = win.w0; c < win.w1; ++c) {
            const float v = x[pl * s.h * s.w + r * s.w + c];
            if (ref_idx[o] < 0 || v > ref[o]) {  // the first maximum (randn: no NaN, no tie)
              ref[o] = v;
              ref_idx[o] = r * s.w + c;
            }
          }
      }
  grimoire::max_pool2d_forward(s, x.data(), y.data(), idx.data());
  require_close("max_pool2d_forward", y, ref, 0, 0);
  require_close("max_pool2d_forward indices", idx, ref_idx, 0, 0);
  for (auto _ : state) {
    grimoire::max_pool2d_forward(s, x.data(), y.data(), idx.data());
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 4.0 * x.size() + 12.0 * y.size());  // x read, y and the int64 indices written
}

void BM_avg_pool2d_forward(benchmark::State& state) {
  const auto s = stem_pool(state);
  const int64_t planes = s.n * s.c, OH = s.out_h(), OW = s.out_w();
  auto x = randn(planes * s.h * s.w, 29);
  std::vector<float> y(planes * OH * OW);
  std::vector<double> ref(y.size());
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j) {
        const PoolWindow win = pool_window(s, i, j);
        double sum = 0.0;
        for (int64_t r = win.h0; r < win.h1; ++r)
          for (int64_t c = win.w0; c < win.w1; ++c) sum += x[pl * s.h * s.w + r * s.w + c];
        ref[(pl * OH + i) * OW + j] = sum / static_cast<double>((win.h1 - win.h0) * (win.w1 - win.w0));
      }
  grimoire::avg_pool2d_forward(s, x.data(), y.data(), false);  // count_include_pad=False: the edge divisors differ
  require_close("avg_pool2d_forward", y, ref, 1e-5, 1e-6);  // a float32 sum of at most 9 values
  for (auto _ : state) {
    grimoire::avg_pool2d_forward(s, x.data(), y.data(), false);
    benchmark::ClobberMemory();
  }
  bytes_counter(state, 4.0 * x.size() + 4.0 * y.size());
}

}  // namespace

BENCHMARK(BM_gelu)->ArgNames({"n", "backward"})->Args({1 << 21, 0})->Args({1 << 21, 1})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
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
// int8: per tensor over 4M values, and per channel (1024 channels of 4096).
BENCHMARK(BM_choose_qparams_int8)->Args({1, 1 << 22})->Args({1024, 4096})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_quantize_int8)->Args({1, 1 << 22})->Args({1024, 4096})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_dequantize_int8)->Args({1, 1 << 22})->Args({1024, 4096})->Unit(benchmark::kMicrosecond)->UseRealTime();
// (m, n, k): a square and a decode-like skinny product.
BENCHMARK(BM_gemm_int8)->ArgNames({"m", "n", "k"})->Args({512, 512, 512})->Args({16, 4096, 4096})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
// (m, n, k) of y = x W^T: a few tokens through a 4096-wide layer, and a batch through a 1024-wide one.
BENCHMARK(BM_linear_int8)->ArgNames({"m", "n", "k"})->Args({8, 4096, 4096})->Args({256, 1024, 1024})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_linear_int8_packed)->ArgNames({"m", "n", "k"})->Args({8, 4096, 4096})->Args({256, 1024, 1024})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_conv2d_int8)->ArgNames({"n", "c"})->Args({256, 1})->Args({256, 16})->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_gemm_fp8)->ArgNames({"m", "n", "k"})->Args({512, 512, 512})->Args({8, 4096, 4096})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gemm_bf16)->ArgNames({"m", "n", "k"})->Args({512, 512, 512})->Args({8, 4096, 4096})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
// (n, c, h): the 3x3 stride-2 pooling after ResNet's stem.
BENCHMARK(BM_max_pool2d_forward)->ArgNames({"n", "c", "h"})->Args({8, 64, 112})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_avg_pool2d_forward)->ArgNames({"n", "c", "h"})->Args({8, 64, 112})->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
