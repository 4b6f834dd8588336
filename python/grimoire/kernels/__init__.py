"""``grimoire.kernels``: the core's kernels, one family per module, called on NumPy arrays.

Each function validates its arguments, reads arrays in place (no silent copies or casts),
releases the GIL and runs multithreaded in C++.
"""

from __future__ import annotations

from .attention import attention, attention_backward
from .gemm import gemm

__all__ = ["attention", "attention_backward", "gemm"]
