"""``grimoire.matmul``: NumPy's ``matmul`` semantics on the core's GEMM."""

from __future__ import annotations

import numpy as np

from .kernels._device import backend


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix product ``a @ b`` with the semantics of :func:`numpy.matmul` (primer 2.2.1).

    ``C[i, j] = sum_k A[i, k] B[k, j]``. Shapes: 1-D operands are promoted as NumPy does (a
    vector on the left is a row, on the right a column, and the added axis is removed from
    the result); 2-D is the matrix product, (m, k) @ (k, n) -> (m, n); 3-D is a batch of
    products, (batch, m, k) @ (batch, k, n) -> (batch, m, n), and a 2-D operand or a batch of 1
    broadcasts over the other's batch. float32 and float64; mixing them gives float64, as in
    NumPy. Strided, transposed and negatively strided views are read in place, without a copy.

    Raises TypeError for a non-array or a non-float dtype and ValueError for 0-D or >3-D
    operands or mismatched shapes, naming the argument.

    CUDA arrays (CuPy, PyTorch CUDA tensors) run on the GPU's GEMM: float32, or bf16 (uint16
    bits) / float16 operands on tensor cores; the result is a float32 CuPy array.
    """
    # The checks, the 1-D promotion and the dispatch are all in C++ (one call from here).
    return backend(a=a, b=b).matmul(a, b)
