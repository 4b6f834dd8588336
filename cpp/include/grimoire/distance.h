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
// float32 has the register-blocked SIMD paths (distance_avx2.cpp, distance_avx512.cpp);
// float64 runs the scalar reference.
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

namespace distance_detail {
// A microkernel computes the (MR, NR) tile of dot products of MR rows of X (row pointers,
// may repeat for a partial tile) with a packed panel of Y (k rows of NR floats, p-major),
// then applies the epilogue for the `rows` x `cols` valid part and writes it to D.
struct TileArgs {
  int64_t k;
  const float* const* x_rows;  // MR row pointers
  const float* y_panel;        // (k, NR) packed
  int rows, cols;              // valid part of the tile
  const float* x_aux;          // per row: ||x||^2 (euclidean) or 1/||x|| (cosine)
  const float* y_aux;          // per column, same meaning, NR entries (padded)
  float* d;
  int64_t d_row_stride;
  DistanceMetric metric;
};
constexpr int kMrAvx2 = 6, kNrAvx2 = 16;
constexpr int kMrAvx512 = 6, kNrAvx512 = 32;
void tile_avx2(const TileArgs& a);
void tile_avx512(const TileArgs& a);
}  // namespace distance_detail

}  // namespace grimoire
