#!/usr/bin/env bash
# compute-sanitizer over the CUDA tests, on a machine with an NVIDIA GPU: memcheck (out-of-bounds
# and misaligned accesses, leaks) and racecheck (shared-memory hazards: the cp.async ring, the
# swizzled tiles, the block reductions). Each family's helper adds its test files to TESTS.
# Usage: cuda/sanitize.sh [pytest -k expression]     (from the repository root, _cuda built)
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
# Note: CuPy's memory pool hands out blocks larger than asked, so memcheck sees an overrun only
# past a pooled block; the tests' odd sizes (not multiples of the tiles) still reach the edges.
PYTEST=(python -m pytest -q -x -p no:cacheprovider "${TESTS[@]}")
[[ $# -gt 0 ]] && PYTEST+=(-k "$1")
for tool in memcheck racecheck; do
  echo "== compute-sanitizer --tool $tool"
  extra=()
  [[ $tool == memcheck ]] && extra=(--leak-check full)
  "$SANITIZER" --tool "$tool" "${extra[@]}" --error-exitcode 99 --target-processes all \
    "${PYTEST[@]}"
done
echo "cuda/sanitize.sh: memcheck and racecheck clean"
