/*
 * mx_backend.h: the C contract between @mx/core's bridge and a native backend.
 *
 * Only C types cross this boundary. A backend fills one `mx_backend_v1` table and
 * exports `mx_backend_get`; the bridge (compiled from @mx/core's bridge/ sources
 * into the backend's own .node) turns the table into the JS backend object, owns
 * the queue's worker thread and the thread pool, and maps statuses to MxError.
 *
 * Versioning: every struct starts with its byte size. Within an ABI major, fields
 * are only appended; a reader checks `size` before touching a later field. Any
 * other change bumps MX_ABI_MAJOR, and core refuses a mismatched backend, naming
 * both versions.
 *
 * Threads: kernels run on the device queue's worker thread (one at a time per
 * device, in submission order) and may fan out through `ctx->pool`. Table slots
 * other than kernels are called on the JS thread unless noted.
 */
#ifndef MX_BACKEND_H
#define MX_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MX_ABI_MAJOR 1
#define MX_ABI_MINOR 1

#if defined(_WIN32)
#define MX_EXPORT __declspec(dllexport)
#else
#define MX_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes; 0 is success. The bridge maps them to MxError codes. */
typedef enum mx_status {
  MX_OK = 0,
  MX_ERR_INVALID = 1,     /* bad argument that core's checks did not catch */
  MX_ERR_UNSUPPORTED = 2, /* this (op, dtypes, attributes) combination is not implemented */
  MX_ERR_OOM = 3,         /* out of memory: message says asked/free/total bytes and the device */
  MX_ERR_DEVICE = 4,      /* device fault: the device is poisoned */
  MX_ERR_INTERNAL = 5
} mx_status;

/* Element types: the numbers are ONNX TensorProto.DataType values. Every
 * element takes a whole number of bytes: the float8 types and float4e2m1 are
 * one byte of raw bits (float4e2m1 in the low nibble, the high nibble zero),
 * int4/int2 one sign-extended int8, uint4/uint2 one uint8 (ONNX's packed
 * layout of the sub-byte types never reaches a backend). */
typedef enum mx_dtype {
  MX_FLOAT32 = 1, MX_UINT8 = 2, MX_INT8 = 3, MX_UINT16 = 4, MX_INT16 = 5,
  MX_INT32 = 6, MX_INT64 = 7, MX_BOOL = 9, MX_FLOAT16 = 10, MX_FLOAT64 = 11,
  MX_UINT32 = 12, MX_UINT64 = 13, MX_BFLOAT16 = 16,
  MX_FLOAT8E4M3FN = 17, MX_FLOAT8E4M3FNUZ = 18, MX_FLOAT8E5M2 = 19, MX_FLOAT8E5M2FNUZ = 20,
  MX_UINT4 = 21, MX_INT4 = 22, MX_FLOAT4E2M1 = 23, MX_FLOAT8E8M0 = 24, MX_UINT2 = 25, MX_INT2 = 26
} mx_dtype;

#define MX_MAX_DIMS 16

/* A dense, row-major (C-contiguous) tensor. `data` points at element 0 in the
 * memory space of the device the kernel runs on. An absent optional input has
 * data == NULL and dtype == 0. Rank 0 is a scalar (one element). */
typedef struct mx_tensor {
  void* data;
  int32_t dtype;  /* mx_dtype */
  int32_t ndim;
  int64_t shape[MX_MAX_DIMS];
} mx_tensor;

