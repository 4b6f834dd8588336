"""``grimoire.kernels``: the core's kernels, one family per module, called on NumPy arrays.

Each function validates its arguments, reads arrays in place (no silent copies or casts),
releases the GIL and runs multithreaded in C++.
"""

from __future__ import annotations

from .gemm import gemm
from .quant import (
    dequantize_int8,
    from_bf16,
    from_fp8,
    gemm_bf16,
    gemm_fp8,
    gemm_int8,
    linear_int8,
    quantize_int8,
    to_bf16,
    to_fp8,
)

__all__ = ["gemm", "quantize_int8", "dequantize_int8", "gemm_int8", "linear_int8", "to_fp8", "from_fp8",
           "to_bf16", "from_bf16", "gemm_fp8", "gemm_bf16"]
