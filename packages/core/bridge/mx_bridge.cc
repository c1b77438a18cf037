// mx_bridge.cc: the N-API side of every native mx backend. Compiled into each
// backend's .node (bridge.gypi adds it); it turns the backend's mx_backend_v1
// table into what @mx/core's src/bridge.ts wraps as a Backend object.
//
// Context-aware: one Instance per Node environment (main thread or worker), so
// several worker_threads use the backend at once; the table, its init() result,
// devices and kernels are per process. Nothing here aborts the process: C++
// exceptions become JS errors, kernel failures become queue failures that the
// next sync rejects with.
//
// The kernel fast path takes no JS arrays: src/bridge.ts writes each call into
// the per-environment command buffer (a Float64Array, `command`), then calls
// submit(attrs?) with the encoded attributes (or nothing). Layout, in doubles:
//   [0] kernel index   [1] device index   [2] inputs   [3] outputs
//   then per tensor, inputs first: address, dtype code, ndim, dims...
//   dtype code: the mx_dtype id, address = data pointer (host memory, byteOffset
//               already added), or 0 with address 0 for an absent input;
//   -id: device memory, address = the handle's deviceAddress(), and one more
//        double after the dims: the byte offset into that allocation.
#include <node_api.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "mx_backend.h"
#include "pool.h"
#include "queue.h"

namespace mxb {
namespace {

constexpr size_t kCmdLen = 1 << 15;    // doubles in the command buffer (256 KiB)
constexpr double kConstFlag = 1024;    // added to a tensor record's rank: a constant id follows (bridge.ts)
constexpr uint32_t kMsgCap = 1 << 16;  // bytes for a failure message
// A host kernel whose tensors hold at most this many elements in all runs on
// the JS thread when its queue is idle (Queue::run_if_idle): its work is then
// smaller than a round trip through the worker.
constexpr double kInlineElems = 4096;

// Type tags of the externals. The queue tag is shared by every bridge (another
// backend's bridge attaches to our queues); bump it with MX_ABI_MAJOR.
const napi_type_tag kQueueTag = {0x6d785f71756575ecULL, 0x0000000100000000ULL + MX_ABI_MAJOR};
const napi_type_tag kDevMemTag = {0x6d785f6465766d65ULL, 0x8a31c2b05e7d4f01ULL};
const napi_type_tag kGateTag = {0x6d785f6761746521ULL, 0x1f9e0b7c33d24a02ULL};
const napi_type_tag kProgramTag = {0x6d785f70726f6721ULL, 0x4b1d0e9a77c35f03ULL};
constexpr uint32_t kAttrsMagic = 0x6d786174;

// ---------------------------------------------------------------- errors

[[noreturn]] void napi_fail(napi_env env, const char* what) {
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  throw std::runtime_error(std::string("mx bridge: ") + what + " failed: " +
                           (info && info->error_message ? info->error_message : "unknown N-API error"));
}
#define NAPI(call)                                    \
  do {                                                \
    if ((call) != napi_ok) napi_fail(env, #call);     \
  } while (0)

void throw_js(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, nullptr, msg);
}

// Every exported function runs inside this: no C++ exception reaches V8.
template <napi_value (*F)(napi_env, napi_callback_info)>
napi_value guarded(napi_env env, napi_callback_info info) {
  try {
    return F(env, info);
  } catch (const std::bad_alloc&) {
    throw_js(env, "mx bridge: out of host memory");
  } catch (const std::exception& e) {
    throw_js(env, e.what());
  } catch (...) {
    throw_js(env, "mx bridge: unknown C++ exception");
  }
  return nullptr;
}

// A per-thread buffer for failure messages written by backends.
char* msg_buf() {
  static thread_local std::unique_ptr<char[]> buf;
  if (!buf) buf.reset(new char[kMsgCap]);
  buf[0] = '\0';
  return buf.get();
}

// ---------------------------------------------------------------- the table (per process)

#define MX_SLOT(t, f) ((t)->size >= offsetof(mx_backend_v1, f) + sizeof((t)->f) ? (t)->f : nullptr)

struct Device {
  std::string id, memory, name;
  uint64_t total_bytes;
};

struct Global {
  std::mutex m;
  bool loaded = false;
  std::string load_error;
  const mx_backend_v1* tbl = nullptr;
  std::string name;
  bool init_done = false;
  std::string init_reason;  // "" when usable
  std::vector<Device> devices;
  std::vector<mx_kernel_def> kernels;  // copies: the backend's table may be torn down at exit
};
// Never destroyed: worker threads may still run while the process exits.
Global& G() {
  static Global* g = new Global();
  return *g;
}

// Loads and checks the table once; throws the same error in every environment.
const mx_backend_v1* load_table() {
  Global& g = G();
  std::lock_guard<std::mutex> lk(g.m);
  if (!g.loaded) {
    g.loaded = true;
    const mx_backend_v1* t = mx_backend_get();
    char buf[512];
    if (!t) {
      g.load_error = "mx_backend_get() returned NULL";
    } else if (t->abi_major != MX_ABI_MAJOR) {
      snprintf(buf, sizeof buf,
               "backend '%s' implements mx backend ABI %u.%u but its bridge speaks ABI %d.%d: "
               "rebuild the backend against the @mx/core it runs with",
               t->size >= offsetof(mx_backend_v1, init) && t->name ? t->name : "?", (unsigned)t->abi_major,
               (unsigned)t->abi_minor, MX_ABI_MAJOR, MX_ABI_MINOR);
      g.load_error = buf;
    } else if (t->size < offsetof(mx_backend_v1, alloc) || !t->name || !t->num_devices || !t->device ||
               !t->num_kernels || !t->kernel) {
      snprintf(buf, sizeof buf,
               "backend table is incomplete (size %u, ABI %u.%u; this bridge needs at least %u bytes and "
               "name, num_devices, device, num_kernels, kernel)",
               (unsigned)t->size, (unsigned)t->abi_major, (unsigned)t->abi_minor,
               (unsigned)offsetof(mx_backend_v1, alloc));
      g.load_error = buf;
    } else {
      g.tbl = t;
      g.name = t->name;
    }
  }
  if (!g.tbl) throw std::runtime_error("mx bridge: " + g.load_error);
  return g.tbl;
}

// Runs the backend's init() once per process; returns "" or why it cannot run.
std::string init_backend() {
  Global& g = G();
  std::lock_guard<std::mutex> lk(g.m);
  if (g.init_done) return g.init_reason;
  g.init_done = true;
  const mx_backend_v1* t = g.tbl;
  try {
    if (auto init = MX_SLOT(t, init)) {
      std::unique_ptr<char[]> reason(new char[kMsgCap]);
      reason[0] = '\0';
      if (int st = init(reason.get(), kMsgCap)) {
        g.init_reason = reason[0] ? reason.get() : "init() failed with status " + std::to_string(st);
        return g.init_reason;
      }
    }
    for (int32_t i = 0, n = t->num_devices(); i < n; i++) {
      mx_device_desc d{};
      d.size = sizeof d;
      t->device(i, &d);
      if (!d.id || !d.memory) throw std::runtime_error("device " + std::to_string(i) + " has no id or memory");
      g.devices.push_back(Device{d.id, d.memory, d.name ? d.name : "", d.total_bytes});
    }
    for (int32_t i = 0, n = t->num_kernels(); i < n; i++) {
      const mx_kernel_def* k = t->kernel(i);
      if (!k || !k->op || !k->key || !k->fn) throw std::runtime_error("kernel " + std::to_string(i) + " is incomplete");
      mx_kernel_def c = *k;
      if (!c.domain) c.domain = "";
      g.kernels.push_back(c);
    }
  } catch (const std::exception& e) {
    g.devices.clear();
    g.kernels.clear();
    g.init_reason = std::string("init failed: ") + e.what();
  }
  return g.init_reason;
}

const mx_backend_v1* usable() {
  Global& g = G();
  std::lock_guard<std::mutex> lk(g.m);
  if (!g.init_done || !g.init_reason.empty())
    throw std::runtime_error("mx bridge: backend '" + g.name + "' is not initialized (call init() first and check its result)");
  return g.tbl;
}

// ---------------------------------------------------------------- attributes

struct Attrs {
  uint32_t magic = kAttrsMagic;
  std::atomic<int> refs{1};
  mx_attrs c{0, nullptr};
  std::vector<mx_attr> items;
  // deques: growing them never moves the elements the items point into
  std::deque<std::string> strs;
  std::deque<std::vector<int64_t>> ints;
  std::deque<std::vector<double>> floats;
  std::deque<std::vector<const char*>> ptrs;
};
void release(Attrs* a) {
  if (a && a->refs.fetch_sub(1) == 1) delete a;
}

// ---------------------------------------------------------------- device memory

struct DevMem {
  std::atomic<int> refs{1};
  int32_t device = 0;
  uint64_t bytes = 0;
  void* ptr = nullptr;  // set by the alloc task on the worker
  bool free_queued = false;
};
void release(DevMem* m) {
  if (m && m->refs.fetch_sub(1) == 1) delete m;
}

// The source of a write whose bytes arrive later (a promise on the JS side).
struct Gate {
  std::atomic<int> refs{1};
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  std::string error;
  std::vector<uint8_t> data;
};
void release(Gate* g) {
  if (g && g->refs.fetch_sub(1) == 1) delete g;
}

// ---------------------------------------------------------------- per environment

struct Waiter {
  uint64_t ticket;
  napi_deferred deferred;
};

struct Instance;

// One of this environment's own queues plus what settles its promises.
struct QueueJs {
  Instance* inst = nullptr;
  int32_t device = 0;
  bool has_stream = false;
  void* stream = nullptr;
  std::unique_ptr<Queue> q;
  napi_threadsafe_function tsfn = nullptr;
  bool tsfn_refd = false;
  std::atomic<bool> notify_pending{false};
  std::deque<Waiter> waiters;  // JS thread only; tickets ascend
  napi_ref handle = nullptr;
};

struct Instance {
  std::vector<mx_queue*> route;                // per device: where its work goes
  std::vector<bool> host;                      // per device: uses host memory
  std::vector<std::unique_ptr<QueueJs>> own;   // per device: our queue, if created
  std::vector<napi_ref> refs;                  // kept alive for the environment's life
  double* cmd = nullptr;

