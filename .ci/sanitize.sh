#!/usr/bin/env bash
# CI: grimoire._core built with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DGRIMOIRE_SANITIZE=address,undefined), then a slice of the test suite run against it: every
# kernel family's tests, every estimator's fit/predict, the reliability regressions and a short
# fuzz run. CPython itself is not instrumented, so libasan is preloaded and leak detection is off
# (the interpreter's own allocations at exit are not leaks of ours). Any ASan or UBSan report
# fails the step (halt_on_error / -fno-sanitize-recover). Budget: GRIMOIRE_SANITIZE_BUDGET seconds
# for the tests (default 900) on top of the build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build/sanitize
PKG=$BUILD/pkg
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRIMOIRE_CUDA=OFF \
      -DGRIMOIRE_SANITIZE=address,undefined -DGRIMOIRE_MODULE_DIR="$PWD/$PKG/grimoire" \
      ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$BUILD" -j"${GRIMOIRE_BUILD_JOBS:-2}"
# The pure-Python package beside the instrumented module (the .so files of the normal build stay out).
python - "$PKG" <<'PY'
import shutil, sys
shutil.copytree("python/grimoire", sys.argv[1] + "/grimoire", dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("*.so", "__pycache__"))
PY
LIBASAN=$(${CXX:-c++} -print-file-name=libasan.so)
export LD_PRELOAD="$LIBASAN"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0:detect_odr_violation=0:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONPATH="$PWD/$PKG"
export GRIMOIRE_FUZZ_CALLS=${GRIMOIRE_FUZZ_CALLS:-3000}
# The slice: one test file per kernel family, the estimators' fit/predict, the regressions.
# Left out: test_training/test_agents/test_diffusion/test_rl/test_gnn (Python-level training
# loops over the same kernels, 10x slower under ASan) and the accuracy benchmarks against
# sklearn (test_ml_accuracy: minutes even uninstrumented).
timeout "${GRIMOIRE_SANITIZE_BUDGET:-900}" python -m pytest -q -x -p no:cacheprovider -m "not slow" \
  tests/test_gemm.py tests/test_conv.py tests/test_norm.py tests/test_softmax.py tests/test_attention.py \
  tests/test_optim_kernels.py tests/test_quant.py tests/test_linalg.py tests/test_graph.py \
  tests/test_timeseries.py tests/test_text.py tests/test_ml.py tests/test_ml_svm.py tests/test_ml_manifold.py \
  tests/test_ml_umap.py tests/test_ml_hierarchy.py tests/test_reliability.py tests/test_fuzz.py
