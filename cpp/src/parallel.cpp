#include "grimoire/parallel.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace grimoire {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

// GRIMOIRE_NUM_THREADS, when set to a valid count, pins the count; 0 means "not set".
static int env_threads() {
  if (const char* env = std::getenv("GRIMOIRE_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 4096) return static_cast<int>(n);
  }
  return 0;
}

// The pinned count (GRIMOIRE_NUM_THREADS or set_num_threads), or 0: follow OpenMP.
static std::atomic<int>& pinned_threads() {
  static std::atomic<int> n{env_threads()};
  return n;
}

// Unpinned, the count is OpenMP's own nthreads-var, so the ecosystem's controls apply to
// grimoire as to every other OpenMP library: OMP_NUM_THREADS sets the default, and
// omp_set_num_threads (what threadpoolctl.threadpool_limits calls on each OpenMP runtime it
// finds loaded, libgomp among them) lowers it. Without either, libgomp's default is the CPUs
// of this process's affinity mask, i.e. available_cores().
int num_threads() {
  const int pinned = pinned_threads().load(std::memory_order_relaxed);
  if (pinned > 0) return pinned;
  return std::max(1, omp_get_max_threads());
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("n (the number of threads) must be >= 1, got " + std::to_string(n));
  pinned_threads().store(n, std::memory_order_relaxed);
}

void unpin_num_threads() { pinned_threads().store(0, std::memory_order_relaxed); }

bool num_threads_pinned() { return pinned_threads().load(std::memory_order_relaxed) > 0; }

namespace {
thread_local InterruptPoll t_poll = nullptr;
thread_local std::chrono::steady_clock::time_point t_last_poll;
std::atomic<bool> g_interrupted{false};
}  // namespace

void set_interrupt_poll(InterruptPoll poll) {
  t_poll = poll;
  t_last_poll = std::chrono::steady_clock::now();
  g_interrupted.store(false, std::memory_order_relaxed);
}

bool interrupted() {
  if (g_interrupted.load(std::memory_order_relaxed)) return true;
  if (t_poll == nullptr) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - t_last_poll < std::chrono::milliseconds(kInterruptPollMs)) return false;
  t_last_poll = now;
  if (!t_poll()) return false;
  g_interrupted.store(true, std::memory_order_relaxed);
  return true;
}

}  // namespace grimoire