  void ensure_devices() {
    if (route.empty()) {
      route.assign(G().devices.size(), nullptr);
      for (const Device& d : G().devices) host.push_back(d.memory == "host");
      own.resize(G().devices.size());
    }
  }
};

// ---------------------------------------------------------------- small helpers

struct Args {
  size_t argc = 6;
  napi_value argv[6];
  Instance* inst = nullptr;
  Args(napi_env env, napi_callback_info info) {
    void* data = nullptr;
    NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, &data));
    inst = static_cast<Instance*>(data);
    for (size_t i = argc; i < 6; i++) argv[i] = nullptr;
  }
};

napi_value undefined(napi_env env) {
  napi_value v;
  NAPI(napi_get_undefined(env, &v));
  return v;
}
napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  NAPI(napi_create_string_utf8(env, s.data(), s.size(), &v));
  return v;
}
napi_value num(napi_env env, double d) {
  napi_value v;
  NAPI(napi_create_double(env, d, &v));
  return v;
}
void set(napi_env env, napi_value obj, const char* key, napi_value v) { NAPI(napi_set_named_property(env, obj, key, v)); }

double get_number(napi_env env, napi_value v, const char* what) {
  double d;
  if (!v || napi_get_value_double(env, v, &d) != napi_ok) throw std::runtime_error(std::string("mx bridge: ") + what + " must be a number");
  return d;
}

int32_t get_device(napi_env env, Instance* I, napi_value v) {
  usable();
  I->ensure_devices();
  double d = get_number(env, v, "device index");
  if (!(d >= 0 && d < (double)I->route.size()) || d != (int32_t)d)
    throw std::runtime_error("mx bridge: device index " + std::to_string(d) + " is out of range");
  return (int32_t)d;
}

template <class T>
T* get_external(napi_env env, napi_value v, const napi_type_tag& tag, const char* what) {
  bool ok = false;
  napi_valuetype t;
  if (v && napi_typeof(env, v, &t) == napi_ok && t == napi_external) NAPI(napi_check_object_type_tag(env, v, &tag, &ok));
  if (!ok) throw std::runtime_error(std::string("mx bridge: expected ") + what);
  void* p;
  NAPI(napi_get_value_external(env, v, &p));
  return static_cast<T*>(p);
}

// Bytes of an ArrayBuffer, TypedArray or DataView.
void bytes_of(napi_env env, napi_value v, const uint8_t** data, size_t* len) {
  bool is;
  void* p = nullptr;
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    NAPI(napi_get_arraybuffer_info(env, v, &p, len));
  } else if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t n, off;
    napi_value ab;
    NAPI(napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off));
    static const size_t sizes[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    *len = n * (type < sizeof sizes / sizeof *sizes ? sizes[type] : 1);
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t off;
    NAPI(napi_get_dataview_info(env, v, len, &p, &ab, &off));
  } else {
    throw std::runtime_error("mx bridge: expected an ArrayBuffer or a typed array");
  }
  *data = static_cast<const uint8_t*>(p);
}

QueueJs* own_queue(napi_env env, Instance* I, napi_value handle) {
  mx_queue* q = get_external<mx_queue>(env, handle, kQueueTag, "a queue handle");
  for (auto& o : I->own)
    if (o && o->q->c() == q) return o.get();
  throw std::runtime_error("mx bridge: this queue belongs to another backend");
}

// Runs f() as a task of q; a throw becomes a failure of `op` on q.
template <class F>
void submit_fn(mx_queue* q, const char* op, F&& f) {
  struct Box {
    mx_queue* q;
    const char* op;
    std::decay_t<F> f;
  };
  auto* box = new Box{q, op, std::forward<F>(f)};
  q->submit(q->self, [](void* p, const mx_pool*) {
    std::unique_ptr<Box> b(static_cast<Box*>(p));
    try {
      b->f();
    } catch (const std::exception& e) {
      b->q->fail(b->q->self, MX_ERR_INTERNAL, b->op, G().name.c_str(), e.what());
    } catch (...) {
      b->q->fail(b->q->self, MX_ERR_INTERNAL, b->op, G().name.c_str(), "unknown exception");
    }
  }, box);
}

// ---------------------------------------------------------------- promises of a queue

napi_value make_error(napi_env env, const Failure& f, const std::string& device) {
  const char* code = f.status == MX_ERR_INVALID       ? "INVALID_ARGUMENT"
                     : f.status == MX_ERR_UNSUPPORTED ? "UNSUPPORTED"
                     : f.status == MX_ERR_OOM         ? "OUT_OF_MEMORY"
                     : f.status == MX_ERR_DEVICE      ? "DEVICE_FAULT"
                                                      : "KERNEL";
  napi_value err;
  NAPI(napi_create_error(env, str(env, code), str(env, f.msg), &err));
  if (!f.op.empty()) set(env, err, "op", str(env, f.op));
  set(env, err, "backend", str(env, f.backend.empty() ? G().name : f.backend));
  set(env, err, "device", str(env, device));
  return err;
}

// Settles every waiter whose ticket has completed, then arms the wake ticket.
void settle(napi_env env, QueueJs* s) {
  s->notify_pending.store(false);
  const std::string& device = G().devices[s->device].id;
  for (;;) {
    const uint64_t done = s->q->completed();
    while (!s->waiters.empty() && s->waiters.front().ticket <= done) {
      Waiter w = s->waiters.front();
      s->waiters.pop_front();
      Failure f;
      if (s->q->take_failure(w.ticket, &f)) NAPI(napi_reject_deferred(env, w.deferred, make_error(env, f, device)));
      else NAPI(napi_resolve_deferred(env, w.deferred, undefined(env)));
    }
    const uint64_t next = s->waiters.empty() ? UINT64_MAX : s->waiters.front().ticket;
    s->q->set_wake_ticket(next);
    if (next == UINT64_MAX || s->q->completed() < next) break;
  }
  // A pending sync keeps the event loop alive; an idle queue does not.
  const bool want = !s->waiters.empty();
  if (want != s->tsfn_refd) {
    if (want) NAPI(napi_ref_threadsafe_function(env, s->tsfn));
    else NAPI(napi_unref_threadsafe_function(env, s->tsfn));
    s->tsfn_refd = want;
  }
}

void notify_js(void* arg) {  // worker thread
  auto* s = static_cast<QueueJs*>(arg);
  if (!s->notify_pending.exchange(true)) napi_call_threadsafe_function(s->tsfn, nullptr, napi_tsfn_nonblocking);
}

void call_js(napi_env env, napi_value, void* context, void*) {
  if (!env) return;  // the environment is going away
  try {
    settle(env, static_cast<QueueJs*>(context));
  } catch (const std::exception& e) {
    throw_js(env, e.what());
  }
}

