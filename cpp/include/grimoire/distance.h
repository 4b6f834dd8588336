// Pairwise distances (primer 2.2.3, 2.2.5): D[i, j] = dist(X[i, :], Y[j, :]).
//
//   X is (m, k), Y is (n, k), D is (m, n). Rows may be strided; columns are contiguous.
//
// Computed through the Gram matrix, as a GEMM would: with dot = <x_i, y_j>,
//   sqeuclidean: max(||x_i||^2 + ||y_j||^2 - 2 dot, 0)     (clamped: rounding can go below 0)
//   euclidean:   sqrt(sqeuclidean)
//   cosine:      1 - dot / (||x_i|| ||y_j||)               (a zero vector counts as norm 1,
//                                                           scikit-learn's convention)
// When X and Y are the same array (same_input), the diagonal is exactly 0.
// float32 has the register-blocked SIMD paths (distance_simd.h, one table per ISA in
// distance_avx2.cpp / distance_avx512.cpp); float64 runs the scalar reference.
#pragma once

#include <cstdint>

namespace grimoire {

enum class DistanceMetric : int { euclidean = 0, sqeuclidean = 1, cosine = 2 };

template <typename T>
struct DistanceParams {
  int64_t m = 0, n = 0, k = 0;
  const T* x = nullptr;
  int64_t x_row_stride = 0;  // element (i, p) of X at x[i * x_row_stride + p]
  const T* y = nullptr;
  int64_t y_row_stride = 0;
  T* d = nullptr;  // element (i, j) of D at d[i * d_row_stride + j]
  int64_t d_row_stride = 0;
  DistanceMetric metric = DistanceMetric::euclidean;
  bool same_input = false;  // X and Y are the same rows: the diagonal is set to exactly 0
};

void pairwise_distances(const DistanceParams<float>& p);
void pairwise_distances(const DistanceParams<double>& p);
// The scalar reference path (the definition of correctness for the SIMD paths).
void pairwise_distances_reference(const DistanceParams<float>& p);
void pairwise_distances_reference(const DistanceParams<double>& p);

}  // namespace grimoire
