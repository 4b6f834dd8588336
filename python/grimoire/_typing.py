"""Type aliases shared by grimoire's public signatures (not public API themselves)."""

from __future__ import annotations

import numpy as np

#: A seed, a NumPy Generator (or legacy RandomState), or None for fresh entropy.
RandomState = int | np.random.Generator | np.random.RandomState | None
#: The ``size`` of NumPy's samplers: None for one draw, an int or a shape.
Size = int | tuple[int, ...] | None
