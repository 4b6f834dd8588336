// One threading mechanism for the whole core: OpenMP, sized by grimoire::num_threads().
//
// The count is pinned by GRIMOIRE_NUM_THREADS or set_num_threads (grimoire.set_num_threads in
// Python); unpinned, it is OpenMP's omp_get_max_threads(), so OMP_NUM_THREADS and
// threadpoolctl.threadpool_limits govern grimoire's kernels like every other OpenMP library's. Kernels open their parallel
// regions with `#pragma omp parallel num_threads(grimoire::num_threads())`, or use parallel_for.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace grimoire {

int num_threads();
void set_num_threads(int n);  // pins the count; throws std::invalid_argument for n < 1
void unpin_num_threads();     // back to following OpenMP (OMP_NUM_THREADS, threadpoolctl)
bool num_threads_pinned();
int available_cores();

// Cooperative cancellation (Ctrl-C from Python). A binding installs a poll function on the
// thread that calls a long kernel (it takes the GIL for a moment and asks Python whether a signal
// is pending); the kernel calls interrupted() between blocks of work and, when it returns true,
// stops early and returns (its outputs are then garbage and the binding raises). On the calling
// thread interrupted() runs the poll at most every kInterruptPollMs; on any other thread (OpenMP
// workers) it only reads the flag the calling thread set, so every thread of a parallel loop can
// stop at its next block. With no poll installed (C++ callers, benchmarks) it is always false.
using InterruptPoll = bool (*)();
constexpr int kInterruptPollMs = 50;
void set_interrupt_poll(InterruptPoll poll);  // nullptr uninstalls (and clears the flag)
bool interrupted();

// Calls body(begin, end) on contiguous chunks of [0, n), one chunk per thread, with at least
// `grain` items a chunk, so that small problems stay on one thread.
template <typename Body>
void parallel_for(int64_t n, int64_t grain, Body&& body) {
  if (n <= 0) return;
  const int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), max_chunks));
  if (threads <= 1) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t begin = n * t / threads;
    const int64_t end = n * (t + 1) / threads;
    if (begin < end) body(begin, end);
  }
}

}  // namespace grimoire