static inline int64_t mx_numel(const mx_tensor* t) {
  int64_t n = 1;
  for (int32_t i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

/* Attributes, after core applied defaults and folded `value` inputs. */
typedef enum mx_attr_type {
  MX_ATTR_INT = 1, MX_ATTR_FLOAT = 2, MX_ATTR_STRING = 3,
  MX_ATTR_INTS = 4, MX_ATTR_FLOATS = 5, MX_ATTR_STRINGS = 6
} mx_attr_type;

typedef struct mx_attr {
  const char* name;
  int32_t type;           /* mx_attr_type */
  int32_t count;          /* elements for list types */
  int64_t i;              /* MX_ATTR_INT */
  double f;               /* MX_ATTR_FLOAT */
  const char* s;          /* MX_ATTR_STRING */
  const int64_t* ints;    /* MX_ATTR_INTS */
  const double* floats;   /* MX_ATTR_FLOATS */
  const char* const* strings; /* MX_ATTR_STRINGS */
} mx_attr;

typedef struct mx_attrs {
  int32_t count;
  const mx_attr* items;
} mx_attrs;

static inline const mx_attr* mx_attr_find(const mx_attrs* a, const char* name) {
  if (!a) return NULL;
  for (int32_t k = 0; k < a->count; k++)
    if (strcmp(a->items[k].name, name) == 0) return &a->items[k];
  return NULL;
}
static inline int64_t mx_attr_int(const mx_attrs* a, const char* name, int64_t def) {
  const mx_attr* x = mx_attr_find(a, name);
  return !x ? def : x->type == MX_ATTR_FLOAT ? (int64_t)x->f : x->i;
}
static inline double mx_attr_float(const mx_attrs* a, const char* name, double def) {
  const mx_attr* x = mx_attr_find(a, name);
  return !x ? def : x->type == MX_ATTR_INT ? (double)x->i : x->f;
}
static inline const char* mx_attr_string(const mx_attrs* a, const char* name, const char* def) {
  const mx_attr* x = mx_attr_find(a, name);
  return x && x->type == MX_ATTR_STRING ? x->s : def;
}
/* Returns the element count (0 when absent) and points *out at the values. */
static inline int32_t mx_attr_ints(const mx_attrs* a, const char* name, const int64_t** out) {
  const mx_attr* x = mx_attr_find(a, name);
  if (!x || x->type != MX_ATTR_INTS) { *out = NULL; return 0; }
  *out = x->ints;
  return x->count;
}
static inline int32_t mx_attr_floats(const mx_attrs* a, const char* name, const double** out) {
  const mx_attr* x = mx_attr_find(a, name);
  if (!x || x->type != MX_ATTR_FLOATS) { *out = NULL; return 0; }
  *out = x->floats;
  return x->count;
}

/* The bridge's thread pool. parallel_for splits [0, n) into chunks of at least
 * `grain` items and calls fn(ctx, begin, end) on the pool's threads (the calling
 * thread included); it returns when all chunks are done. Kernels must not call
 * parallel_for from inside fn. */
typedef void (*mx_range_fn)(void* ctx, int64_t begin, int64_t end);
typedef struct mx_pool {
  uint32_t size;
  void* self;
  int32_t (*num_threads)(void* self);
  void (*parallel_for)(void* self, int64_t n, int64_t grain, mx_range_fn fn, void* ctx);
} mx_pool;

/* Everything a kernel gets. Core validated shapes and dtypes, allocated the
 * outputs and applied attribute defaults; kernels only compute. */
typedef struct mx_kernel_ctx {
  uint32_t size;
  int32_t num_inputs;
  const mx_tensor* inputs;   /* declaration order, variadic expanded; absent: data NULL */
  int32_t num_outputs;
  const mx_tensor* outputs;
  const mx_attrs* attrs;
  const mx_pool* pool;
  int32_t device;            /* index into the backend's devices */
  void* stream;              /* device backends: the queue's stream (e.g. cudaStream_t); NULL on host */
  char* msg;                 /* failure message buffer (NUL-terminated) */
  uint32_t msg_cap;
  /* (ABI 1.1) NULL, or num_inputs ids: const_ids[i] != 0 says input i is a
   * constant (a model's initializer): its bytes never change while the id lives,
   * and the id is never reused in the process. Kernels may cache data derived
   * from such an input (prepacked weights) keyed by the id and the tensor's
   * address; read it only when size covers it (MX_CTX_CONST_IDS). */
  const uint64_t* const_ids;
} mx_kernel_ctx;

/* The input's constant id (0: not known to be constant), safe on older cores. */
#define MX_CTX_CONST_IDS(ctx) ((ctx)->size >= offsetof(mx_kernel_ctx, const_ids) + sizeof(const uint64_t*) ? (ctx)->const_ids : NULL)
static inline uint64_t mx_const_id(const mx_kernel_ctx* ctx, int32_t i) {
  const uint64_t* ids = MX_CTX_CONST_IDS(ctx);
  return ids && i < ctx->num_inputs ? ids[i] : 0;
}

/* Returns MX_OK, or a status after writing a message with mx_fail(). */
typedef int (*mx_kernel_fn)(mx_kernel_ctx* ctx);

static inline int mx_fail(mx_kernel_ctx* ctx, int status, const char* fmt, ...) {
  if (ctx->msg && ctx->msg_cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->msg, ctx->msg_cap, fmt, ap);
    va_end(ap);
  }
  return status;
}

typedef struct mx_kernel_def {
  const char* op;      /* ONNX op name, e.g. "Add" */
  const char* domain;  /* "" for ai.onnx */
  const char* key;     /* type-constraint binding, e.g. "float32" or "float32,int64" (see core's kernelKey) */
  mx_kernel_fn fn;
} mx_kernel_def;

typedef struct mx_device_desc {
  uint32_t size;
  const char* id;      /* "cpu", "cuda:0", ... */
  const char* memory;  /* "host", or a memory space the backend owns ("cuda:0") */
  const char* name;    /* human-readable, e.g. CPU model or GPU name (optional) */
  uint64_t total_bytes;
} mx_device_desc;

/* The backend table. Slots marked (optional) may be NULL. */
typedef struct mx_backend_v1 {
  uint32_t size;                  /* sizeof(mx_backend_v1) as the backend compiled it */
  uint16_t abi_major;             /* MX_ABI_MAJOR */
  uint16_t abi_minor;             /* MX_ABI_MINOR */
  const char* name;               /* "cpu" */
  /* (optional) Probe the machine. 0: usable. Otherwise write why not into reason
   * (e.g. the dlopen error of a driver library); the backend is then "unavailable". */
  int (*init)(char* reason, uint32_t cap);
  /* Devices served. Called after a successful init. */
  int32_t (*num_devices)(void);
  void (*device)(int32_t index, mx_device_desc* out);
  /* Kernels: the table is the backend's "supports" answer. Called after init. */
  int32_t (*num_kernels)(void);
  const mx_kernel_def* (*kernel)(int32_t index);
  /* (optional) Device memory, for backends whose devices do not use host memory.
   * alloc/free are called on the queue's worker thread in queue order. */
  int (*alloc)(int32_t device, uint64_t bytes, void** out, char* msg, uint32_t cap);
  void (*free)(int32_t device, void* ptr);
  /* (optional) Copies between host and device memory, ordered on `stream`. */
  int (*copy_in)(int32_t device, void* stream, void* dst, const void* src, uint64_t bytes, char* msg, uint32_t cap);
  int (*copy_out)(int32_t device, void* stream, void* dst, const void* src, uint64_t bytes, char* msg, uint32_t cap);
  /* (optional) A per-device stream the kernels receive as ctx->stream, and a wait for it. */
  int (*stream_create)(int32_t device, void** out, char* msg, uint32_t cap);
  int (*stream_sync)(int32_t device, void* stream, char* msg, uint32_t cap);
  /* (optional) Memory statistics of a device. */
  void (*memory_info)(int32_t device, uint64_t* used, uint64_t* free_bytes, uint64_t* total);
  /* (optional) Free text for `mx doctor` (library versions, ISA...). */
  const char* (*describe)(void);
} mx_backend_v1;

/* Every native backend exports this symbol; the bridge calls it once. */
typedef const mx_backend_v1* (*mx_backend_get_fn)(void);
MX_EXPORT const mx_backend_v1* mx_backend_get(void);

/* The queue of a device, shareable between native backends serving the same
 * device (cpu and onednn on host memory): work submitted by any of them runs in
 * one order on one worker thread. Passed between binaries as a pointer inside a
 * JS external. Called on the JS thread. */
typedef void (*mx_task_fn)(void* task_ctx, const mx_pool* pool);
typedef struct mx_queue {
  uint32_t size;
  void* self;
  /* Enqueue fn(task_ctx, pool) after all previously submitted work. The queue
   * takes no ownership of task_ctx; fn must release it. */
  void (*submit)(void* self, mx_task_fn fn, void* task_ctx);
  /* Record a failure from inside a task; reported by the next sync. */
  void (*fail)(void* self, int status, const char* op, const char* backend, const char* msg);
} mx_queue;

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
/* C++ convenience for backends: register kernels from the file that defines them.
 *   MX_KERNEL("Add", "float32", add_f32);
 * The registration lines of all files form the table that num_kernels/kernel return. */
#include <vector>
namespace mx {
inline std::vector<mx_kernel_def>& kernel_registry() {
  static std::vector<mx_kernel_def> r;
  return r;
}
struct kernel_registrar {
  kernel_registrar(const char* op, const char* domain, const char* key, mx_kernel_fn fn) {
    kernel_registry().push_back(mx_kernel_def{op, domain, key, fn});
  }
};
}  // namespace mx
#define MX_CAT2(a, b) a##b
#define MX_CAT(a, b) MX_CAT2(a, b)
#define MX_KERNEL(op, key, fn) static ::mx::kernel_registrar MX_CAT(mx_reg_, __COUNTER__)(op, "", key, fn)
#define MX_KERNEL_DOMAIN(op, domain, key, fn) static ::mx::kernel_registrar MX_CAT(mx_reg_, __COUNTER__)(op, domain, key, fn)
#endif

#endif /* MX_BACKEND_H */
