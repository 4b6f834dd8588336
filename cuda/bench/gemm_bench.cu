// gemm_bench: validate every GEMM kernel version against the CPU core, then time it
// (llm.c dev/cuda style). Build with -DGRIMOIRE_CUDA_BENCH=ON; run: ./gemm_bench [size=4096].
//   1 sgemm   float32 SIMT (cuda/gemm.cu)          vs peak fp32 FMA
//   2 bf16    tensor cores, A row-major, B row-major (mma.sync m16n8k16)
//   3 bf16    tensor cores, B column-major (the nn weight layout)
//   3w bf16   the same operands on the Hopper wgmma kernel (sm_90 only; the row opts in with
//             GRIMOIRE_CUDA_WGMMA=1 for itself, as gemm.cu requires)
//   4 int8    IMMA m16n8k32, B as (n, k)
//   5 fp8     e4m3 x e4m3 (QMMA on sm_89, widened to HMMA on sm_80/sm_90)
// Peaks (dense FLOP per clock per SM): fp32 FMA 2*64 (sm_80) / 2*128 (sm_90); bf16 mma 2048 (sm_80)
// / 4096 (sm_90); int8 and fp8 twice bf16. TFLOP/s = 2 m n k / time.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm.cuh"
#include "gemm_lowp.cuh"
#include "grimoire/gemm.h"
#include "grimoire/gemm_int8.h"
#include "grimoire/quant.h"

using namespace grimoire;

#define CHECK(x)                                                                              \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                           \
    }                                                                                         \
  } while (0)

template <typename T>
T* to_device(const std::vector<T>& h) {
  T* d;
  CHECK(cudaMalloc(&d, h.size() * sizeof(T)));
  CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

// max |got - want| / (max |want| + 1) over the matrix.
double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, mag = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::fmax(err, std::fabs(double(got[i]) - want[i]));
    mag = std::fmax(mag, std::fabs(double(want[i])));
  }
  return err / (mag + 1.0);
}

template <class F>
float time_ms(F&& launch, int repeats = 20) {
  launch();
  CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  CHECK(cudaEventRecord(a));
  for (int i = 0; i < repeats; ++i) launch();
  CHECK(cudaEventRecord(b));
  CHECK(cudaEventSynchronize(b));
  float ms;
  CHECK(cudaEventElapsedTime(&ms, a, b));
  return ms / repeats;
}

