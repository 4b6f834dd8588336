"""``grimoire.kernels``: the core's kernels, one family per module, called on NumPy arrays.

Each function validates its arguments, reads arrays in place (no silent copies or casts),
releases the GIL and runs multithreaded in C++.
"""

from __future__ import annotations

from .attention import attention, attention_backward
from .conv import conv1d, conv1d_backward, conv2d, conv2d_backward
from .gemm import gemm
from .pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

__all__ = [
    "attention",
    "attention_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "gemm",
    "max_pool2d",
    "max_pool2d_backward",
]