// Device backends: make sync/drain also wait for the device stream.
void submit_stream_sync(QueueJs* s) {
  const mx_backend_v1* t = G().tbl;
  auto stream_sync = MX_SLOT(t, stream_sync);
  if (!s->has_stream || !stream_sync) return;
  const int32_t dev = s->device;
  void* stream = s->stream;
  submit_fn(s->q->c(), "sync", [=] {
    char* msg = msg_buf();
    if (int st = stream_sync(dev, stream, msg, kMsgCap)) {
      mx_queue* q = s->q->c();
      q->fail(q->self, st, "sync", G().name.c_str(), msg[0] ? msg : "stream_sync failed");
    }
  });
}

// ---------------------------------------------------------------- kernels

struct KernelTask {
  Queue* ring;  // the queue whose ring holds this task, or nullptr (malloc)
  mx_queue* q;
  mx_kernel_fn fn;
  const char* op;
  Attrs* attrs;
  void* stream;
  int32_t device, nin, nout, nindirect;
  bool has_ids;  // some input carries a constant id
  // followed by mx_tensor[nin + nout], uint64_t[nin] (constant ids), then Indirect[nin + nout] on device-memory devices
};
struct Indirect {
  int32_t tensor;
  DevMem* mem;
  uint64_t offset;
};
inline mx_tensor* tensors_of(KernelTask* t) { return reinterpret_cast<mx_tensor*>(t + 1); }
inline uint64_t* ids_of(KernelTask* t) { return reinterpret_cast<uint64_t*>(tensors_of(t) + t->nin + t->nout); }
inline Indirect* indirect_of(KernelTask* t) { return reinterpret_cast<Indirect*>(ids_of(t) + t->nin); }

const mx_attrs kNoAttrs = {0, nullptr};

// ---------------------------------------------------------------- profiling (per process)

// While on, call_kernel times every kernel call (steady clock around fn) and
// keeps its op name and tensor shapes; profileStop() hands them to JS. On a
// device-memory backend fn only enqueues, so its times are launch times.
struct Profile {
  std::atomic<bool> on{false};
  std::mutex m;
  struct Rec {
    const char* op;
    uint64_t ns;
    int32_t nin, nout;
    size_t dims;  // offset of this call's shapes in `shapes`: per tensor ndim, then dims
  };
  std::vector<Rec> recs;
  std::vector<int64_t> shapes;
};
Profile& prof() {
  static Profile p;
  return p;
}
// Out of memory, the call goes unrecorded: a profile never fails a kernel.
void profile_record(const char* op, uint64_t ns, const mx_tensor* ts, int32_t nin, int32_t nout) noexcept {
  Profile& p = prof();
  std::lock_guard<std::mutex> lock(p.m);
  const size_t at = p.shapes.size();
  try {
    for (int32_t i = 0; i < nin + nout; i++) {
      const int32_t nd = ts[i].data ? ts[i].ndim : -1;  // -1: an absent optional input
      p.shapes.push_back(nd);
      for (int32_t d = 0; d < nd; d++) p.shapes.push_back(ts[i].shape[d]);
    }
    p.recs.push_back({op, ns, nin, nout, at});
  } catch (...) {
    p.shapes.resize(at);
  }
}

// Calls one kernel; a failure (status or exception) is recorded on q.
// ids: the inputs' constant ids (0: not constant), or NULL when none is.
void call_kernel(mx_queue* q, mx_kernel_fn fn, const char* op, const Attrs* attrs, mx_tensor* ts, int32_t nin,
                 int32_t nout, const uint64_t* ids, const mx_pool* pool, int32_t device, void* stream, char* msg) {
  mx_kernel_ctx ctx{};
  ctx.size = sizeof ctx;
  ctx.num_inputs = nin;
  ctx.inputs = ts;
  ctx.num_outputs = nout;
  ctx.outputs = ts + nin;
  ctx.attrs = attrs ? &attrs->c : &kNoAttrs;
  ctx.pool = pool;
  ctx.device = device;
  ctx.stream = stream;
  ctx.msg = msg;
  ctx.msg_cap = kMsgCap;
  ctx.const_ids = ids;
  msg[0] = '\0';
  int st;
  const bool timed = prof().on.load(std::memory_order_relaxed);
  const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  try {
    st = fn(&ctx);
    if (timed)
      profile_record(op, (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count(),
                     ts, nin, nout);
  } catch (const std::bad_alloc&) {
    snprintf(msg, kMsgCap, "%s: out of host memory", op);
    st = MX_ERR_OOM;
  } catch (const std::exception& e) {
    snprintf(msg, kMsgCap, "%s: %s", op, e.what());
    st = MX_ERR_INTERNAL;
  } catch (...) {
    snprintf(msg, kMsgCap, "%s: unknown exception", op);
    st = MX_ERR_INTERNAL;
  }
  if (st != MX_OK) {
    if (!msg[0]) snprintf(msg, kMsgCap, "%s failed with status %d and no message", op, st);
    q->fail(q->self, st, op, G().name.c_str(), msg);
  }
}

void run_kernel(void* p, const mx_pool* pool) {
  KernelTask* t = static_cast<KernelTask*>(p);
  mx_tensor* ts = tensors_of(t);
  char* msg = msg_buf();
  bool ok = true;
  for (int32_t i = 0; i < t->nindirect && ok; i++) {
    const Indirect& ind = indirect_of(t)[i];
    if (!ind.mem->ptr && ind.mem->bytes) {
      snprintf(msg, kMsgCap, "%s: tensor %d lives in device memory whose allocation failed", t->op, ind.tensor);
      t->q->fail(t->q->self, MX_ERR_INVALID, t->op, G().name.c_str(), msg);
      ok = false;
    }
    ts[ind.tensor].data = ind.mem->ptr ? static_cast<char*>(ind.mem->ptr) + ind.offset : nullptr;
  }
  if (ok) call_kernel(t->q, t->fn, t->op, t->attrs, ts, t->nin, t->nout, t->has_ids ? ids_of(t) : nullptr, pool, t->device, t->stream, msg);
  release(t->attrs);
  if (t->ring) t->ring->ring_release(t);
  else std::free(t);
}

// submit(attrs?): enqueue the call written in the command buffer.
napi_value Submit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  void* data;
  NAPI(napi_get_cb_info(env, info, &argc, &arg, nullptr, &data));
  Instance* I = static_cast<Instance*>(data);
  Attrs* attrs = nullptr;
  if (argc >= 1) {
    napi_valuetype vt;
    NAPI(napi_typeof(env, arg, &vt));
    if (vt == napi_external) {
      void* p;
      NAPI(napi_get_value_external(env, arg, &p));
      attrs = static_cast<Attrs*>(p);
      if (attrs->magic != kAttrsMagic) throw std::runtime_error("mx bridge: submit() expects attributes from encodeAttrs()");
    } else if (vt != napi_undefined && vt != napi_null) {
      throw std::runtime_error("mx bridge: submit() expects attributes from encodeAttrs()");
    }
  }
  const double* c = I->cmd;
  const Global& g = G();
  const double k = c[0], dev = c[1], nin = c[2], nout = c[3];
  if (!(k >= 0 && k < (double)g.kernels.size()) || !(dev >= 0 && dev < (double)I->route.size()) ||
      !(nin >= 0 && nin <= 4096) || !(nout >= 0 && nout <= 4096))
    throw std::runtime_error("mx bridge: malformed command (kernel, device, inputs or outputs out of range)");
  mx_queue* q = I->route[(size_t)dev];
  if (!q) throw std::runtime_error("mx bridge: device " + g.devices[(size_t)dev].id + " has no queue yet");
  const mx_kernel_def& def = g.kernels[(size_t)k];
  const int32_t n = (int32_t)nin + (int32_t)nout;
  const bool on_host = I->host[(size_t)dev];
  const size_t bytes = sizeof(KernelTask) + (size_t)n * (sizeof(mx_tensor) + (on_host ? 0 : sizeof(Indirect))) + (size_t)nin * sizeof(uint64_t);
  QueueJs* own = I->own[(size_t)dev].get();
  Queue* ring = own && own->q->c() == q ? own->q.get() : nullptr;
  void* mem = ring ? ring->ring_alloc(bytes) : nullptr;
  if (!mem) {
    ring = nullptr;
    mem = std::malloc(bytes);
    if (!mem) throw std::bad_alloc();
  }
  auto* t = static_cast<KernelTask*>(mem);
  t->ring = ring;
  t->q = q;
  t->fn = def.fn;
  t->op = def.op;
  t->attrs = nullptr;
  t->device = (int32_t)dev;
  t->nin = (int32_t)nin;
  t->nout = (int32_t)nout;
  t->nindirect = 0;
  t->has_ids = false;
  t->stream = ring || (own && own->q->c() == q) ? own->stream : nullptr;
  mx_tensor* ts = tensors_of(t);
  size_t p = 4;
  bool bad = false;
  double elems = 0;
  for (int32_t i = 0; i < n && !bad; i++) {
    // nd + kConstFlag: the record ends with the tensor's constant id (inputs only)
    const double addr = c[p], code = c[p + 1], flagged = c[p + 2];
    const bool has_id = flagged >= kConstFlag && i < (int32_t)nin;
    const double nd = has_id ? flagged - kConstFlag : flagged;
    p += 3;
    bad = !(nd >= 0 && nd <= MX_MAX_DIMS) || p + (size_t)nd + 5 > kCmdLen;
    if (bad) break;
    mx_tensor& x = ts[i];
    x.ndim = (int32_t)nd;
    double numel = 1;
    for (int32_t d = 0; d < x.ndim; d++) numel *= (double)(x.shape[d] = (int64_t)c[p + d]);
    elems += numel;
    p += (size_t)x.ndim;
    if (code >= 0 || on_host) {
      x.dtype = (int32_t)code;
      x.data = reinterpret_cast<void*>((uintptr_t)addr);
    } else {
      x.dtype = (int32_t)-code;
      x.data = nullptr;
      indirect_of(t)[t->nindirect++] = Indirect{i, reinterpret_cast<DevMem*>((uintptr_t)addr), (uint64_t)c[p++]};
    }
    if (i < (int32_t)nin) ids_of(t)[i] = has_id ? (uint64_t)c[p++] : 0;
    t->has_ids = t->has_ids || has_id;
  }
  if (bad) {
    if (ring) ring->ring_unalloc(t);
    else std::free(t);
    throw std::runtime_error("mx bridge: malformed command (a tensor record runs past the command buffer)");
  }
  if (attrs) {
    attrs->refs.fetch_add(1, std::memory_order_relaxed);
    t->attrs = attrs;
  }
  if (!(on_host && elems <= kInlineElems && ring && !own->has_stream && own->q->run_if_idle(run_kernel, t)))
    q->submit(q->self, run_kernel, t);
  return nullptr;
}

