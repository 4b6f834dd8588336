"""Tour, primer 2.2: linear algebra."""

from __future__ import annotations

import numpy as np

import grimoire

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
