// CUDA pool family: 2-D max and average pooling, forward and backward (primer 5.2.2), NCHW
// float32, the twins of cpp/include/grimoire/pool.h (the same Pool2dShape) on device pointers.
//
// Every kernel gives the CPU core's result bit for bit: the forwards visit each window in the
// CPU's order (a thread per output); the backwards GATHER (a thread per input element, summing
// the outputs whose windows hold it in the CPU's output order), so they need no atomics and add
// in the order the CPU's scatter does (max backward: see below).
#pragma once

#include <cuda_runtime.h>

#include "grimoire/pool.h"

namespace grimoire::cuda {

cudaError_t max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int64_t* indices, cudaStream_t stream);
cudaError_t avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y, bool count_include_pad,
                               cudaStream_t stream);
cudaError_t avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx, bool count_include_pad,
                                cudaStream_t stream);
// dy (planes, out_size), indices (planes, out_size) -> dx (planes, in_size), as the CPU: dx[k] +=
// dy[o] for each output o in order, k = indices[o]; *bad = 1 when an index lies outside
// [0, in_size) (then dx is incomplete and the caller raises). The CPU's backward takes no window
// geometry, so it cannot gather: one block per plane zeroes the plane, then one thread adds in
// output order (the CPU's order, so overlapping windows sum identically; no atomics).
cudaError_t max_pool2d_backward(int64_t planes, int64_t in_size, int64_t out_size, const float* dy,
                                const int64_t* indices, float* dx, int32_t* bad, cudaStream_t stream);

}  // namespace grimoire::cuda
