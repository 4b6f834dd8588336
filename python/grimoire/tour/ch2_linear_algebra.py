"""Tour, primer 2.2: linear algebra."""

from __future__ import annotations

import numpy as np

import grimoire
import grimoire.kernels

from . import Tour, section


@section("2.2.1", "Matrix operations", "grimoire.matmul, grimoire.kernels.gemm")
def matrix_operations(t: Tour) -> None:
    a = np.array([[1, 2], [3, 4]], dtype=np.float64)
    b = np.array([[5, 6], [7, 8]], dtype=np.float64)
    t.show("A", a)
    t.show("B", b)
    t.show("A + B (element-wise addition)", a + b)
    t.show("3 * A (scalar multiplication)", 3 * a)
    t.show("A o B (Hadamard product)", a * b)
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    t.show("[1 2 3] . [4 5 6] (dot product)", grimoire.matmul(x, y))
    m = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.float64)
    n = np.array([[1, 0, 2], [1, 2, 1], [0, 3, 2]], dtype=np.float64)
    t.show("M", m)
    t.show("N", n)
    t.show("M @ N (3x3 product, grimoire.matmul; the primer: [[3 13 10] [9 28 25] [15 43 40]])",
           grimoire.matmul(m, n))
    batch_a = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], dtype=np.float64)
    batch_b = np.array([[[1, 0], [0, 1]], [[1, 1], [0, 0]]], dtype=np.float64)
    t.show("batched product A (2x2x2) @ B (2x2x2): one 2x2 product per batch entry",
           grimoire.matmul(batch_a, batch_b))
    t.show("A kron B (Kronecker product: each a_ij scales a copy of B)", np.kron(a, b))
    # The BLAS form under matmul: C = alpha * op(A) @ op(B) + beta * C, transposes read in place.
    c = np.ones((2, 2))
    t.show("grimoire.kernels.gemm(A, B, C, alpha=2, beta=-1, trans_b=True) = 2 A B^T - C",
           grimoire.kernels.gemm(a, b, c, alpha=2.0, beta=-1.0, trans_b=True))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 200), dtype=np.float32)
    y = rng.standard_normal((200, 100), dtype=np.float32)
    t.show("float32 300x200 @ 200x100: largest difference from NumPy (rounding only)",
           float(np.abs(grimoire.matmul(x, y) - x @ y).max()))
