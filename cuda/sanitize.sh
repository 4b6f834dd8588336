#!/usr/bin/env bash
# compute-sanitizer over the CUDA tests, on a machine with an NVIDIA GPU:
#   memcheck   out-of-bounds and misaligned accesses, over the CUDA tests;
#   racecheck  shared-memory hazards (the cp.async ring, the swizzled tiles, the block
#              reductions), over the CUDA tests;
#   leaks      memcheck --leak-check full over tests/cuda_leak_check.py: every _cuda binding
#              called on valid arguments, every reference dropped, then a device reset.
# Usage: cuda/sanitize.sh [pytest -k expression]     (from the repository root, _cuda built)
#
# Why leaks are not checked over pytest: CuPy's memory pool keeps freed blocks until the pool is
# destroyed, PyTorch (the tests' oracle) keeps its caching allocator and its cuBLAS/cuDNN handles
# to the end of the process, and fixtures keep arrays alive; memcheck reports all of that as
# leaked, and --error-exitcode would fail a clean run. tests/cuda_leak_check.py runs without
# PyTorch and without pools and resets the device at its end, so what is reported there is
# memory grimoire itself did not free.
#
# The pools are off in every run (tests/cuda_sanitize_plugin.py for CuPy,
# PYTORCH_NO_CUDA_MEMORY_CACHING=1 for PyTorch): each array is its own cudaMalloc of exactly the
# requested size, so memcheck sees an overrun at the array's end, not only past a pooled block.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTS=(tests/test_cuda_gemm.py tests/test_cuda_conv.py tests/test_cuda_attention.py tests/test_cuda_norm.py
       tests/test_cuda_softmax.py tests/test_cuda_optim.py tests/test_cuda_quant.py tests/test_cuda_pool.py)
SANITIZER=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
if ! python -c "from grimoire import _cuda; import sys; sys.exit(_cuda.device_count() == 0)" 2>/dev/null; then
  echo "cuda/sanitize.sh: no CUDA device (or grimoire._cuda not built): nothing to check"
  exit 0
fi
export PYTHONPATH=${PYTHONPATH:-python:tests}
export PYTORCH_NO_CUDA_MEMORY_CACHING=1
PYTEST=(python -m pytest -q -x -p no:cacheprovider -p cuda_sanitize_plugin "${TESTS[@]}")
[[ $# -gt 0 ]] && PYTEST+=(-k "$1")
for tool in memcheck racecheck; do
  echo "== compute-sanitizer --tool $tool (CUDA tests)"
  "$SANITIZER" --tool "$tool" --error-exitcode 99 --target-processes all "${PYTEST[@]}"
done
echo "== compute-sanitizer --tool memcheck --leak-check full (tests/cuda_leak_check.py)"
"$SANITIZER" --tool memcheck --leak-check full --error-exitcode 99 python tests/cuda_leak_check.py
echo "cuda/sanitize.sh: memcheck, racecheck and the leak check clean"