// ---------------------------------------------------------------- programs
// A program is a list of kernel calls recorded once (kernel, attributes, dtypes
// and shapes) and replayed as ONE queue task: the graph executor records the
// kernels of a plan between host synchronizations, and each replay costs one
// call here plus one task on the worker, whatever the number of kernels.
// Tensors are located at replay time: an offset into the run's arena (the
// plan's preplanned intermediates), or an "external" address given per replay
// (inputs, constants, values other steps read). Host-memory devices only.
//
// createProgram(device, records, attrs, nExternals) -> external. records (a
// Float64Array): the kernel count, then per kernel: kernel index, inputs,
// outputs, then per tensor: kind (0 absent, 1 arena offset, 2 external index),
// that offset or index, dtype id, ndim (plus kConstFlag when the input's
// constant id follows), dims[, constant id]. attrs: per kernel, an
// encodeAttrs() result or undefined.
// runProgram(program): the command buffer holds the arena address at [0] and
// the external addresses from [1]; both must stay valid until the task ran
// (the engine pins them).

mx_queue* route_of(Instance* I, int32_t dev);

struct Program {
  std::atomic<int> refs{1};
  mx_queue* q = nullptr;
  void* stream = nullptr;
  int32_t device = 0;
  uint32_t nexternals = 0;
  struct Call {
    mx_kernel_fn fn;
    const char* op;
    Attrs* attrs;
    int32_t nin, nout;
    size_t first;  // index of its first tensor in `tensors`
    bool has_ids;  // some input is a constant: its id is in `ids` at `first + i`
  };
  struct Where {
    int32_t kind;  // 0 absent, 1 arena, 2 external
    uint64_t at;   // arena offset or external index
  };
  std::vector<Call> calls;
  bool small = false;              // every tensor together within kInlineElems
  Queue* own = nullptr;            // the route when it is this environment's own queue
  std::vector<mx_tensor> tensors;  // data filled in per replay by the thread that runs it
  std::vector<Where> where;
  std::vector<uint64_t> ids;       // per tensor: its constant id, 0 if none
  ~Program() {
    for (Call& c : calls) release(c.attrs);
  }
};
void release(Program* p) {
  if (p && p->refs.fetch_sub(1) == 1) delete p;
}

struct ProgramRun {
  Program* prog;
  uintptr_t arena;
  uintptr_t ext[1];  // nexternals entries (at least one slot)
};

// Tasks of one queue run one at a time (on its worker, or inline while it is
// idle), so filling prog->tensors is race-free.
void run_program(void* p, const mx_pool* pool) {
  ProgramRun* r = static_cast<ProgramRun*>(p);
  Program* prog = r->prog;
  for (size_t i = 0; i < prog->tensors.size(); i++) {
    const Program::Where& w = prog->where[i];
    prog->tensors[i].data = w.kind == 1 ? reinterpret_cast<void*>(r->arena + w.at)
                            : w.kind == 2 ? reinterpret_cast<void*>(r->ext[w.at])
                                          : nullptr;
  }
  char* msg = msg_buf();
  for (const Program::Call& c : prog->calls)
    call_kernel(prog->q, c.fn, c.op, c.attrs, prog->tensors.data() + c.first, c.nin, c.nout,
                c.has_ids ? prog->ids.data() + c.first : nullptr, pool, prog->device, prog->stream, msg);
  release(prog);
  std::free(r);
}

napi_value CreateProgram(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Instance* I = a.inst;
  const int32_t dev = get_device(env, I, a.argv[0]);
  if (!I->host[dev]) throw std::runtime_error("mx bridge: programs run on host-memory devices only");
  mx_queue* q = route_of(I, dev);
  bool is_ta = false;
  napi_typedarray_type type;
  size_t len = 0, off;
  void* data = nullptr;
  napi_value ab;
  if (a.argv[1]) NAPI(napi_is_typedarray(env, a.argv[1], &is_ta));
  if (is_ta) NAPI(napi_get_typedarray_info(env, a.argv[1], &type, &len, &data, &ab, &off));
  if (!is_ta || type != napi_float64_array) throw std::runtime_error("mx bridge: createProgram() expects a Float64Array of records");
  bool is_arr = false;
  if (a.argv[2]) NAPI(napi_is_array(env, a.argv[2], &is_arr));
  if (!is_arr) throw std::runtime_error("mx bridge: createProgram() expects an array of attributes");
  const double next = get_number(env, a.argv[3], "external count");
  if (!(next >= 0 && next <= kCmdLen - 1)) throw std::runtime_error("mx bridge: createProgram(): external count out of range");
  const double* c = static_cast<const double*>(data);
  const Global& g = G();
  std::unique_ptr<Program, void (*)(Program*)> prog(new Program(), release);
  prog->q = q;
  prog->device = dev;
  prog->nexternals = (uint32_t)next;
  const QueueJs* own = I->own[dev].get();
  prog->stream = own && own->q->c() == q ? own->stream : nullptr;
  auto bad = [](const char* what) { return std::runtime_error(std::string("mx bridge: malformed program (") + what + ")"); };
  size_t p = 0;
  auto at = [&](size_t i) {
    if (i >= len) throw bad("records end early");
    return c[i];
  };
  const double ncalls = at(p++);
  if (!(ncalls >= 0 && ncalls <= 1e6)) throw bad("kernel count");
  uint32_t nattrs;
  NAPI(napi_get_array_length(env, a.argv[2], &nattrs));
  if (nattrs != (uint32_t)ncalls) throw bad("one attribute entry per kernel");
  for (uint32_t k = 0; k < (uint32_t)ncalls; k++) {
    const double ki = at(p), nin = at(p + 1), nout = at(p + 2);
    p += 3;
    if (!(ki >= 0 && ki < (double)g.kernels.size()) || !(nin >= 0 && nin <= 4096) || !(nout >= 0 && nout <= 4096))
      throw bad("kernel, inputs or outputs out of range");
    const mx_kernel_def& def = g.kernels[(size_t)ki];
    Program::Call call{def.fn, def.op, nullptr, (int32_t)nin, (int32_t)nout, prog->tensors.size(), false};
    for (int32_t i = 0; i < call.nin + call.nout; i++) {
      // ndim + kConstFlag: the input's constant id follows its dims
      const double kind = at(p), where = at(p + 1), dtype = at(p + 2), flagged = at(p + 3);
      const bool has_id = flagged >= kConstFlag && i < call.nin;
      const double nd = has_id ? flagged - kConstFlag : flagged;
      p += 4;
      if (!(kind == 0 || kind == 1 || kind == 2) || !(where >= 0) || (kind == 2 && !(where < next)) ||
          !(nd >= 0 && nd <= MX_MAX_DIMS))
        throw bad("tensor record");
      mx_tensor t{};
      t.dtype = (int32_t)dtype;
      t.ndim = (int32_t)nd;
      for (int32_t d = 0; d < t.ndim; d++) t.shape[d] = (int64_t)at(p + d);
      p += (size_t)t.ndim;
      prog->ids.push_back(has_id ? (uint64_t)at(p++) : 0);
      call.has_ids = call.has_ids || has_id;
      prog->tensors.push_back(t);
      prog->where.push_back(Program::Where{(int32_t)kind, (uint64_t)where});
    }
    napi_value av;
    napi_valuetype vt;
    NAPI(napi_get_element(env, a.argv[2], k, &av));
    NAPI(napi_typeof(env, av, &vt));
    if (vt == napi_external) {
      void* ap;
      NAPI(napi_get_value_external(env, av, &ap));
      call.attrs = static_cast<Attrs*>(ap);
      if (call.attrs->magic != kAttrsMagic) throw bad("attributes not from encodeAttrs()");
      call.attrs->refs.fetch_add(1, std::memory_order_relaxed);
    } else if (vt != napi_undefined && vt != napi_null) {
      throw bad("attributes not from encodeAttrs()");
    }
    prog->calls.push_back(call);
  }
  double elems = 0;
  for (const mx_tensor& t : prog->tensors) elems += (double)mx_numel(&t);
  prog->small = elems <= kInlineElems;
  if (own && own->q->c() == q && !own->has_stream) prog->own = own->q.get();
  napi_value ext;
  Program* raw = prog.get();
  NAPI(napi_create_external(env, raw, [](napi_env, void* x, void*) { release(static_cast<Program*>(x)); }, nullptr, &ext));
  prog.release();
  NAPI(napi_type_tag_object(env, ext, &kProgramTag));
  return ext;
}

