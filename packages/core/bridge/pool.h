// The thread pool behind mx_pool: one per device queue. The queue's worker thread
// calls parallel_for and takes part in the work; helper threads start on the
// first parallel_for that needs them, spin briefly after a job (consecutive
// kernels then skip a futex wake-up) and sleep otherwise.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "mx_backend.h"

#if defined(__linux__)
#include <sched.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MXB_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define MXB_RELAX() __asm__ __volatile__("yield")
#else
#define MXB_RELAX() ((void)0)
#endif

namespace mxb {
// Internal linkage: two backends' .node files may hold different bridge
// versions; none of these types or their std::thread thunks may be shared.
namespace {

// Threads per pool: MX_NUM_THREADS when set to a positive integer, else the
// number of CPUs this process may run on (its affinity mask: taskset, a
// container's cpuset), else of hardware threads. Backends may show it (describe()).
inline uint32_t default_threads() {
  if (const char* s = std::getenv("MX_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && v > 0) return (uint32_t)std::min(v, 1024L);
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return (uint32_t)CPU_COUNT(&set);
#endif
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

// Polls ready() for a while before a helper (or the waiting caller, or a
// queue's worker) sleeps: a short burst of pause instructions, then
// sched_yield between polls for up to poll_window() (MX_POOL_POLL_US, default
// 10000 us). Consecutive kernels, and the next run of a model, then find the
// helpers awake: a futex wake-up can take longer than a kernel on a virtual
// machine whose idle CPUs the host deschedules. Measured there with squeezenet
// runs alternating with onnxruntime's (4.4 ms each, 2 threads, 300 of each):
// mx's median / 90th percentile 4.8 / 8.6 ms without polling, 4.5-4.9 / 7.2 ms
// polling 3 ms (shorter than the other runtime's run), 4.3 / 4.5 ms polling
// 10 ms, onnxruntime's own times unchanged (4.3-4.4 ms median). A yield
// hands the core to any thread that shares it (more threads than free cores:
// other processes, or a pool larger than its CPUs), so polling does not take
// the core from the thread doing the work; it does show as CPU time while idle.
constexpr int kSpinPause = 256;
inline std::chrono::microseconds poll_window() {
  static const std::chrono::microseconds w = [] {
    const char* s = std::getenv("MX_POOL_POLL_US");
    char* end = nullptr;
    const long v = s ? std::strtol(s, &end, 10) : -1;
    return std::chrono::microseconds(s && end != s && *end == '\0' && v >= 0 ? std::min(v, 1000000L) : 10000);
  }();
  return w;
}
template <class F> inline bool poll(F&& ready) {
  for (int i = 0; i < kSpinPause; i++) {
    if (ready()) return true;
    MXB_RELAX();
  }
  const auto until = std::chrono::steady_clock::now() + poll_window();
  do {
    if (ready()) return true;
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() < until);
  return ready();
}

// The job protocol. The caller publishes a job (fields, then generation_ and
// open_), works on it, closes it (open_ = false) once every chunk is claimed,
// and waits only for the helpers that joined it (active_), not for every
// helper: a helper that wakes late (descheduled on a busy machine) finds the
// job closed and goes back to waiting, so it never delays the caller. A helper
// joins by incrementing active_ and then checking open_; the caller closes and
// then reads active_. Both sides are seq_cst, so either the caller sees the
// join and waits, or the helper sees the close and leaves without touching the
// job (whose fn and ctx live on the caller's stack).
class Pool {
 public:
  explicit Pool(uint32_t threads) {
    c_.size = threads ? threads : 1;
    c_.self = this;
    c_.num_threads = [](void* self) { return (int32_t) static_cast<Pool*>(self)->c_.size; };
    c_.parallel_for = [](void* self, int64_t n, int64_t grain, mx_range_fn fn, void* ctx) {
      static_cast<Pool*>(self)->parallel_for(n, grain, fn, ctx);
    };
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

  const mx_pool* c() const { return &c_; }

  // Wakes sleeping helpers ahead of the work a queue task is about to start
  // (they poll again for poll_window()), so that the first kernels do not wait for their
  // wake-up, which on a virtual machine idle for a while can outlast a kernel.
  // Any thread may call it.
  void wake() {
    if (!started_.load(std::memory_order_acquire) || sleepers_.load() == 0) return;
    warm_.fetch_add(1);
    { std::lock_guard<std::mutex> lk(m_); }
    wake_.notify_all();
  }

  // Splits [0, n) into chunks of at least `grain` items over the helpers and the
  // calling thread. A nested call (from inside fn) runs inline, and so does a
  // call with at most one chunk (n <= grain): small kernels never fan out. The
  // first exception thrown by fn is rethrown here after every chunk finished.
  //
  // Affinity: [0, n) is cut into one home range per thread (the caller's is the
  // first, helper i's the (i+1)-th); each thread takes chunks from its own range
  // first, then from the others'. Kernels that order n the same way from one
  // call to the next (an activation's positions, a GEMM's column blocks) then
  // have each thread read mostly what it wrote in the call before, from its own
  // core's caches: on a machine whose cores are far apart (a virtual machine's
  // CPUs on different dies) a cache line another core wrote costs a few hundred
  // nanoseconds. A late or preempted thread's range is taken by the others.
  void parallel_for(int64_t n, int64_t grain, mx_range_fn fn, void* ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (in_job() || c_.size <= 1 || n <= grain) {
      fn(ctx, 0, n);
      return;
    }
    start_helpers();
    const int64_t helpers = (int64_t)threads_.size();
    if (helpers == 0) {
      fn(ctx, 0, n);
      return;
    }
    const int64_t T = std::min<int64_t>(helpers + 1, kMaxRanges);
    // About four chunks per thread balance uneven chunks; a multiple of grain,
    // and the home ranges are too, so only [0, n)'s last chunk is short.
    const int64_t units = (n + grain - 1) / grain;
    const int64_t chunk = std::max<int64_t>(1, (units + T * 4 - 1) / (T * 4)) * grain;
    fn_ = fn;
    ctx_ = ctx;
    ranges_ = T;
    chunk_ = chunk;
    for (int64_t h = 0; h < T; h++) {
      range_[h].next.store(std::min(n, units * h / T * grain), std::memory_order_relaxed);
      range_[h].end = std::min(n, units * (h + 1) / T * grain);
    }
    error_ = nullptr;
    open_.store(true);
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      // Lock so that a helper between its check and its wait cannot miss this.
      { std::lock_guard<std::mutex> lk(m_); }
      wake_.notify_all();
    }
    work(0);
    open_.store(false);
    if (!poll([&] { return active_.load() == 0; })) {
      std::unique_lock<std::mutex> lk(m_);
      caller_waits_ = true;
      done_.wait(lk, [&] { return active_.load() == 0; });
      caller_waits_ = false;
    }
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  static bool& in_job() {
    static thread_local bool flag = false;
    return flag;
  }

  void start_helpers() {
    if (started_.load(std::memory_order_relaxed)) return;
    started_.store(true, std::memory_order_release);
    for (uint32_t i = 1; i < c_.size; i++) {
      try {
        threads_.emplace_back([this, i] { helper(i); });
      } catch (...) {
        break;  // fewer threads than asked (thread limit): still correct
      }
    }
  }

  // Thread `self` (0: the caller) drains its home range, then the others'.
  void work(int64_t self) {
    in_job() = true;
    const int64_t T = ranges_, chunk = chunk_;
    for (int64_t s = 0; s < T; s++) {
      range& r = range_[(self + s) % T];
      for (;;) {
        const int64_t b = r.next.fetch_add(chunk, std::memory_order_relaxed);
        if (b >= r.end) break;
        try {
          fn_(ctx_, b, std::min(b + chunk, r.end));
        } catch (...) {
          std::lock_guard<std::mutex> lk(m_);
          if (!error_) error_ = std::current_exception();
        }
      }
    }
    in_job() = false;
  }

  void helper(int64_t self) {
    uint64_t seen = generation_.load();
    for (;;) {
      poll([&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_relaxed); });
      if (generation_.load() == seen && !stop_.load()) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_.fetch_add(1);
        const uint64_t warm = warm_.load();
        wake_.wait(lk, [&] { return stop_.load() || generation_.load() != seen || warm_.load() != warm; });
        sleepers_.fetch_sub(1);
        if (generation_.load() == seen && !stop_.load()) continue;  // woken ahead of work (wake()): poll for it
      }
      if (stop_.load()) return;
      seen = generation_.load();
      active_.fetch_add(1);
      if (open_.load()) work(self % ranges_);
      if (active_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lk(m_);
        if (caller_waits_) done_.notify_one();
      }
    }
  }

  mx_pool c_{};
  std::vector<std::thread> threads_;
  std::atomic<bool> started_{false};  // written by the thread that calls parallel_for, read by wake()
  std::mutex m_;
  std::condition_variable wake_, done_;
  bool caller_waits_ = false;  // under m_
  std::atomic<int> sleepers_{0};
  std::atomic<uint64_t> warm_{0};  // bumped by wake()
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<uint64_t> generation_{0};
  std::atomic<bool> open_{false};
  alignas(64) std::atomic<int> active_{0};
  // The current job: written by the caller before open_ is set, read by helpers
  // that joined it (after reading open_ == true). Threads past kMaxRanges share
  // the ranges of the first ones.
  static constexpr int64_t kMaxRanges = 64;
  struct alignas(64) range {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };
  alignas(64) mx_range_fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t ranges_ = 1, chunk_ = 1;
  range range_[kMaxRanges];
  std::exception_ptr error_;
};

}  // namespace
}  // namespace mxb
