#include "grimoire/parallel.h"

#include <omp.h>
#include <sched.h>

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

static int initial_threads() {
  if (const char* env = std::getenv("GRIMOIRE_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 4096) return static_cast<int>(n);
  }
  return available_cores();
}

static std::atomic<int>& thread_storage() {
  static std::atomic<int> n{initial_threads()};
  return n;
}

int num_threads() { return thread_storage().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("n (the number of threads) must be >= 1, got " + std::to_string(n));
  thread_storage().store(n, std::memory_order_relaxed);
}

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
