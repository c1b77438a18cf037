// A device queue: one worker thread runs submitted tasks in submission order with
// the queue's thread pool. It implements the C struct mx_queue, so another
// backend's bridge can submit onto it (one device, one order) without JS.
//
// Threads: submit(), run_if_idle(), ring_alloc() and the `submitted` counter
// belong to the JS thread that owns the queue; tasks, fail(), ring_release() and
// the `completed` counter run on the worker (or, for run_if_idle, on the JS
// thread while the worker has nothing to do). Failures never stop the queue: they are recorded
// with the number of the task that failed and handed out by take_failure().
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mx_backend.h"
#include "pool.h"

namespace mxb {
namespace {  // internal linkage, as in pool.h

struct Failure {
  uint64_t seq = 0;  // 1-based number of the task that failed
  int status = MX_ERR_INTERNAL;
  std::string op, backend, msg;
};

class Queue {
 public:
  // Called on the worker thread when `completed` reaches the wake ticket.
  using Notify = void (*)(void* arg);

  // submitted/completed: doubles JS reads without a call (on separate cache
  // lines: one thread writes each); they must outlive the queue.
  Queue(uint32_t threads, double* submitted, double* completed, Notify notify, void* notify_arg)
      : pool_(threads), submitted_out_(submitted), completed_out_(completed), notify_(notify), notify_arg_(notify_arg) {
    c_.size = sizeof(mx_queue);
    c_.self = this;
    c_.submit = submit_c;
    c_.fail = fail_c;
  }
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  ~Queue() { stop(); }

  mx_queue* c() { return &c_; }

  // Starts the worker; `prologue` runs on it first (e.g. creates the device
  // stream). Returns the prologue's error ("" on success); on error no worker runs.
  std::string start(std::function<std::string()> prologue) {
    std::string err;
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;
    worker_ = std::thread([&, prologue] {
      std::string e;
      try {
        if (prologue) e = prologue();
      } catch (const std::exception& x) {
        e = x.what();
      } catch (...) {
        e = "unknown exception while starting the queue";
      }
      {
        // Notify under the lock: start() and its locals may be gone right after.
        std::lock_guard<std::mutex> lk(m);
        err = e;
        ready = true;
        cv.notify_one();
      }
      if (e.empty()) loop();
    });
    std::unique_lock<std::mutex> lk(m);
    cv.wait(lk, [&] { return ready; });
    if (!err.empty()) {
      lk.unlock();
      worker_.join();
    }
    return err;
  }

  // Runs every task already submitted, then joins the worker. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stopping_.store(true);
    }
    cv_.notify_one();
    if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
  }
  bool stopping() const { return stopping_.load(); }

  void submit(mx_task_fn fn, void* ctx) {
    bool wake;
    {
      std::lock_guard<std::mutex> lk(m_);
      pending_.push_back(Task{fn, ctx});
      has_work_.store(true, std::memory_order_release);
      wake = sleeping_;
    }
    submitted_++;
    store(submitted_out_, submitted_);
    if (wake) {
      cv_.notify_one();
      // The pool's helpers sleep too: they start waking now, alongside the
      // worker, instead of after it (each wake-up on an idle virtual CPU can
      // take longer than a kernel).
      pool_.wake();
    }
  }

  // Runs a task on the calling (JS) thread when the queue is idle, counted like a
  // submitted one (failures recorded, counters advanced, waiters notified).
  // Returns false, doing nothing, when earlier work is still queued or running.
  // For small kernels: it saves the two thread wake-ups of a round trip.
  bool run_if_idle(mx_task_fn fn, void* ctx) {
    if (completed_.load() != submitted_) return false;
    submitted_++;
    store(submitted_out_, submitted_);
    run(Task{fn, ctx});
    return true;
  }

  // A byte ring for the contexts of this bridge's own tasks, so that the fast
  // path neither mallocs on the JS thread nor frees on the worker (glibc makes
  // that pair cost ~0.5 us). Tasks run in submission order, so their contexts
  // are released in allocation order. ring_alloc returns nullptr when the ring
  // is full (callers fall back to malloc); ring_unalloc undoes the latest one.
  void* ring_alloc(size_t bytes) {
    const size_t need = (bytes + kRingHeader + 15) & ~size_t(15);
    if (need > kRing / 8) return nullptr;
    if (!ring_) {
      ring_.reset(new (std::nothrow) unsigned char[kRing]);
      if (!ring_) return nullptr;
    }
    const size_t pos = ring_tail_ % kRing;
    const bool wrap = pos + need > kRing;  // skip the end of the ring, start over at 0
    const uint64_t total = need + (wrap ? kRing - pos : 0);
    if (ring_tail_ + total - ring_head_seen_ > kRing) {
      ring_head_seen_ = ring_head_.load(std::memory_order_acquire);
      if (ring_tail_ + total - ring_head_seen_ > kRing) return nullptr;
    }
    unsigned char* h = ring_.get() + (wrap ? 0 : pos);
    std::memcpy(h, &total, sizeof total);
    ring_tail_ += total;
    return h + kRingHeader;
  }
  void ring_unalloc(void* p) { ring_tail_ -= ring_total(p); }
  void ring_release(void* p) {
    ring_head_.store(ring_head_.load(std::memory_order_relaxed) + ring_total(p), std::memory_order_release);
  }

  // Records a failure of the task running now (any thread inside that task).
  void fail(int status, const char* op, const char* backend, const char* msg) {
    std::lock_guard<std::mutex> lk(fail_m_);
    uint64_t seq = running_.load(std::memory_order_relaxed);
    if (failures_.size() >= kMaxFailures) {
      dropped_seq_ = seq;
      return;
    }
    failures_.push_back(Failure{seq, status ? status : MX_ERR_INTERNAL, op ? op : "", backend ? backend : "",
                                msg && *msg ? msg : "task failed without a message"});
  }

