"""Tour, primer 2.2.2-2.2.6 (determinants, vector spaces, eigen, SVD, convolution), 2.3 (calculus)
and 2.4 (probability and statistics)."""

from __future__ import annotations

import numpy as np

from . import Tour, section


@section("2.2.2", "Determinants", "grimoire.linalg")
def determinants(t: Tour) -> None:
    from grimoire import linalg

    a = np.array([[1, 2], [2, 4]])
    t.show("A", a)
    t.show("det A = ad - bc (linalg.det_2x2; the primer: 0)", linalg.det_2x2(a))
    t.show("det A by LU with partial pivoting (linalg.det)", linalg.det(a))
    dep = linalg.linear_dependence(a)
    t.show("linearly dependent rows (linalg.linear_dependence)", dep.dependent_rows)
    t.say(f"row 1 = {dep.coefficients[1][0]:g} x row 0, so A squashes the plane onto a line: no inverse")
    m = np.array([[2, -3, 1], [2, 0, -1], [1, 4, 5]])
    t.show("Sarrus for [[2,-3,1],[2,0,-1],[1,4,5]] (linalg.det_sarrus)", linalg.det_sarrus(m))
    t.show("the same by LU (linalg.det)", round(linalg.det(m), 12))
    t.show("inverse of [[4,7],[2,6]] (linalg.inv)", linalg.inv([[4, 7], [2, 6]]))


@section("2.2.3", "Vector spaces: distances and similarity", "grimoire.linalg")
def vector_spaces(t: Tour) -> None:
    from grimoire import linalg

    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 6.0, 3.0])
    t.show("euclidean([1,2,3], [4,6,3]) = sqrt(9 + 16 + 0)", linalg.euclidean(x, y))
    t.show("cosine_similarity([1,2,3], [4,6,3])", round(linalg.cosine_similarity(x, y), 6))
    t.show("cosine_similarity([1,2,3], [2,4,6]) (same direction, any length)",
           linalg.cosine_similarity(x, 2 * x))
    pts = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    t.show("pairwise_distances of 5 points (core kernel; the diagonal is exactly 0)",
           np.round(linalg.pairwise_distances(pts), 3))
    t.say("word vectors and the king - man + woman analogy: see section 3.6 (grimoire.text)")


@section("2.2.4", "Eigenvectors and eigenvalues", "grimoire.linalg")
def eigen(t: Tour) -> None:
    from grimoire import linalg

    a = np.array([[2.0, 1.0], [1.0, 2.0]])
    w, v = linalg.eigh(a)
    t.show("A", a)
    t.show("eigenvalues (linalg.eigh: tridiagonal QL in the core)", w)
    t.show("eigenvectors (columns)", np.round(v, 6))
    t.show("A v - lambda v (should be 0)", np.round(a @ v - v * w, 12) + 0.0)
    r = np.array([[0.0, -1.0], [1.0, 0.0]])
    t.show("a 90 degree rotation has no real eigenvector: eig gives", linalg.eig(r)[0])
    t.show("det(A - lambda I) at lambda = 3 (step 2 of the primer's recipe)", linalg.det(a - 3 * np.eye(2)))


@section("2.2.5", "Singular value decomposition", "grimoire.linalg")
def svd_section(t: Tour) -> None:
    from grimoire import linalg

    rng = np.random.default_rng(0)
    m = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 5)) + 0.01 * rng.standard_normal((6, 5))
    u, s, vh = linalg.svd(m)
    t.show("M (6x5, nearly rank 2)", np.round(m, 2))
    t.show("U (6x6), Sigma, V^T (5x5): singular values", np.round(s, 4))
    t.show("max |M - U Sigma V^T|", f"{np.max(np.abs((u[:, :5] * s) @ vh - m)):.1e}")
    for k in (1, 2, 3):
        err = np.linalg.norm(m - linalg.low_rank_approximation(m, k))
        t.say(f"rank-{k} approximation: ||M - M_k||_F = {err:.4f} (= sqrt of the dropped s_i^2)")


@section("2.2.6", "Matrix convolution", "grimoire.linalg")
def convolution(t: Tour) -> None:
    from grimoire import linalg

    t.show("[1 2 3 4] * [1 0 -1] (linalg.convolve, full; the primer: [1 2 2 2 -3 -4])",
           linalg.convolve([1, 2, 3, 4], [1, 0, -1]))
    t.show("cross-correlation instead (no flip; linalg.correlate, full)",
           linalg.correlate([1, 2, 3, 4], [1, 0, -1], mode="full"))
    m = np.zeros((4, 4))
    m[1:3, 1:3] = [[1, 2], [3, 4]]
    k = np.array([[1, 0], [0, -1]])
    t.show("M (zero-padded)", m)
    t.show("K", k)
    t.show("M * K (linalg.convolve2d: flip K, slide; the primer: [[1 2 0] [3 3 -2] [0 -3 -4]])",
           linalg.convolve2d(m, k))
    t.show("the same from the unpadded 2x2 with padding=1", linalg.convolve2d([[1, 2], [3, 4]], k, padding=1))
    t.show("stride 2 keeps every other output", linalg.convolve2d(m, k, stride=2))
    t.show("cross-correlation (what a CNN layer computes; linalg.correlate2d)", linalg.correlate2d(m, k))
