// The distance family's microkernels, one table per ISA (private to cpp/src). The driver
// (distance.cpp) packs Y into panels of nr columns and blocks for the caches; a table's tile
// computes one (mr x nr) tile of D.
#pragma once

#include <cstdint>

#include "grimoire/distance.h"

namespace grimoire::distance_detail {

// One tile: the (mr, nr) dot products of mr rows of X (row pointers, repeated for a partial
// tile) with a packed panel of Y (k rows of nr floats, k-major), then the distance epilogue for
// the `rows` x `cols` valid part, written to D.
struct TileArgs {
  int64_t k;
  const float* const* x_rows;  // mr row pointers
  const float* y_panel;        // (k, nr) packed
  int rows, cols;              // valid part of the tile
  const float* x_aux;          // per row: ||x||^2 (euclidean) or 1/||x|| (cosine)
  const float* y_aux;          // per column, same meaning, nr entries (padded)
  float* d;
  int64_t d_row_stride;
  DistanceMetric metric;
};

struct DistanceKernels {
  int mr, nr;
  void (*tile)(const TileArgs& a);
};

extern const DistanceKernels kernels_avx2;
extern const DistanceKernels kernels_avx512;

}  // namespace grimoire::distance_detail