  uint64_t submitted() const { return submitted_; }
  uint64_t completed() const { return completed_.load(); }
  Pool& pool() { return pool_; }

  // notify() fires once `completed` >= ticket (UINT64_MAX: never). Callers store
  // the ticket, then re-read completed(): with both sides seq_cst no crossing is missed.
  void set_wake_ticket(uint64_t ticket) { wake_ticket_.store(ticket); }

  // Blocks until every task submitted so far has run.
  void drain() {
    const uint64_t ticket = submitted_;
    if (completed_.load() >= ticket) return;
    drain_waiting_.store(true);
    std::unique_lock<std::mutex> lk(m_);
    drained_.wait(lk, [&] { return completed_.load() >= ticket; });
    drain_waiting_.store(false);
  }

  // The first failure of a task numbered <= ticket; forgets all such failures.
  bool take_failure(uint64_t ticket, Failure* out) {
    std::lock_guard<std::mutex> lk(fail_m_);
    bool found = false;
    size_t keep = 0;
    for (size_t i = 0; i < failures_.size(); i++) {
      if (failures_[i].seq <= ticket) {
        if (!found) *out = std::move(failures_[i]);
        found = true;
      } else {
        failures_[keep++] = std::move(failures_[i]);
      }
    }
    failures_.resize(keep);
    if (dropped_seq_ && dropped_seq_ <= ticket) {
      if (!found) {
        out->seq = dropped_seq_;
        out->status = MX_ERR_INTERNAL;
        out->msg = "more than " + std::to_string(kMaxFailures) + " task failures since the last sync; later ones were dropped";
        found = true;
      }
      dropped_seq_ = 0;
    }
    return found;
  }

 private:
  struct Task {
    mx_task_fn fn;
    void* ctx;
  };
  static constexpr size_t kMaxFailures = 1024;
  static constexpr size_t kRing = 4 << 20, kRingHeader = 16;  // ~11k kernel tasks
  static uint64_t ring_total(void* p) {
    uint64_t total;
    std::memcpy(&total, static_cast<unsigned char*>(p) - kRingHeader, sizeof total);
    return total;
  }

  static void submit_c(void* self, mx_task_fn fn, void* ctx) { static_cast<Queue*>(self)->submit(fn, ctx); }
  static void fail_c(void* self, int status, const char* op, const char* backend, const char* msg) {
    static_cast<Queue*>(self)->fail(status, op, backend, msg);
  }

  // JS reads these doubles at any time; 8-byte aligned stores are single copies.
  static void store(double* p, uint64_t v) {
    double d = (double)v;
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    __atomic_store_n(reinterpret_cast<uint64_t*>(p), bits, __ATOMIC_RELEASE);
  }

  void loop() {
    std::vector<Task> batch;
    for (;;) {
      poll([&] { return has_work_.load(std::memory_order_acquire) || stopping_.load(); });
      {
        std::unique_lock<std::mutex> lk(m_);
        if (pending_.empty() && !stopping_.load()) {
          sleeping_ = true;
          cv_.wait(lk, [&] { return !pending_.empty() || stopping_.load(); });
          sleeping_ = false;
        }
        if (pending_.empty()) return;  // stopping and drained
        batch.swap(pending_);
        has_work_.store(false, std::memory_order_relaxed);
      }
      pool_.wake();
      for (const Task& t : batch) run(t);
      batch.clear();
    }
  }

  void run(const Task& t) {
    running_.store(completed_.load() + 1, std::memory_order_relaxed);
    try {
      t.fn(t.ctx, pool_.c());
    } catch (const std::bad_alloc&) {
      fail(MX_ERR_OOM, "", "", "out of host memory in a queued task");
    } catch (const std::exception& e) {
      fail(MX_ERR_INTERNAL, "", "", (std::string("queued task threw: ") + e.what()).c_str());
    } catch (...) {
      fail(MX_ERR_INTERNAL, "", "", "queued task threw an unknown exception");
    }
    const uint64_t done = completed_.fetch_add(1) + 1;
    store(completed_out_, done);
    if (done >= wake_ticket_.load() && notify_) notify_(notify_arg_);
    if (drain_waiting_.load()) {
      std::lock_guard<std::mutex> lk(m_);
      drained_.notify_all();
    }
  }

  mx_queue c_{};
  Pool pool_;
  double* submitted_out_;
  double* completed_out_;
  Notify notify_;
  void* notify_arg_;
  std::thread worker_;
  std::unique_ptr<unsigned char[]> ring_;

  // Written by the JS thread.
  alignas(64) uint64_t submitted_ = 0;
  uint64_t ring_tail_ = 0, ring_head_seen_ = 0;
  // Written by the worker.
  alignas(64) std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> running_{0}, ring_head_{0};
  // Read by the worker after every task, rarely written.
  alignas(64) std::atomic<uint64_t> wake_ticket_{UINT64_MAX};
  std::atomic<bool> drain_waiting_{false};
  // The hand-over of tasks.
  alignas(64) std::mutex m_;
  std::condition_variable cv_, drained_;
  std::vector<Task> pending_;
  bool sleeping_ = false;
  std::atomic<bool> has_work_{false}, stopping_{false};

  std::mutex fail_m_;
  std::vector<Failure> failures_;
  uint64_t dropped_seq_ = 0;
};

}  // namespace
}  // namespace mxb
