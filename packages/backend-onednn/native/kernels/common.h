// Shared helpers of the oneDNN kernels: the engine and per-thread stream, the
// per-thread primitive cache, a per-thread scratch arena for blocked-layout
// copies, plain (row-major) memory descriptors, the guard every kernel runs in
// (oneDNN exceptions become statuses) and the OpenMP thread count.
//
// Core's tensors are dense row-major; kernels read and write them through plain
// memory descriptors. A primitive that runs faster on another layout (Conv,
// ConvTranspose, large pools, Softmax over a non-innermost axis) gets copies
// reordered into and out of the scratch arena inside the same call, so no other
// backend ever sees a blocked buffer.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "mx_backend.h"

namespace mxdnnl {

using dnnl::memory;
using dims = memory::dims;
using dt = memory::data_type;

dnnl::engine& cpu_engine();
// The calling thread's stream (kernels run on the queue's worker thread; every
// worker gets its own stream, cache and scratch).
dnnl::stream& thread_stream();

inline dt dtype_of(int32_t mx) {
  switch (mx) {
    case MX_FLOAT32: return dt::f32;
    case MX_BFLOAT16: return dt::bf16;
    case MX_INT8: return dt::s8;
    case MX_UINT8: return dt::u8;
    default: return dt::undef;
  }
}

inline dims dims_of(const mx_tensor& t) { return dims(t.shape, t.shape + t.ndim); }

// Dense row-major descriptor of any rank (a scalar is {1}).
inline memory::desc plain(const dims& d, dt type) {
  if (d.empty()) return memory::desc({1}, type, dims{1});
  dims strides(d.size());
  int64_t s = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = s;
    s *= d[i] > 0 ? d[i] : 1;
  }
  return memory::desc(d, type, strides);
}

// A memory object over user data: the handle is set on every call.
inline memory user_memory(const memory::desc& md) { return memory(md, cpu_engine(), DNNL_MEMORY_NONE); }

// ---- per-thread primitive cache
// An entry holds the primitive and the memory objects it runs on; a kernel looks
// it up by a key that encodes everything the primitive was created for (op,
// dtypes, shapes, attributes), so steady-state calls create nothing.
struct Entry {
  virtual ~Entry() = default;
};

class Key {
 public:
  explicit Key(const char* op) : s_(op) { s_.push_back('\0'); }
  Key& i(int64_t v) { return raw(&v, sizeof v); }
  Key& f(double v) { return raw(&v, sizeof v); }
  Key& t(const mx_tensor& x) {  // dtype and shape; absent tensors count too
    i(x.dtype).i(x.ndim);
    for (int32_t k = 0; k < x.ndim; k++) i(x.shape[k]);
    return *this;
  }
  Key& v(const dims& d) {
    i((int64_t)d.size());
    for (int64_t x : d) i(x);
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  Key& raw(const void* p, size_t n) {
    s_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string s_;
};

std::unordered_map<std::string, std::unique_ptr<Entry>>& thread_cache();

// The cached entry for `key`, made by `make()` on first use.
template <class E, class Make> E& cached(const Key& key, Make&& make) {
  auto& c = thread_cache();
  auto it = c.find(key.str());
  if (it != c.end()) return static_cast<E&>(*it->second);
  // A bound on shapes a long-running process may see: start over when it is reached.
  if (c.size() >= 4096) c.clear();
  std::unique_ptr<E> e = make();
  E& ref = *e;
  c.emplace(key.str(), std::move(e));
  return ref;
}

// Thread-local scratch of at least `bytes` (64-byte aligned), valid until the
// next call on this thread; kernels carve their reorder buffers from it.
char* scratch(size_t bytes);
inline size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

// A reorder between two descriptors, or none when they are the same layout.
struct Reorder {
  memory from, to;
  dnnl::reorder prim;
  bool needed = false;
  Reorder() = default;
  Reorder(const memory::desc& a, const memory::desc& b) : from(user_memory(a)), to(user_memory(b)), needed(a != b) {
    if (needed) prim = dnnl::reorder(from, to);
  }
  void run(void* src, void* dst) {
    from.set_data_handle(src);
    to.set_data_handle(dst);
    prim.execute(thread_stream(), from, to);
  }
};

// Runs a kernel body, turning exceptions into statuses with a message naming
// the op. The body returns a status (MX_OK, or mx_fail(...)).
int guard(mx_kernel_ctx* ctx, const char* op, int (*body)(mx_kernel_ctx*));

// OpenMP threads for a primitive, set on the calling thread before it is created
// and before it runs (oneDNN splits work by the count it was created with):
// the pool's size (MX_NUM_THREADS, else the hardware threads), or 1 for small
// work, which then skips waking the OpenMP team (~10 us). `work` counts
// elements for memory-bound primitives and multiply-adds / 16 for Conv and MatMul.
void use_threads(const mx_kernel_ctx* ctx, double work);

// Optional inputs: absent ones have dtype 0 (data may be NULL for empty tensors too).
inline const mx_tensor* input(const mx_kernel_ctx* ctx, int i) {
  return i < ctx->num_inputs && ctx->inputs[i].dtype != 0 ? &ctx->inputs[i] : nullptr;
}
inline const mx_tensor* output(const mx_kernel_ctx* ctx, int i) {
  return i < ctx->num_outputs && ctx->outputs[i].dtype != 0 ? &ctx->outputs[i] : nullptr;
}

// Reads an int list attribute into dims (oneDNN's type).
inline dims ints(const mx_kernel_ctx* ctx, const char* name) {
  const int64_t* v = nullptr;
  int32_t n = mx_attr_ints(ctx->attrs, name, &v);
  return dims(v, v + n);
}

// 16-bit brain float <-> float (round to nearest even; NaN stays NaN).
inline float bf16_to_f32(uint16_t h) {
  uint32_t b = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if ((b & 0x7fffffff) > 0x7f800000) return (uint16_t)((b >> 16) | 0x40);
  return (uint16_t)((b + 0x7fff + ((b >> 16) & 1)) >> 16);
}
// Element i of a float32 or bfloat16 buffer, as float; and the store back.
inline float load(int32_t dtype, const void* p, int64_t i) {
  return dtype == MX_BFLOAT16 ? bf16_to_f32(static_cast<const uint16_t*>(p)[i]) : static_cast<const float*>(p)[i];
}
inline void store(int32_t dtype, void* p, int64_t i, float v) {
  if (dtype == MX_BFLOAT16) static_cast<uint16_t*>(p)[i] = f32_to_bf16(v);
  else static_cast<float*>(p)[i] = v;
}

}  // namespace mxdnnl

// Registers `fn` (an int(mx_kernel_ctx*) body) for op and key, run through guard().
#define MXD_KERNEL(op, key, fn)                                                                             \
  MX_KERNEL(op, key, ([](mx_kernel_ctx* ctx) -> int { return ::mxdnnl::guard(ctx, op, fn); }))
