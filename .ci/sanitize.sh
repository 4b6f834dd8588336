#!/usr/bin/env bash
# CI: grimoire._core built with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DGRIMOIRE_SANITIZE=address,undefined, -O1, line tables only, CUDA off, only the _core target),
# then a slice run against it within a fixed budget:
#   1. the C++ microbenchmarks' validation (each fast path against its reference, small shapes),
#      when Google Benchmark is installed (Debian: libbenchmark-dev); otherwise skipped, said so;
#   2. every binding of grimoire._core driven by the fuzz harness (tests/fuzz.py: valid and
#      hostile arguments, each result against the scalar path);
#   3. every estimator's fit/predict on small inputs (tests/test_estimators_smoke.py), the
#      reliability regressions of issue 11 (tests/test_reliability.py), and one test file per
#      kernel family and per estimator family (not the tests marked slow).
# Left out: the Python training loops (test_training/agents/diffusion/rl/gnn: the same kernels,
# minutes of Python per test instrumented), the accuracy benchmarks against sklearn
# (test_ml_accuracy: minutes even uninstrumented), test_ml_checks (sklearn's generic checks; the
# estimators' own files run theirs) and test_interrupt (timing-based). CPython is not
# instrumented, so libasan is preloaded and leak detection is off (the interpreter's own
# allocations at exit are not leaks of ours). Any ASan or UBSan report fails the step
# (halt_on_error / -fno-sanitize-recover).
#
# Budget: GRIMOIRE_SANITIZE_BUDGET seconds for the whole step, build included (default 1200);
# GRIMOIRE_FUZZ_CALLS hostile calls (default 20000, as tests/test_fuzz.py). Each phase prints its duration.
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${GRIMOIRE_SANITIZE_BUDGET:-1200}
START=$SECONDS
left() { echo $((BUDGET - (SECONDS - START))); }
phase() { echo "sanitize: $1 done at $((SECONDS - START)) s of $BUDGET"; }
# The build's own tools in the active environment: `pip install ".[test]"` builds in an isolated
# environment, so pybind11 (and cmake/ninja on a machine without them) are not there.
python -m pip install -q "pybind11>=2.12" cmake ninja
phase "build tools"
BUILD=build/sanitize
PKG=$BUILD/pkg
BENCH=OFF
if [ -f /usr/include/benchmark/benchmark.h ] || [ -f /usr/local/include/benchmark/benchmark.h ]; then
  BENCH=ON
fi
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-g1 \
      -DGRIMOIRE_CUDA=OFF -DGRIMOIRE_CPP_BENCH=$BENCH \
      -DGRIMOIRE_SANITIZE=address,undefined -DGRIMOIRE_MODULE_DIR="$PWD/$PKG/grimoire" \
      ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
TARGETS=(_core)
[ "$BENCH" = ON ] && TARGETS+=(gemm_bench families_bench)
timeout "$(left)" cmake --build "$BUILD" -j"${GRIMOIRE_BUILD_JOBS:-2}" --target "${TARGETS[@]}"
phase "build (${TARGETS[*]})"
# The pure-Python package beside the instrumented module (the .so files of the normal build stay out).
python - "$PKG" <<'PY'
import shutil, sys
shutil.copytree("python/grimoire", sys.argv[1] + "/grimoire", dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("*.so", "__pycache__"))
PY
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0:detect_odr_violation=0:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if [ "$BENCH" = ON ]; then
  # One iteration per benchmark: its validation (which aborts on a mismatch) is the point here.
  # The shapes of a few hundred a side only: the reference GEMM at 2048^3 takes minutes instrumented.
  timeout "$(left)" "$BUILD/gemm_bench" --benchmark_min_time=0.000001 \
    --benchmark_filter='BM_gemm<.*>/m:(16|32|64|128|256|1|8)/' >/dev/null
  timeout "$(left)" "$BUILD/families_bench" --benchmark_min_time=0.000001 >/dev/null
  phase "C++ microbenchmark validation"
else
  echo "sanitize: C++ microbenchmark validation skipped: Google Benchmark is not installed (apt-get install libbenchmark-dev)"
fi
# libstdc++ is preloaded beside libasan: python itself does not link it, and ASan's __cxa_throw
# interceptor must find the real one at start-up (else the first C++ exception aborts with
# "CHECK failed: ... real___cxa_throw != 0").
LD_PRELOAD="$(${CXX:-c++} -print-file-name=libasan.so) $(${CXX:-c++} -print-file-name=libstdc++.so)"
export LD_PRELOAD
export PYTHONPATH="$PWD/$PKG"
export GRIMOIRE_FUZZ_CALLS=${GRIMOIRE_FUZZ_CALLS:-20000}
timeout "$(left)" python -m pytest -q -x -p no:cacheprovider -m "not slow" \
  tests/test_fuzz.py tests/test_estimators_smoke.py tests/test_reliability.py
phase "fuzz ($GRIMOIRE_FUZZ_CALLS calls), estimators, regressions"
timeout "$(left)" python -m pytest -q -x -p no:cacheprovider -m "not slow" \
  tests/test_gemm.py tests/test_conv.py tests/test_norm.py tests/test_softmax.py tests/test_attention.py \
  tests/test_optim_kernels.py tests/test_quant.py tests/test_linalg.py tests/test_graph.py \
  tests/test_timeseries.py tests/test_text.py tests/test_linear_attention.py tests/test_stats.py \
  tests/test_ml.py tests/test_ml_svm.py tests/test_ml_manifold.py tests/test_ml_umap.py tests/test_ml_hierarchy.py
phase "kernel and estimator families"
