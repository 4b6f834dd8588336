import importlib
import os

import numpy as np
import pytest
from grimoire import _core, autograd

# GRIMOIRE_TEST_NAMESPACE=array_api_strict runs the nn/autograd tests with Tensor storage in that
# namespace (tensors made from NumPy data move there): any NumPy-only call on tensor data in a
# layer fails, which is how the layers are shown device-agnostic without a GPU (.ci/nn_namespace.sh).
TEST_NAMESPACE = os.environ.get("GRIMOIRE_TEST_NAMESPACE")
if TEST_NAMESPACE:
    autograd.set_default_namespace(importlib.import_module(TEST_NAMESPACE))


def available_isas() -> list[str]:
    """The instruction-set paths this CPU can run, for tests that force each one."""
    order = ["scalar", "avx2", "avx512"]
    return order[: order.index(_core.detected_isa()) + 1]


@pytest.fixture(params=available_isas())
def isa(request):
    """Run the test once per ISA path this CPU has, then restore the previous limit."""
    previous = _core.active_isa()
    _core.set_isa(request.param)
    yield request.param
    _core.set_isa(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