napi_value RunProgram(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  void* data;
  NAPI(napi_get_cb_info(env, info, &argc, &arg, nullptr, &data));
  Instance* I = static_cast<Instance*>(data);
  Program* prog = get_external<Program>(env, argc ? arg : nullptr, kProgramTag, "a program from createProgram()");
  const double* c = I->cmd;
  const size_t n = prog->nexternals;
  auto* r = static_cast<ProgramRun*>(std::malloc(sizeof(ProgramRun) + n * sizeof(uintptr_t)));
  if (!r) throw std::bad_alloc();
  r->prog = prog;
  r->arena = (uintptr_t)c[0];
  for (size_t i = 0; i < n; i++) r->ext[i] = (uintptr_t)c[1 + i];
  prog->refs.fetch_add(1, std::memory_order_relaxed);
  if (!(prog->small && prog->own && prog->own->run_if_idle(run_program, r))) prog->q->submit(prog->q->self, run_program, r);
  return nullptr;
}

// encodeAttrs(obj) -> external: numbers that are integers become MX_ATTR_INT,
// others MX_ATTR_FLOAT (mx_attr_int/mx_attr_float convert either way); number
// lists INTS when all are integers, else FLOATS, and both `ints` and `floats`
// are filled in either case; strings STRING; string lists STRINGS; booleans INT.
// undefined/null values are skipped. (bridge.ts turns dtype names into ids first.)
napi_value EncodeAttrs(napi_env env, napi_callback_info info) {
  Args a(env, info);
  napi_valuetype vt;
  NAPI(napi_typeof(env, a.argv[0], &vt));
  if (vt != napi_object) throw std::runtime_error("mx bridge: encodeAttrs() expects an object");
  std::unique_ptr<Attrs> A(new Attrs());
  napi_value keys;
  NAPI(napi_get_all_property_names(env, a.argv[0], napi_key_own_only,
                                   static_cast<napi_key_filter>(napi_key_enumerable | napi_key_skip_symbols),
                                   napi_key_numbers_to_strings, &keys));
  uint32_t nkeys;
  NAPI(napi_get_array_length(env, keys, &nkeys));
  auto text = [&](napi_value v) -> const char* {
    size_t len;
    NAPI(napi_get_value_string_utf8(env, v, nullptr, 0, &len));
    std::string s(len, '\0');
    NAPI(napi_get_value_string_utf8(env, v, &s[0], len + 1, &len));
    A->strs.push_back(std::move(s));
    return A->strs.back().c_str();
  };
  auto scalar = [&](napi_value v, napi_valuetype t, double* out) -> bool {
    if (t == napi_number) return napi_get_value_double(env, v, out) == napi_ok;
    if (t == napi_boolean) {
      bool b;
      NAPI(napi_get_value_bool(env, v, &b));
      *out = b;
      return true;
    }
    if (t == napi_bigint) {
      int64_t i;
      bool lossless;
      NAPI(napi_get_value_bigint_int64(env, v, &i, &lossless));
      *out = (double)i;
      return true;
    }
    return false;
  };
  auto integral = [](double d) { return d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d; };
  for (uint32_t k = 0; k < nkeys; k++) {
    napi_value key, v;
    NAPI(napi_get_element(env, keys, k, &key));
    NAPI(napi_get_property(env, a.argv[0], key, &v));
    mx_attr x{};
    x.name = text(key);
    NAPI(napi_typeof(env, v, &vt));
    bool is_array = false;
    double d;
    if (vt == napi_undefined || vt == napi_null) continue;
    if (vt == napi_string) {
      x.type = MX_ATTR_STRING;
      x.s = text(v);
    } else if (scalar(v, vt, &d)) {
      x.type = integral(d) ? MX_ATTR_INT : MX_ATTR_FLOAT;
      x.f = d;
      x.i = integral(d) ? (int64_t)d : 0;
    } else if (napi_is_array(env, v, &is_array) == napi_ok && is_array) {
      uint32_t n;
      NAPI(napi_get_array_length(env, v, &n));
      std::vector<int64_t> ints;
      std::vector<double> floats;
      std::vector<const char*> strings;
      bool all_int = true;
      for (uint32_t j = 0; j < n; j++) {
        napi_value e;
        napi_valuetype et;
        NAPI(napi_get_element(env, v, j, &e));
        NAPI(napi_typeof(env, e, &et));
        if (et == napi_string && floats.empty()) {
          strings.push_back(text(e));
        } else if (strings.empty() && scalar(e, et, &d)) {
          all_int = all_int && integral(d);
          floats.push_back(d);
          ints.push_back(integral(d) ? (int64_t)d : 0);
        } else {
          throw std::runtime_error(std::string("mx bridge: attribute '") + x.name + "' mixes strings and numbers or holds other values");
        }
      }
      x.count = (int32_t)n;
      if (!strings.empty()) {
        x.type = MX_ATTR_STRINGS;
        A->ptrs.push_back(std::move(strings));
        x.strings = A->ptrs.back().data();
      } else {
        x.type = all_int ? MX_ATTR_INTS : MX_ATTR_FLOATS;
        A->ints.push_back(std::move(ints));
        A->floats.push_back(std::move(floats));
        x.ints = A->ints.back().data();
        x.floats = A->floats.back().data();
      }
    } else {
      throw std::runtime_error(std::string("mx bridge: attribute '") + x.name + "' has an unsupported value type");
    }
    A->items.push_back(x);
  }
  A->c.count = (int32_t)A->items.size();
  A->c.items = A->items.data();
  napi_value ext;
  NAPI(napi_create_external(env, A.get(), [](napi_env, void* p, void*) { release(static_cast<Attrs*>(p)); }, nullptr, &ext));
  A.release();
  return ext;
}

