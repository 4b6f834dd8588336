// Google Benchmark of grimoire::gemm (build with -DGRIMOIRE_CPP_BENCH=ON, run build/*/gemm_bench).
//
// Every fast path is first checked against gemm_reference on the benchmarked shape (the run
// aborts on a mismatch), then timed; the GFLOP/s counter is 2*m*n*k / time. Sizes are squares
// 16..2048 and skinny m in {1, 8, 32} with k = n = 4096, single-threaded and with every thread.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "grimoire/cpu.h"
#include "grimoire/gemm.h"
#include "grimoire/parallel.h"

namespace {

template <typename T>
struct Problem {
  int64_t m, n, k;
  std::vector<T> a, b, c;
  Problem(int64_t m_, int64_t n_, int64_t k_) : m(m_), n(n_), k(k_), a(m_ * k_), b(k_ * n_), c(m_ * n_) {
    std::mt19937 gen(42);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (auto& x : a) x = static_cast<T>(u(gen));
    for (auto& x : b) x = static_cast<T>(u(gen));
  }
  grimoire::GemmParams<T> params(T* out, int threads) {
    grimoire::GemmParams<T> p;
    p.m = m; p.n = n; p.k = k;
    p.a = a.data(); p.a_row_stride = k; p.a_col_stride = 1;
    p.b = b.data(); p.b_row_stride = n; p.b_col_stride = 1;
    p.c = out; p.c_row_stride = n; p.c_col_stride = 1;
    p.num_threads = threads;
    return p;
  }
};

// The fast path must agree with the reference to a few float32/float64 roundings per term.
template <typename T>
void validate(Problem<T>& pr) {
  std::vector<T> ref(pr.c.size()), fast(pr.c.size());
  grimoire::gemm_reference(pr.params(ref.data(), 0));
  grimoire::gemm(pr.params(fast.data(), 0));
  const double eps = sizeof(T) == 4 ? 1.2e-7 : 2.3e-16;
  const double tol = 8.0 * eps * static_cast<double>(pr.k);  // |a|, |b| <= 1
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(std::fabs(static_cast<double>(ref[i]) - static_cast<double>(fast[i])) <= tol)) {
      std::fprintf(stderr, "gemm_bench: fast path (%s) differs from gemm_reference at %zu: %g vs %g\n",
                   grimoire::isa_name(grimoire::isa_for({grimoire::Isa::scalar, grimoire::Isa::avx2,
                                                         grimoire::Isa::avx512})),
                   i, static_cast<double>(fast[i]), static_cast<double>(ref[i]));
      std::abort();
    }
}

template <typename T>
void BM_gemm(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  Problem<T> pr(m, n, k);
  validate(pr);
  const auto p = pr.params(pr.c.data(), threads == 0 ? grimoire::available_cores() : threads);
  for (auto _ : state) {
    grimoire::gemm(p);
    benchmark::DoNotOptimize(pr.c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["threads"] = p.num_threads;
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "threads"});
  for (int threads : {1, 0}) {
    for (int64_t s : {16, 32, 64, 128, 256, 512, 1024, 2048}) b->Args({s, s, s, threads});
    for (int64_t m : {1, 8, 32}) b->Args({m, 4096, 4096, threads});
  }
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK_TEMPLATE(BM_gemm, float)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_gemm, double)->Apply(shapes);

BENCHMARK_MAIN();
