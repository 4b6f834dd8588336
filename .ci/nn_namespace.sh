#!/usr/bin/env bash
# The nn and autograd tests a second time with Tensor storage in array_api_strict (a CPU namespace
# that refuses any NumPy-only call): proves the layers device-agnostic without a GPU (issue 9).
set -euo pipefail
cd "$(dirname "$0")/.."
GRIMOIRE_TEST_NAMESPACE=array_api_strict timeout "${1:-900}" python -m pytest -q -m "not slow" \
    tests/test_autograd.py tests/test_nn_layers.py tests/test_nn_module.py tests/test_training.py tests/test_optim.py \
    tests/test_nn_layers_ext.py tests/test_recurrent_ext.py tests/test_linear_attention.py