// describeAttrs(handle) -> { name: [type, value] }: what kernels will read (diagnostics, tests).
napi_value DescribeAttrs(napi_env env, napi_callback_info info) {
  Args a(env, info);
  napi_valuetype vt;
  void* p = nullptr;
  NAPI(napi_typeof(env, a.argv[0], &vt));
  if (vt == napi_external) NAPI(napi_get_value_external(env, a.argv[0], &p));
  const Attrs* A = static_cast<const Attrs*>(p);
  if (!A || A->magic != kAttrsMagic) throw std::runtime_error("mx bridge: describeAttrs() expects attributes from encodeAttrs()");
  static const char* names[] = {"", "int", "float", "string", "ints", "floats", "strings"};
  napi_value out;
  NAPI(napi_create_object(env, &out));
  for (const mx_attr& x : A->items) {
    napi_value pair, v;
    NAPI(napi_create_array_with_length(env, 2, &pair));
    NAPI(napi_set_element(env, pair, 0, str(env, names[x.type])));
    switch (x.type) {
      case MX_ATTR_INT: v = num(env, (double)x.i); break;
      case MX_ATTR_FLOAT: v = num(env, x.f); break;
      case MX_ATTR_STRING: v = str(env, x.s); break;
      default:
        NAPI(napi_create_array_with_length(env, (size_t)x.count, &v));
        for (int32_t j = 0; j < x.count; j++)
          NAPI(napi_set_element(env, v, (uint32_t)j,
                                x.type == MX_ATTR_INTS     ? num(env, (double)x.ints[j])
                                : x.type == MX_ATTR_FLOATS ? num(env, x.floats[j])
                                                           : str(env, x.strings[j])));
    }
    NAPI(napi_set_element(env, pair, 1, v));
    set(env, out, x.name, pair);
  }
  return out;
}

// ---------------------------------------------------------------- backend info

napi_value Info(napi_env env, napi_callback_info) {
  const mx_backend_v1* t = load_table();
  napi_value o;
  NAPI(napi_create_object(env, &o));
  set(env, o, "name", str(env, t->name));
  set(env, o, "abiMajor", num(env, t->abi_major));
  set(env, o, "abiMinor", num(env, t->abi_minor));
  const char* desc = nullptr;
  if (auto describe = MX_SLOT(t, describe)) {
    try {
      desc = describe();
    } catch (...) {
      desc = "describe() threw";
    }
  }
  set(env, o, "describe", desc ? str(env, desc) : undefined(env));
  set(env, o, "threads", num(env, default_threads()));
  napi_value dm;
  NAPI(napi_get_boolean(env, MX_SLOT(t, alloc) && MX_SLOT(t, free) && MX_SLOT(t, copy_in) && MX_SLOT(t, copy_out), &dm));
  set(env, o, "deviceMemory", dm);
  set(env, o, "commandLength", num(env, (double)kCmdLen));
  return o;
}

napi_value Init(napi_env env, napi_callback_info) {
  load_table();
  std::string reason = init_backend();
  if (reason.empty()) {
    napi_value v;
    NAPI(napi_get_null(env, &v));
    return v;
  }
  return str(env, reason);
}

napi_value Devices(napi_env env, napi_callback_info) {
  usable();
  const auto& ds = G().devices;
  napi_value arr;
  NAPI(napi_create_array_with_length(env, ds.size(), &arr));
  for (size_t i = 0; i < ds.size(); i++) {
    napi_value o;
    NAPI(napi_create_object(env, &o));
    set(env, o, "id", str(env, ds[i].id));
    set(env, o, "memory", str(env, ds[i].memory));
    if (!ds[i].name.empty()) set(env, o, "name", str(env, ds[i].name));
    if (ds[i].total_bytes) set(env, o, "totalBytes", num(env, (double)ds[i].total_bytes));
    NAPI(napi_set_element(env, arr, (uint32_t)i, o));
  }
  return arr;
}

// kernels() -> [op, domain, key][]: the index in this list is the kernel index.
napi_value Kernels(napi_env env, napi_callback_info) {
  usable();
  const auto& ks = G().kernels;
  napi_value arr;
  NAPI(napi_create_array_with_length(env, ks.size(), &arr));
  for (size_t i = 0; i < ks.size(); i++) {
    napi_value e;
    NAPI(napi_create_array_with_length(env, 3, &e));
    NAPI(napi_set_element(env, e, 0, str(env, ks[i].op)));
    NAPI(napi_set_element(env, e, 1, str(env, ks[i].domain)));
    NAPI(napi_set_element(env, e, 2, str(env, ks[i].key)));
    NAPI(napi_set_element(env, arr, (uint32_t)i, e));
  }
  return arr;
}

// addressOf(arrayBuffer) -> its data pointer as a double (user-space addresses fit in 53 bits).
napi_value AddressOf(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value ab;
  NAPI(napi_get_cb_info(env, info, &argc, &ab, nullptr, nullptr));
  void* p = nullptr;
  size_t len;
  if (argc < 1 || napi_get_arraybuffer_info(env, ab, &p, &len) != napi_ok)
    throw std::runtime_error("mx bridge: addressOf() expects an ArrayBuffer");
  return num(env, (double)(uintptr_t)p);
}

// ---------------------------------------------------------------- queues

// createQueue(device) -> [handle, submitted, completed] (the counters as one-element
// Float64Arrays that JS reads without a call); one queue per device and environment.
napi_value CreateQueue(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Instance* I = a.inst;
  const int32_t dev = get_device(env, I, a.argv[0]);
  const mx_backend_v1* t = G().tbl;
  std::unique_ptr<QueueJs>& slot = I->own[dev];
  if (!slot) {
    std::unique_ptr<QueueJs> s(new QueueJs());
    s->inst = I;
    s->device = dev;
    // The counters JS reads: submitted at byte 0, completed at byte 64 (one cache line each).
    napi_value ab, submitted, completed, handle;
    void* mem;
    NAPI(napi_create_arraybuffer(env, 128, &mem, &ab));
    std::memset(mem, 0, 128);
    double* counters = static_cast<double*>(mem);
    NAPI(napi_create_typedarray(env, napi_float64_array, 1, ab, 0, &submitted));
    NAPI(napi_create_typedarray(env, napi_float64_array, 1, ab, 64, &completed));
    NAPI(napi_create_threadsafe_function(env, nullptr, nullptr, str(env, "mx queue"), 0, 1, nullptr, nullptr, s.get(),
                                         call_js, &s->tsfn));
    NAPI(napi_unref_threadsafe_function(env, s->tsfn));
    s->q.reset(new Queue(default_threads(), counters, counters + 8, notify_js, s.get()));
    std::function<std::string()> prologue;
    if (auto stream_create = MX_SLOT(t, stream_create)) {
      s->has_stream = true;
      QueueJs* raw = s.get();
      prologue = [raw, stream_create, dev] {
        char* msg = msg_buf();
        int st = stream_create(dev, &raw->stream, msg, kMsgCap);
        return st ? std::string(msg[0] ? msg : "stream_create failed") : std::string();
      };
    }
    std::string err = s->q->start(prologue);
    if (!err.empty()) {
      napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
      throw std::runtime_error("mx bridge: cannot create the queue of device " + G().devices[dev].id + ": " + err);
    }
    NAPI(napi_create_external(env, s->q->c(), nullptr, nullptr, &handle));
    NAPI(napi_type_tag_object(env, handle, &kQueueTag));
    napi_value triple;
    NAPI(napi_create_array_with_length(env, 3, &triple));
    NAPI(napi_set_element(env, triple, 0, handle));
    NAPI(napi_set_element(env, triple, 1, submitted));
    NAPI(napi_set_element(env, triple, 2, completed));
    NAPI(napi_create_reference(env, triple, 1, &s->handle));
    I->route[dev] = s->q->c();
    slot = std::move(s);
  }
  I->route[dev] = slot->q->c();
  napi_value triple;
  NAPI(napi_get_reference_value(env, slot->handle, &triple));
  return triple;
}

// attachQueue(device, handle): this backend's work for `device` now runs on
// another backend's queue (its worker thread, its pool, its order).
napi_value AttachQueue(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Instance* I = a.inst;
  const int32_t dev = get_device(env, I, a.argv[0]);
  mx_queue* q = get_external<mx_queue>(env, a.argv[1], kQueueTag, "a queue handle from a native mx backend");
  if (q->size < sizeof(mx_queue) || !q->submit || !q->fail) throw std::runtime_error("mx bridge: incompatible queue handle");
  napi_ref ref;
  NAPI(napi_create_reference(env, a.argv[1], 1, &ref));
  I->refs.push_back(ref);
  I->route[dev] = q;
  return nullptr;
}

// sync(handle) -> Promise: resolves when the work submitted so far has run;
// rejects with the first failure since the previous sync.
napi_value Sync(napi_env env, napi_callback_info info) {
  Args a(env, info);
  QueueJs* s = own_queue(env, a.inst, a.argv[0]);
  submit_stream_sync(s);
  napi_deferred d;
  napi_value promise;
  NAPI(napi_create_promise(env, &d, &promise));
  s->waiters.push_back(Waiter{s->q->submitted(), d});
  settle(env, s);
  return promise;
}