int main(int argc, char** argv) {
  const int64_t s = argc > 1 ? std::atoll(argv[1]) : 4096;
  const int64_t v = 512;  // validation size (the CPU reference at s^3 would take minutes)
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int clock_khz = 0;
  CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
  const bool hopper = prop.major >= 9;
  const double clk = clock_khz * 1e3 * prop.multiProcessorCount;
  const double peak_f32 = clk * (hopper ? 256 : 128), peak_bf16 = clk * (hopper ? 4096 : 2048);
  std::printf("device %s, %d SMs, %.0f MHz; size %lld^3 (validated at %lld^3 against the CPU core)\n", prop.name,
              prop.multiProcessorCount, clock_khz / 1e3, (long long)s, (long long)v);

  const int64_t n = std::max(s, v);
  std::vector<float> af(n * n), bf(n * n);
  srand(1);
  for (auto& x : af) x = rand() / float(RAND_MAX) - 0.5f;
  for (auto& x : bf) x = rand() / float(RAND_MAX) - 0.5f;
  std::vector<uint16_t> a16(n * n), b16(n * n);
  to_bf16(af.data(), a16.data(), n * n);
  to_bf16(bf.data(), b16.data(), n * n);
  std::vector<uint8_t> a8(n * n), b8(n * n);
  to_fp8(af.data(), a8.data(), n * n, Fp8Format::e4m3, true);
  to_fp8(bf.data(), b8.data(), n * n, Fp8Format::e4m3, true);
  std::vector<int8_t> ai(n * n), bi(n * n);
  for (int64_t i = 0; i < n * n; ++i) ai[i] = int8_t(rand() % 255 - 127), bi[i] = int8_t(rand() % 255 - 127);

  float *da = to_device(af), *db = to_device(bf), *dc;
  uint16_t *da16 = to_device(a16), *db16 = to_device(b16);
  uint8_t *da8 = to_device(a8), *db8 = to_device(b8);
  int8_t *dai = to_device(ai), *dbi = to_device(bi);
  int32_t* dci;
  CHECK(cudaMalloc(&dc, n * n * sizeof(float)));
  CHECK(cudaMalloc(&dci, n * n * sizeof(int32_t)));

  // The versions, each as a launch at size m (square, leading dimension n).
  auto sgemm = [&](int64_t m) {
    GemmParams<float> p;
    p.m = p.n = p.k = m;
    p.a = da; p.a_row_stride = n; p.a_col_stride = 1;
    p.b = db; p.b_row_stride = n; p.b_col_stride = 1;
    p.c = dc; p.c_row_stride = n; p.c_col_stride = 1;
    CHECK(cuda::gemm(p, GemmBatch<float>{}, 0));
  };
  auto bf16 = [&](int64_t m, bool b_col_major) {
    cuda::Gemm16Params p;
    p.m = p.n = p.k = m;
    p.a = da16; p.a_row_stride = n; p.a_col_stride = 1;
    p.b = db16;
    p.b_row_stride = b_col_major ? 1 : n;
    p.b_col_stride = b_col_major ? n : 1;
    p.c = dc; p.c_row_stride = n; p.c_col_stride = 1;
    CHECK(cuda::gemm16(p, GemmBatch<float>{}, 0));
  };
  auto int8 = [&](int64_t m) {
    CHECK(cuda::gemm_int8({dai, m, m, n}, {dbi, m, m, n}, dci, n, 0));
  };
  auto fp8 = [&](int64_t m) {
    CHECK(cuda::gemm_fp8({da8, m, m, n}, {db8, m, m, n}, 1.0f, Fp8Format::e4m3, Fp8Format::e4m3, dc, n, 0));
  };

  // CPU references at v^3 (B as stored: row-major (k, n) or, for the (n, k) kernels, transposed).
  auto reference = [&](const std::vector<float>& a, const std::vector<float>& b, bool b_nk) {
    std::vector<float> c(v * v);
    GemmParams<float> p;
    p.m = p.n = p.k = v;
    p.a = a.data(); p.a_row_stride = n; p.a_col_stride = 1;
    p.b = b.data(); p.b_row_stride = b_nk ? 1 : n; p.b_col_stride = b_nk ? n : 1;
    p.c = c.data(); p.c_row_stride = v; p.c_col_stride = 1;
    gemm(p);
    return c;
  };
  auto fetch = [&](const float* d) {
    std::vector<float> c(v * v);
    CHECK(cudaMemcpy2D(c.data(), v * 4, d, n * 4, v * 4, v, cudaMemcpyDeviceToHost));
    return c;
  };
  std::vector<float> a16f(n * n), b16f(n * n), a8f(n * n), b8f(n * n), aif(n * n), bif(n * n);
  from_bf16(a16.data(), a16f.data(), n * n);
  from_bf16(b16.data(), b16f.data(), n * n);
  from_fp8(a8.data(), a8f.data(), n * n, Fp8Format::e4m3);
  from_fp8(b8.data(), b8f.data(), n * n, Fp8Format::e4m3);
  for (int64_t i = 0; i < n * n; ++i) aif[i] = ai[i], bif[i] = bi[i];

  struct Row { const char* name; double err, tol; float ms; double peak; };
  std::vector<Row> rows;
  sgemm(v);
  rows.push_back({"1 sgemm (SIMT f32)", rel_error(fetch(dc), reference(af, bf, false)), 1e-5,
                  time_ms([&] { sgemm(s); }), peak_f32});
  bf16(v, false);
  rows.push_back({"2 bf16 (B row-major)", rel_error(fetch(dc), reference(a16f, b16f, false)), 1e-5,
                  time_ms([&] { bf16(s, false); }), peak_bf16});
  bf16(v, true);
  rows.push_back({"3 bf16 (B col-major)", rel_error(fetch(dc), reference(a16f, b16f, true)), 1e-5,
                  time_ms([&] { bf16(s, true); }), peak_bf16});
  if (prop.major == 9 && prop.minor == 0) {
    setenv("GRIMOIRE_CUDA_WGMMA", "1", 1);
    cuda::Gemm16Params probe;
    probe.m = probe.n = probe.k = v;
    probe.a = da16; probe.a_row_stride = n; probe.a_col_stride = 1;
    probe.b = db16; probe.b_row_stride = 1; probe.b_col_stride = n;
    if (std::strcmp(cuda::gemm16_path(probe, GemmBatch<float>{}), "wgmma") != 0) {
      std::fprintf(stderr, "the wgmma row would not run the wgmma kernel\n");
      return 1;
    }
    bf16(v, true);
    rows.push_back({"3w bf16 wgmma (B col-major)", rel_error(fetch(dc), reference(a16f, b16f, true)), 1e-5,
                    time_ms([&] { bf16(s, true); }), peak_bf16});
    unsetenv("GRIMOIRE_CUDA_WGMMA");
  }
  int8(v);
  {
    std::vector<int32_t> ci(v * v);
    CHECK(cudaMemcpy2D(ci.data(), v * 4, dci, n * 4, v * 4, v, cudaMemcpyDeviceToHost));
    std::vector<float> cf(ci.begin(), ci.end());
    rows.push_back({"4 int8 (IMMA)", rel_error(cf, reference(aif, bif, true)), 0.0, time_ms([&] { int8(s); }),
                    2 * peak_bf16});
  }
  fp8(v);
  rows.push_back({"5 fp8 e4m3", rel_error(fetch(dc), reference(a8f, b8f, true)), 1e-4,
                  time_ms([&] { fp8(s); }), 2 * peak_bf16});

  bool ok = true;
  std::printf("%-24s %12s %10s %10s %8s\n", "kernel", "rel. error", "ms", "TFLOP/s", "% peak");
  for (const Row& r : rows) {
    const double tflops = 2.0 * s * s * s / (r.ms * 1e-3) / 1e12;
    const bool pass = r.err <= r.tol;
    ok &= pass;
    std::printf("%-24s %12.2e %10.3f %10.1f %7.1f%% %s\n", r.name, r.err, r.ms, tflops, 100 * tflops * 1e12 / r.peak,
                pass ? "" : "VALIDATION FAILED");
  }
  return ok ? 0 : 1;
}
