"""CI's fuzz run (issue 11): every binding of grimoire._core (and _cuda when built) driven with
hostile arguments, each call in a worker process with a time limit. See tests/fuzz.py.

GRIMOIRE_FUZZ_CALLS sets the budget (default 20,000 calls, a few minutes on two cores);
``python -m tests.fuzz --long N`` runs as long as asked.
"""

from __future__ import annotations

import os
import re

import numpy as np

from tests import fuzz


def test_every_binding_has_an_argument_model():
    mods = fuzz.modules()
    names = fuzz.bindings(mods)
    missing = [f"{mod}.{n}" for mod, n in names if n not in fuzz.MODELS]
    assert not missing, f"bindings without an argument model in tests/fuzz.py: {missing}"
    for mod, n in names:
        m = fuzz.MODELS[n]
        if m.exempt:
            continue
        # The model's parameters are the binding's own (pybind11's signature line names them).
        signature = (getattr(mods[mod], n).__doc__ or "").splitlines()[0]
        params = set(re.findall(r"[(,] ?(\w+):", signature))
        kwargs = m.build(np.random.default_rng(0), 1)
        assert set(m.kinds) <= params and set(kwargs) <= params, (n, signature, sorted(kwargs))


def test_a_recipe_materialises_the_same_arguments_twice():
    recipe = (7, 3, [(1, 6), (4, 13)])
    for name in ("gemm", "layer_norm", "batch_norm", "clip_grad_norm"):
        a, b = fuzz.materialize(name, recipe), fuzz.materialize(name, recipe)
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], np.ndarray):
                assert a[k].shape == b[k].shape and a[k].strides == b[k].strides
                if a[k].size < 1_000_000:  # (not the 2**31-row zero-stride views)
                    np.testing.assert_array_equal(a[k], b[k])


def test_fuzz_every_binding():
    calls = int(os.environ.get("GRIMOIRE_FUZZ_CALLS", "20000"))
    report = fuzz.run(calls, seed=0, timeout=60.0)
    print(report.summary())
    assert report.calls >= calls * 0.9
    assert report.ok(), report.summary()


def test_only_extreme_or_nan_mismatches_are_excused_each_with_its_reason():
    # A plain mismatch (finite inputs), a crash, a hang or an unnamed error is never excused.
    for (name, outcome), why in fuzz.KNOWN.items():
        assert outcome in ("extreme_mismatch", "nan_mismatch"), (name, outcome)
        assert name in fuzz.MODELS and len(why) > 40, (name, why)
    floats = {"x": np.array([1.0, np.inf], np.float32)}
    assert fuzz._extreme(floats) and not fuzz._extreme({"x": np.ones(3, np.float32)})
    assert fuzz._extreme({"x": np.float32(3e38) * np.ones(2, np.float32)})
    assert fuzz._extreme({"alpha": 1e308}, ("alpha",)) and not fuzz._extreme({"alpha": 2.0**64}, ("alpha",))
    assert fuzz._has_nan({"x": [np.array([np.nan])]}) and not fuzz._has_nan({"x": np.zeros(2)})
