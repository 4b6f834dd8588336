"""Type aliases shared by grimoire's public signatures (not public API themselves)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if sys.version_info >= (3, 11):
    from typing import Self
elif TYPE_CHECKING:
    from typing_extensions import Self
else:  # Python 3.10 at runtime: annotations are strings, only type checkers read Self
    Self = Any

__all__ = ["MaxFeatures", "RandomState", "Seed", "Self", "Size"]

#: A seed, a NumPy Generator (or legacy RandomState), or None for fresh entropy.
RandomState = int | np.random.Generator | np.random.RandomState | None
#: What ``np.random.default_rng`` takes: a seed, a Generator, or None for fresh entropy.
Seed = int | np.random.Generator | None
#: The ``size`` of NumPy's samplers: None for one draw, an int or a shape.
Size = int | tuple[int, ...] | None
#: scikit-learn's ``max_features``: None (all), "sqrt", "log2", a count, or a fraction in (0, 1].
MaxFeatures = int | float | Literal["sqrt", "log2"] | None