// drainSync(handle): blocks this thread until the queue is idle; throws like sync.
napi_value DrainSync(napi_env env, napi_callback_info info) {
  Args a(env, info);
  QueueJs* s = own_queue(env, a.inst, a.argv[0]);
  submit_stream_sync(s);
  s->q->drain();
  Failure f;
  if (s->q->take_failure(s->q->submitted(), &f)) {
    NAPI(napi_throw(env, make_error(env, f, G().devices[s->device].id)));
    return nullptr;
  }
  settle(env, s);
  return nullptr;
}

// ---------------------------------------------------------------- device memory
// Only for backends whose table has alloc/free/copy_in/copy_out. alloc and free
// run on the queue's worker in queue order; handles are usable at once because
// tasks resolve the pointer when they run.

mx_queue* route_of(Instance* I, int32_t dev) {
  if (!I->route[dev]) throw std::runtime_error("mx bridge: device " + G().devices[dev].id + " has no queue yet");
  return I->route[dev];
}
void* stream_of(Instance* I, int32_t dev) {
  const QueueJs* s = I->own[dev].get();
  return s && s->q->c() == I->route[dev] ? s->stream : nullptr;
}
const mx_backend_v1* with_memory() {
  const mx_backend_v1* t = usable();
  if (!MX_SLOT(t, alloc) || !MX_SLOT(t, free) || !MX_SLOT(t, copy_in) || !MX_SLOT(t, copy_out))
    throw std::runtime_error("mx bridge: backend '" + G().name + "' has no device memory");
  return t;
}
void check(mx_queue* q, const char* op, int st, const char* msg) {
  if (st) q->fail(q->self, st, op, G().name.c_str(), msg[0] ? msg : op);
}

napi_value Alloc(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const mx_backend_v1* t = with_memory();
  const int32_t dev = get_device(env, a.inst, a.argv[0]);
  const double bytes = get_number(env, a.argv[1], "bytes");
  if (!(bytes >= 0 && bytes <= 9007199254740992.0)) throw std::runtime_error("mx bridge: alloc size out of range");
  mx_queue* q = route_of(a.inst, dev);
  DevMem* m = new DevMem();
  m->device = dev;
  m->bytes = (uint64_t)bytes;
  napi_value ext;
  if (napi_create_external(env, m, [](napi_env, void* p, void*) { release(static_cast<DevMem*>(p)); }, nullptr, &ext) != napi_ok) {
    delete m;
    napi_fail(env, "napi_create_external");
  }
  NAPI(napi_type_tag_object(env, ext, &kDevMemTag));
  m->refs.fetch_add(1);
  auto alloc = t->alloc;
  submit_fn(q, "alloc", [q, m, alloc] {
    std::unique_ptr<DevMem, void (*)(DevMem*)> hold(m, release);
    char* msg = msg_buf();
    check(q, "alloc", alloc(m->device, m->bytes, &m->ptr, msg, kMsgCap), msg);
  });
  return ext;
}

// deviceAddress(handle) -> the number the command buffer carries for this allocation.
napi_value DeviceAddress(napi_env env, napi_callback_info info) {
  Args a(env, info);
  DevMem* m = get_external<DevMem>(env, a.argv[0], kDevMemTag, "a device memory handle");
  return num(env, (double)(uintptr_t)m);
}

napi_value Free(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const mx_backend_v1* t = with_memory();
  DevMem* m = get_external<DevMem>(env, a.argv[0], kDevMemTag, "a device memory handle");
  if (m->free_queued) throw std::runtime_error("mx bridge: device memory freed twice");
  m->free_queued = true;
  mx_queue* q = route_of(a.inst, m->device);
  m->refs.fetch_add(1);
  auto free_fn = t->free;
  submit_fn(q, "free", [m, free_fn] {
    std::unique_ptr<DevMem, void (*)(DevMem*)> hold(m, release);
    if (m->ptr) free_fn(m->device, m->ptr);
    m->ptr = nullptr;
  });
  return nullptr;
}

// Shared by write and writeLater: copy `data` into the allocation at `offset`.
// The bridge releases the source when copy_in returns.
void copy_in_now(mx_queue* q, DevMem* m, void* stream, uint64_t offset, const uint8_t* data, size_t n) {
  char* msg = msg_buf();
  if (!m->ptr) return check(q, "write", MX_ERR_INVALID, "write into device memory whose allocation failed or was freed");
  if (offset + n > m->bytes) return check(q, "write", MX_ERR_INVALID, "write past the end of a device allocation");
  check(q, "write", G().tbl->copy_in(m->device, stream, static_cast<char*>(m->ptr) + offset, data, n, msg, kMsgCap), msg);
}

// write(handle, byteOffset, src): src is copied now; the device copy runs in queue order.
napi_value Write(napi_env env, napi_callback_info info) {
  Args a(env, info);
  with_memory();
  DevMem* m = get_external<DevMem>(env, a.argv[0], kDevMemTag, "a device memory handle");
  const uint64_t off = (uint64_t)get_number(env, a.argv[1], "byteOffset");
  const uint8_t* src;
  size_t n;
  bytes_of(env, a.argv[2], &src, &n);
  auto data = std::make_shared<std::vector<uint8_t>>(src, src + n);
  mx_queue* q = route_of(a.inst, m->device);
  void* stream = stream_of(a.inst, m->device);
  m->refs.fetch_add(1);
  submit_fn(q, "write", [q, m, stream, off, data] {
    std::unique_ptr<DevMem, void (*)(DevMem*)> hold(m, release);
    copy_in_now(q, m, stream, off, data->data(), data->size());
  });
  return nullptr;
}

// A gate external, and the wait for it on the worker. The wait gives up when
// the owning queue stops (environment teardown) so that exit never hangs.
Gate* new_gate(napi_env env, napi_value* ext) {
  Gate* g = new Gate();
  if (napi_create_external(env, g, [](napi_env, void* p, void*) { release(static_cast<Gate*>(p)); }, nullptr, ext) != napi_ok) {
    delete g;
    napi_fail(env, "napi_create_external");
  }
  NAPI(napi_type_tag_object(env, *ext, &kGateTag));
  g->refs.fetch_add(1);  // the task's reference
  return g;
}
const Queue* own_of(Instance* I, int32_t dev, mx_queue* q) {
  const QueueJs* own = I->own[dev].get();
  return own && own->q->c() == q ? own->q.get() : nullptr;
}
void wait_gate(Gate* g, const Queue* mine) {
  std::unique_lock<std::mutex> lk(g->m);
  while (!g->ready) {
    g->cv.wait_for(lk, std::chrono::milliseconds(50));
    if (!g->ready && mine && mine->stopping()) {
      g->ready = true;
      g->error = "the queue stopped before what it waited for arrived";
    }
  }
}

// waitGate(device) -> gate: later work on the device's queue waits until
// fill(gate) (or fill(gate, errorMessage), recorded as a failure).
napi_value WaitGate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const int32_t dev = get_device(env, a.inst, a.argv[0]);
  mx_queue* q = route_of(a.inst, dev);
  const Queue* mine = own_of(a.inst, dev, q);
  napi_value ext;
  Gate* g = new_gate(env, &ext);
  submit_fn(q, "", [q, g, mine] {
    std::unique_ptr<Gate, void (*)(Gate*)> hold(g, release);
    wait_gate(g, mine);
    if (!g->error.empty()) q->fail(q->self, MX_ERR_INTERNAL, "", G().name.c_str(), g->error.c_str());
  });
  return ext;
}

// writeLater(handle, byteOffset) -> gate: like waitGate, and fill(gate, bytes)
// delivers the bytes to write. They must not depend on later work of the same queue.
napi_value WriteLater(napi_env env, napi_callback_info info) {
  Args a(env, info);
  with_memory();
  DevMem* m = get_external<DevMem>(env, a.argv[0], kDevMemTag, "a device memory handle");
  const uint64_t off = (uint64_t)get_number(env, a.argv[1], "byteOffset");
  mx_queue* q = route_of(a.inst, m->device);
  void* stream = stream_of(a.inst, m->device);
  const Queue* mine = own_of(a.inst, m->device, q);
  napi_value ext;
  Gate* g = new_gate(env, &ext);
  m->refs.fetch_add(1);
  submit_fn(q, "write", [q, m, g, stream, off, mine] {
    std::unique_ptr<DevMem, void (*)(DevMem*)> hold(m, release);
    std::unique_ptr<Gate, void (*)(Gate*)> hold_gate(g, release);
    wait_gate(g, mine);
    if (!g->error.empty()) return check(q, "write", MX_ERR_INVALID, g->error.c_str());
    copy_in_now(q, m, stream, off, g->data.data(), g->data.size());
  });
  return ext;
}

