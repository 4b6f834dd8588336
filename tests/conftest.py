import numpy as np
import pytest
from grimoire import _core


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
