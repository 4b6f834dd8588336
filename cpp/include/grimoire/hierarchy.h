// Agglomerative (hierarchical) clustering, primer 4.2.1: the nearest-neighbour chain algorithm
// with Lance-Williams distance updates, for single, complete, average and Ward linkage.
#pragma once

#include <cstdint>

namespace grimoire {

enum class Linkage : int { single = 0, complete = 1, average = 2, ward = 3 };

// Condensed Euclidean distances: out[n*i - i*(i+1)/2 + j - i - 1] = ||x_i - x_j|| for i < j.
// x (n, d) C-contiguous, out (n (n-1) / 2). Threads over rows.
void pdist_euclidean(const double* x, int64_t n, int64_t d, double* out);

// NN-chain on the condensed matrix dist (overwritten). Writes the n-1 merges unsorted, in the order
// found: z (n-1, 4) rows (a, b, height, size) where a < b are the slots (original point indices) of
// the two clusters; the merged cluster lives in slot b. Sort by height (stable) and relabel to
// get scipy's linkage matrix.
void nn_chain_linkage(double* dist, int64_t n, Linkage method, double* z);

}  // namespace grimoire