napi_value Fill(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Gate* g = get_external<Gate>(env, a.argv[0], kGateTag, "a write gate");
  std::vector<uint8_t> data;
  std::string error;
  napi_valuetype vt = napi_undefined;
  if (a.argv[1]) NAPI(napi_typeof(env, a.argv[1], &vt));
  if (vt == napi_undefined) {
    // no data: a plain wait gate opens
  } else if (vt == napi_string) {
    size_t len;
    NAPI(napi_get_value_string_utf8(env, a.argv[1], nullptr, 0, &len));
    error.assign(len, '\0');
    NAPI(napi_get_value_string_utf8(env, a.argv[1], &error[0], len + 1, &len));
    if (error.empty()) error = "the source of a write failed";
  } else {
    const uint8_t* src;
    size_t n;
    bytes_of(env, a.argv[1], &src, &n);
    data.assign(src, src + n);
  }
  {
    std::lock_guard<std::mutex> lk(g->m);
    if (g->ready) throw std::runtime_error("mx bridge: write gate filled twice");
    g->data = std::move(data);
    g->error = std::move(error);
    g->ready = true;
  }
  g->cv.notify_one();
  return nullptr;
}

// read(handle, byteOffset, bytes, dstAddress): copies into host memory at
// dstAddress (an ArrayBuffer the caller keeps alive until a later sync resolves).
napi_value Read(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const mx_backend_v1* t = with_memory();
  DevMem* m = get_external<DevMem>(env, a.argv[0], kDevMemTag, "a device memory handle");
  const uint64_t off = (uint64_t)get_number(env, a.argv[1], "byteOffset");
  const uint64_t n = (uint64_t)get_number(env, a.argv[2], "bytes");
  void* dst = reinterpret_cast<void*>((uintptr_t)get_number(env, a.argv[3], "dstAddress"));
  mx_queue* q = route_of(a.inst, m->device);
  void* stream = stream_of(a.inst, m->device);
  auto copy_out = t->copy_out;
  auto stream_sync = MX_SLOT(t, stream_sync);
  m->refs.fetch_add(1);
  submit_fn(q, "read", [q, m, stream, off, n, dst, copy_out, stream_sync] {
    std::unique_ptr<DevMem, void (*)(DevMem*)> hold(m, release);
    char* msg = msg_buf();
    if (!m->ptr) return check(q, "read", MX_ERR_INVALID, "read of device memory whose allocation failed or was freed");
    if (off + n > m->bytes) return check(q, "read", MX_ERR_INVALID, "read past the end of a device allocation");
    int st = copy_out(m->device, stream, dst, static_cast<char*>(m->ptr) + off, n, msg, kMsgCap);
    if (!st && stream_sync) st = stream_sync(m->device, stream, msg, kMsgCap);
    check(q, "read", st, msg);
  });
  return nullptr;
}

// profileStart(): drop earlier records and time every kernel call from now on.
napi_value ProfileStart(napi_env env, napi_callback_info) {
  Profile& p = prof();
  {
    std::lock_guard<std::mutex> lock(p.m);
    p.recs.clear();
    p.shapes.clear();
  }
  p.on.store(true);
  return undefined(env);
}

// profileStop(): [op, ns, inputs, shapes][] of the calls since profileStart();
// shapes holds the inputs' then the outputs' shapes, null for an absent input.
napi_value ProfileStop(napi_env env, napi_callback_info) {
  Profile& p = prof();
  p.on.store(false);
  std::vector<Profile::Rec> recs;
  std::vector<int64_t> shapes;
  {
    std::lock_guard<std::mutex> lock(p.m);
    recs.swap(p.recs);
    shapes.swap(p.shapes);
  }
  napi_value out;
  NAPI(napi_create_array_with_length(env, recs.size(), &out));
  for (size_t r = 0; r < recs.size(); r++) {
    const Profile::Rec& c = recs[r];
    napi_value row, sh;
    NAPI(napi_create_array_with_length(env, 4, &row));
    NAPI(napi_create_array_with_length(env, (size_t)(c.nin + c.nout), &sh));
    size_t at = c.dims;
    for (int32_t i = 0; i < c.nin + c.nout; i++) {
      const int64_t nd = shapes[at++];
      napi_value dims;
      if (nd < 0) {
        NAPI(napi_get_null(env, &dims));
      } else {
        NAPI(napi_create_array_with_length(env, (size_t)nd, &dims));
        for (int64_t d = 0; d < nd; d++) NAPI(napi_set_element(env, dims, (uint32_t)d, num(env, (double)shapes[at++])));
      }
      NAPI(napi_set_element(env, sh, (uint32_t)i, dims));
    }
    NAPI(napi_set_element(env, row, 0, str(env, c.op)));
    NAPI(napi_set_element(env, row, 1, num(env, (double)c.ns)));
    NAPI(napi_set_element(env, row, 2, num(env, c.nin)));
    NAPI(napi_set_element(env, row, 3, sh));
    NAPI(napi_set_element(env, out, (uint32_t)r, row));
  }
  return out;
}

napi_value MemoryInfo(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const mx_backend_v1* t = usable();
  const int32_t dev = get_device(env, a.inst, a.argv[0]);
  auto memory_info = MX_SLOT(t, memory_info);
  if (!memory_info) return undefined(env);
  uint64_t used = 0, free_bytes = 0, total = 0;
  memory_info(dev, &used, &free_bytes, &total);
  napi_value o;
  NAPI(napi_create_object(env, &o));
  set(env, o, "usedBytes", num(env, (double)used));
  set(env, o, "freeBytes", num(env, (double)free_bytes));
  set(env, o, "totalBytes", num(env, (double)total));
  return o;
}

// ---------------------------------------------------------------- environment life

// Runs before the environment's handles close: finish every queued task (their
// buffers are still alive), stop the threads, drop the references.
void cleanup(void* arg) {
  Instance* I = static_cast<Instance*>(arg);
  for (auto& s : I->own) {
    if (!s) continue;
    s->q->stop();
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
  }
}

napi_value init_module(napi_env env, napi_value exports) {
  load_table();
  Instance* I = new Instance();
  if (napi_set_instance_data(env, I, [](napi_env, void* p, void*) { delete static_cast<Instance*>(p); }, nullptr) != napi_ok) {
    delete I;
    napi_fail(env, "napi_set_instance_data");
  }
  NAPI(napi_add_env_cleanup_hook(env, cleanup, I));

  napi_value ab, cmd;
  void* mem;
  NAPI(napi_create_arraybuffer(env, kCmdLen * sizeof(double), &mem, &ab));
  std::memset(mem, 0, kCmdLen * sizeof(double));
  NAPI(napi_create_typedarray(env, napi_float64_array, kCmdLen, ab, 0, &cmd));
  napi_ref ref;
  NAPI(napi_create_reference(env, cmd, 1, &ref));
  I->refs.push_back(ref);
  I->cmd = static_cast<double*>(mem);

#define FN(js, f) napi_property_descriptor{js, nullptr, guarded<f>, nullptr, nullptr, nullptr, napi_enumerable, I}
  const napi_property_descriptor props[] = {
      FN("info", Info),
      FN("init", Init),
      FN("devices", Devices),
      FN("kernels", Kernels),
      FN("addressOf", AddressOf),
      FN("createQueue", CreateQueue),
      FN("attachQueue", AttachQueue),
      FN("submit", Submit),
      FN("createProgram", CreateProgram),
      FN("runProgram", RunProgram),
      FN("encodeAttrs", EncodeAttrs),
      FN("describeAttrs", DescribeAttrs),
      FN("sync", Sync),
      FN("drainSync", DrainSync),
      FN("alloc", Alloc),
      FN("deviceAddress", DeviceAddress),
      FN("free", Free),
      FN("write", Write),
      FN("waitGate", WaitGate),
      FN("writeLater", WriteLater),
      FN("fill", Fill),
      FN("read", Read),
      FN("memoryInfo", MemoryInfo),
      FN("profileStart", ProfileStart),
      FN("profileStop", ProfileStop),
      napi_property_descriptor{"command", nullptr, nullptr, nullptr, nullptr, cmd, napi_enumerable, nullptr},
  };
#undef FN
  NAPI(napi_define_properties(env, exports, sizeof props / sizeof *props, props));
  return exports;
}

}  // namespace
}  // namespace mxb

NAPI_MODULE_INIT() {
  try {
    return mxb::init_module(env, exports);
  } catch (const std::exception& e) {
    mxb::throw_js(env, e.what());
  } catch (...) {
    mxb::throw_js(env, "mx bridge: unknown C++ exception while loading");
  }
  return nullptr;
}
