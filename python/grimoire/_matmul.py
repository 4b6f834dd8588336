"""``grimoire.matmul``: NumPy's ``matmul`` semantics on the core's GEMM."""

from __future__ import annotations

import numpy as np

from . import _core

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix product ``a @ b`` with the semantics of :func:`numpy.matmul` (primer 2.2.1).

    ``C[i, j] = sum_k A[i, k] B[k, j]``. Shapes: 1-D operands are promoted as NumPy does (a
    vector on the left is a row, on the right a column, and the added axis is removed from
    the result); 2-D is the matrix product; 3-D is a batch of products, and a 2-D operand or a
    batch of 1 broadcasts over the other's batch. float32 and float64; mixing them gives
    float64, as in NumPy. Strided and transposed views are read in place, without a copy.
    """
    a = _as_float_array(a, "a")
    b = _as_float_array(b, "b")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: a and b must have at least 1 dimension (use * for scalars)")
    if a.ndim > 3 or b.ndim > 3:
        raise ValueError(f"matmul supports 1-D to 3-D operands, got a.ndim={a.ndim}, b.ndim={b.ndim}")
    if a.dtype != b.dtype:
        a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
    squeeze_rows = a.ndim == 1
    squeeze_cols = b.ndim == 1
    if squeeze_rows:
        a = a[None, :]
    if squeeze_cols:
        b = b[:, None]
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: a's last dimension ({a.shape[-1]}) must equal b's second-to-last "
            f"({b.shape[-2]}); shapes {a.shape} and {b.shape}"
        )
    c = _core.gemm(a, b)
    if squeeze_cols:
        c = c[..., 0]
    if squeeze_rows:
        c = c[..., 0, :] if not squeeze_cols else c[..., 0]
    return c


def _as_float_array(x, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")
    return x
