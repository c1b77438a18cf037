// The thread pool behind mx_pool: one per device queue. The queue's worker thread
// calls parallel_for and takes part in the work; helper threads start on the
// first parallel_for that needs them, spin briefly after a job (consecutive
// kernels then skip a futex wake-up) and sleep otherwise.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "mx_backend.h"

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
// number of hardware threads. Backends may show it (describe()).
inline uint32_t default_threads() {
  if (const char* s = std::getenv("MX_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && v > 0) return (uint32_t)std::min(v, 1024L);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

// About 30-60 us of polling before a helper (or the waiting caller) sleeps.
constexpr int kSpin = 1 << 12;

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

  // Splits [0, n) into chunks of at least `grain` items over the helpers and the
  // calling thread. A nested call (from inside fn) runs inline. The first
  // exception thrown by fn is rethrown here after every chunk finished.
  void parallel_for(int64_t n, int64_t grain, mx_range_fn fn, void* ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (in_job() || c_.size <= 1 || n <= grain) {
      fn(ctx, 0, n);
      return;
    }
    start_helpers();
    const int64_t workers = (int64_t)threads_.size() + 1;
    if (workers <= 1) {
      fn(ctx, 0, n);
      return;
    }
    // About four chunks per thread balance uneven chunks; never below grain.
    const int64_t chunk = std::max(grain, (n + workers * 4 - 1) / (workers * 4));
    bool notify;
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = fn;
      ctx_ = ctx;
      n_ = n;
      chunk_ = chunk;
      next_.store(0, std::memory_order_relaxed);
      error_ = nullptr;
      busy_.store((int)threads_.size(), std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      notify = sleepers_ > 0;
    }
    if (notify) wake_.notify_all();
    work();
    for (int i = 0; i < kSpin && busy_.load(std::memory_order_acquire) != 0; i++) MXB_RELAX();
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [&] { return busy_.load(std::memory_order_acquire) == 0; });
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
    if (started_) return;
    started_ = true;
    for (uint32_t i = 1; i < c_.size; i++) {
      try {
        threads_.emplace_back([this] { helper(); });
      } catch (...) {
        break;  // fewer threads than asked (thread limit): still correct
      }
    }
  }

  void work() {
    in_job() = true;
    for (;;) {
      const int64_t b = next_.fetch_add(chunk_, std::memory_order_relaxed);
      if (b >= n_) break;
      try {
        fn_(ctx_, b, std::min(b + chunk_, n_));
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
      }
    }
    in_job() = false;
  }

  void helper() {
    uint64_t seen = 0;
    for (;;) {
      for (int i = 0; i < kSpin && generation_.load(std::memory_order_acquire) == seen && !stop_.load(); i++) MXB_RELAX();
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_++;
        wake_.wait(lk, [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; });
        sleepers_--;
      }
      if (stop_.load() && generation_.load(std::memory_order_acquire) == seen) return;
      seen = generation_.load(std::memory_order_acquire);
      work();
      if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(m_);
        done_.notify_one();
      }
    }
  }

  mx_pool c_{};
  std::vector<std::thread> threads_;
  bool started_ = false;
  std::mutex m_;
  std::condition_variable wake_, done_;
  int sleepers_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> busy_{0};
  // The current job; written under m_ before generation_ moves, read by helpers after.
  mx_range_fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
  std::exception_ptr error_;
};

}  // namespace
}  // namespace mxb
