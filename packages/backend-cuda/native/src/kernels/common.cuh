// common.cuh: what every kernel file shares. Element types and their compute
// types (16-bit floats compute in float), conversions with the cpu backend's
// semantics, the strided walk used by every broadcasting / movement kernel, the
// warp width parameter of the reductions, and launch helpers.
//
// Core guarantees on entry: dense row-major tensors with their final shapes
// allocated, attributes with defaults applied and normalized (see each op's shape
// rule in @mx/core's src/ops). Kernels only launch on the queue's stream.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "../runtime.h"

// Threads that execute in lockstep: 32 on NVIDIA; a HIP build for AMD sets 64.
#ifndef MX_WARP
#define MX_WARP 32
#endif

namespace mxcuda {

using f16 = __half;
using bf16 = __nv_bfloat16;

// ---- type lists: X(C++ type, key, args...) as in @mx/backend-cpu
#define MXC_FLOAT_TYPES(X, ...) X(float, "float32", __VA_ARGS__) X(double, "float64", __VA_ARGS__) \
  X(::mxcuda::f16, "float16", __VA_ARGS__) X(::mxcuda::bf16, "bfloat16", __VA_ARGS__)
#define MXC_SINT_TYPES(X, ...) X(int8_t, "int8", __VA_ARGS__) X(int16_t, "int16", __VA_ARGS__) \
  X(int32_t, "int32", __VA_ARGS__) X(int64_t, "int64", __VA_ARGS__)
#define MXC_UINT_TYPES(X, ...) X(uint8_t, "uint8", __VA_ARGS__) X(uint16_t, "uint16", __VA_ARGS__) \
  X(uint32_t, "uint32", __VA_ARGS__) X(uint64_t, "uint64", __VA_ARGS__)
#define MXC_INT_TYPES(X, ...) MXC_SINT_TYPES(X, __VA_ARGS__) MXC_UINT_TYPES(X, __VA_ARGS__)
#define MXC_SIGNED_TYPES(X, ...) MXC_FLOAT_TYPES(X, __VA_ARGS__) MXC_SINT_TYPES(X, __VA_ARGS__)
#define MXC_NUMERIC_TYPES(X, ...) MXC_FLOAT_TYPES(X, __VA_ARGS__) MXC_INT_TYPES(X, __VA_ARGS__)
#define MXC_ALL_TYPES(X, ...) MXC_NUMERIC_TYPES(X, __VA_ARGS__) X(bool, "bool", __VA_ARGS__)
#define MXC_REDUCE_TYPES(X, ...) MXC_FLOAT_TYPES(X, __VA_ARGS__) X(int32_t, "int32", __VA_ARGS__) \
  X(int64_t, "int64", __VA_ARGS__) X(uint32_t, "uint32", __VA_ARGS__) X(uint64_t, "uint64", __VA_ARGS__)
// Every dtype under one kernel (movement ops: only the element size matters), as the
// key's last part (MXC_KERNEL_EVERY_DTYPE(op, ",int64", fn): "float32,int64", ...)
// or after a prefix (MXC_KERNEL_EVERY_DTYPE_AFTER(op, "int32,", fn): "int32,float32", ...).
#define MXC_KERNEL_EVERY_DTYPE_KEY(op, prefix, suffix, fn)                                                        \
  MXC_KERNEL(op, prefix "float32" suffix, fn); MXC_KERNEL(op, prefix "float64" suffix, fn);                       \
  MXC_KERNEL(op, prefix "float16" suffix, fn); MXC_KERNEL(op, prefix "bfloat16" suffix, fn);                      \
  MXC_KERNEL(op, prefix "int8" suffix, fn); MXC_KERNEL(op, prefix "uint8" suffix, fn);                            \
  MXC_KERNEL(op, prefix "int16" suffix, fn); MXC_KERNEL(op, prefix "uint16" suffix, fn);                          \
  MXC_KERNEL(op, prefix "int32" suffix, fn); MXC_KERNEL(op, prefix "uint32" suffix, fn);                          \
  MXC_KERNEL(op, prefix "int64" suffix, fn); MXC_KERNEL(op, prefix "uint64" suffix, fn);                          \
  MXC_KERNEL(op, prefix "bool" suffix, fn)
#define MXC_KERNEL_EVERY_DTYPE(op, suffix, fn) MXC_KERNEL_EVERY_DTYPE_KEY(op, "", suffix, fn)
#define MXC_KERNEL_EVERY_DTYPE_AFTER(op, prefix, fn) MXC_KERNEL_EVERY_DTYPE_KEY(op, prefix, "", fn)

template <class T> struct is_half : std::false_type {};
template <> struct is_half<f16> : std::true_type {};
template <> struct is_half<bf16> : std::true_type {};
template <class T> constexpr bool is_float_v = std::is_floating_point<T>::value || is_half<T>::value;
template <class T> constexpr bool is_int_v = std::is_integral<T>::value && !std::is_same<T, bool>::value;

// Compute type: float for 16-bit floats, the type itself otherwise.
template <class T> struct compute_of { using type = T; };
template <> struct compute_of<f16> { using type = float; };
template <> struct compute_of<bf16> { using type = float; };
template <class T> using ct = typename compute_of<T>::type;
// Accumulator of sums: float for 16-bit and 32-bit floats, double for float64,
// 64-bit for integers (wrapping back to the type gives the type's wrapped sum).
template <class T> struct acc_of { using type = std::conditional_t<std::is_signed<T>::value, int64_t, uint64_t>; };
template <> struct acc_of<float> { using type = float; };
template <> struct acc_of<double> { using type = double; };
template <> struct acc_of<f16> { using type = float; };
template <> struct acc_of<bf16> { using type = float; };
template <> struct acc_of<bool> { using type = int64_t; };
template <class T> using acc_t = typename acc_of<T>::type;

template <class T> __device__ __forceinline__ ct<T> up(T x) { return x; }
template <> __device__ __forceinline__ float up<f16>(f16 x) { return __half2float(x); }
template <> __device__ __forceinline__ float up<bf16>(bf16 x) { return __bfloat162float(x); }

// convert<To>(from): to bool is x != 0; float to integer truncates and saturates
// (NaN gives 0); integer to integer wraps; 16-bit floats go through float (or
// double for float64 sources) and round to nearest even.
template <class To, class From> __device__ __forceinline__ To convert(From x) {
  if constexpr (std::is_same<To, From>::value) {
    return x;
  } else if constexpr (is_half<From>::value) {
    return convert<To>(up(x));
  } else if constexpr (std::is_same<To, bool>::value) {
    return x != From(0);
  } else if constexpr (std::is_same<To, f16>::value) {
    if constexpr (std::is_same<From, double>::value) return __double2half(x);
    else return __float2half_rn((float)x);
  } else if constexpr (std::is_same<To, bf16>::value) {
    if constexpr (std::is_same<From, double>::value) return __double2bfloat16(x);
    else return __float2bfloat16_rn((float)x);
  } else if constexpr (is_int_v<To> && std::is_floating_point<From>::value) {
    if (x != x) return To(0);
    if (x <= (From)std::numeric_limits<To>::lowest()) return std::numeric_limits<To>::lowest();
    if (x >= (From)std::numeric_limits<To>::max()) return std::numeric_limits<To>::max();
    return (To)x;
  } else {
    return (To)x;
  }
}

// ---- the strided walk: iterate over `dim` (row-major, innermost last) with each
// operand's element strides (0 where it broadcasts, negative for reversed slices).
// Dims of size 1 are dropped and neighbours that are contiguous for every operand
// merged, so most walks end with one or two dims.
template <int N> struct Walk {
  int nd;
  int64_t n;  // elements
  int64_t dim[MX_MAX_DIMS];
  int64_t st[N][MX_MAX_DIMS];
  int64_t base[N];

  __device__ __forceinline__ void offsets(int64_t i, int64_t* off) const {
    for (int k = 0; k < N; k++) off[k] = base[k];
    for (int d = nd - 1; d >= 0; d--) {
      const int64_t q = i / dim[d], r = i - q * dim[d];
      i = q;
      for (int k = 0; k < N; k++) off[k] += r * st[k][d];
    }
  }
};

// Row-major strides of a shape.
inline void strides_of(const int64_t* shape, int nd, int64_t* st) {
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d];
  }
}

// A walk over `shape` with operand strides given per dim (already aligned to shape).
template <int N> Walk<N> make_walk(const int64_t* shape, int nd, const int64_t (*st)[MX_MAX_DIMS]) {
  Walk<N> w{};
  w.n = 1;
  for (int d = 0; d < nd; d++) w.n *= shape[d];
  int m = 0;
  for (int d = 0; d < nd; d++) {
    if (shape[d] == 1) continue;
    bool merge = m > 0;
    for (int k = 0; k < N && merge; k++) merge = st[k][d] * shape[d] == w.st[k][m - 1];
    if (merge) {
      w.dim[m - 1] *= shape[d];
      for (int k = 0; k < N; k++) w.st[k][m - 1] = st[k][d];
    } else {
      w.dim[m] = shape[d];
      for (int k = 0; k < N; k++) w.st[k][m] = st[k][d];
      m++;
    }
  }
  w.nd = m;
  return w;
}

// Strides of `in` broadcast (NumPy, aligned right) to `out`'s shape.
inline void broadcast_strides(const mx_tensor& in, const mx_tensor& out, int64_t* st) {
  int64_t own[MX_MAX_DIMS];
  strides_of(in.shape, in.ndim, own);
  const int lead = out.ndim - in.ndim;
  for (int d = 0; d < out.ndim; d++) {
    const int j = d - lead;
    st[d] = j < 0 || in.shape[j] == 1 ? 0 : own[j];
  }
}

// A walk over out's shape: operand 0 is the output (contiguous), then inputs broadcast.
template <int N> Walk<N> broadcast_walk(const mx_tensor& out, const mx_tensor* const* ins) {
  int64_t st[N][MX_MAX_DIMS];
  strides_of(out.shape, out.ndim, st[0]);
  for (int k = 1; k < N; k++) broadcast_strides(*ins[k - 1], out, st[k]);
  return make_walk<N>(out.shape, out.ndim, st);
}

// ---- launches
constexpr int kThreads = 256;
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return (unsigned)(b < 1 ? 1 : b > 65536 ? 65536 : b);
}
// Threads for a block that folds r values: a power of two from MX_WARP to kThreads.
inline unsigned threads_for(int64_t r) {
  int64_t t = MX_WARP;
  while (t < r && t < kThreads) t *= 2;
  return (unsigned)t;
}
#define MXC_GRID_LOOP(i, n) \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

template <class T> __device__ __forceinline__ T shfl_xor(T v, int lane_mask) {
#if defined(__HIP_PLATFORM_AMD__)
  return __shfl_xor(v, lane_mask);
#else
  return __shfl_xor_sync(0xffffffffu, v, lane_mask);
#endif
}

// Block-wide fold of one value per thread with `f` (associative); every thread
// gets the result. blockDim.x must be a multiple of MX_WARP, at most 1024.
// `scratch` holds 1024 / MX_WARP values.
template <class A, class F> __device__ A block_fold(A v, F f, A* scratch) {
  for (int o = MX_WARP / 2; o > 0; o /= 2) v = f(v, shfl_xor(v, o));
  const int warp = threadIdx.x / MX_WARP, lane = threadIdx.x % MX_WARP, warps = blockDim.x / MX_WARP;
  __syncthreads();  // scratch may still be read by a previous fold
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < warps; w++) v = f(v, scratch[w]);
  return v;
}

// v rounded to the float dtype `prec` (float32, float16 or bfloat16): the
// quantization ops' "precision" arithmetic.
__device__ __forceinline__ float round_to(int prec, float v) {
  if (prec == MX_FLOAT16) return __half2float(__float2half_rn(v));
  if (prec == MX_BFLOAT16) return __bfloat162float(__float2bfloat16_rn(v));
  return v;
}

// Reads element i of a float tensor of any float dtype as double (small per-channel vectors).
__device__ __forceinline__ double load_any(const void* p, int dtype, int64_t i) {
  switch (dtype) {
    case MX_FLOAT32: return static_cast<const float*>(p)[i];
    case MX_FLOAT64: return static_cast<const double*>(p)[i];
    case MX_FLOAT16: return __half2float(static_cast<const f16*>(p)[i]);
    case MX_BFLOAT16: return __bfloat162float(static_cast<const bf16*>(p)[i]);
    default: return 0;
  }
}
__device__ __forceinline__ void store_any(void* p, int dtype, int64_t i, double v) {
  switch (dtype) {
    case MX_FLOAT32: static_cast<float*>(p)[i] = (float)v; break;
    case MX_FLOAT64: static_cast<double*>(p)[i] = v; break;
    case MX_FLOAT16: static_cast<f16*>(p)[i] = __float2half_rn((float)v); break;
    case MX_BFLOAT16: static_cast<bf16*>(p)[i] = __float2bfloat16_rn((float)v); break;
    default: break;
  }
}

inline int64_t numel(const mx_tensor& t) { return mx_numel(&t); }
template <int B> struct bits;
template <> struct bits<1> { using type = uint8_t; };
template <> struct bits<2> { using type = uint16_t; };
template <> struct bits<4> { using type = uint32_t; };
template <> struct bits<8> { using type = uint64_t; };
// f(E{}) with E the unsigned type of `es` bytes, for kernels that only move elements.
template <class F> int by_size(int es, F f) {
  switch (es) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}
inline int elem_size(int dtype) {
  switch (dtype) {
    case MX_FLOAT64: case MX_INT64: case MX_UINT64: return 8;
    case MX_FLOAT32: case MX_INT32: case MX_UINT32: return 4;
    case MX_FLOAT16: case MX_BFLOAT16: case MX_INT16: case MX_UINT16: return 2;
    default: return 1;
  }
}

// Splits X's dims into a walk over the kept dims and one over the reduced dims
// (bit d of reduced_mask set: dim d is reduced).
inline void split_dims(const mx_tensor& x, uint32_t reduced_mask, Walk<1>* kept, Walk<1>* red) {
  int64_t st[MX_MAX_DIMS];
  strides_of(x.shape, x.ndim, st);
  int64_t ks[MX_MAX_DIMS], rs[MX_MAX_DIMS];
  int64_t kst[1][MX_MAX_DIMS], rst[1][MX_MAX_DIMS];
  int nk = 0, nr = 0;
  for (int d = 0; d < x.ndim; d++) {
    if (reduced_mask >> d & 1) {
      rs[nr] = x.shape[d];
      rst[0][nr++] = st[d];
    } else {
      ks[nk] = x.shape[d];
      kst[0][nk++] = st[d];
    }
  }
  *kept = make_walk<1>(ks, nk, kst);
  *red = make_walk<1>(rs, nr, rst);
}

// Scratch memory for one kernel call, from the device's stream-ordered pool on the
// queue's stream (freed on it after the kernels that use it, so never waited for).
inline int scratch_alloc(mx_kernel_ctx* ctx, const char* what, size_t bytes, void** out) {
  *out = nullptr;
  const cudaError_t e = cudaMallocAsync(out, bytes ? bytes : 1, stream_of(ctx));
  if (e == cudaSuccess) return MX_OK;
  *out = nullptr;
  if (e != cudaErrorMemoryAllocation) return cuda_fail(ctx, e, what);
  cudaGetLastError();
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  return mx_fail(ctx, MX_ERR_OOM, "out of memory on cuda:%d: %s asked %zu bytes of scratch, free %zu of %zu bytes", ctx->device, what,
                 bytes, free_b, total_b);
}
inline int scratch_free(mx_kernel_ctx* ctx, const char* what, void* p) {
  const cudaError_t e = p ? cudaFreeAsync(p, stream_of(ctx)) : cudaSuccess;
  return e == cudaSuccess ? MX_OK : cuda_fail(ctx, e, what);
}

// A number-list attribute read as doubles: the bridge sends INTS when every value
// is an integer (with `floats` filled too), so both types are accepted. Returns the
// count (0 when absent).
inline int32_t attr_numbers(const mx_attrs* attrs, const char* name, const double** out) {
  const mx_attr* a = mx_attr_find(attrs, name);
  *out = nullptr;
  if (!a || (a->type != MX_ATTR_INTS && a->type != MX_ATTR_FLOATS) || (a->count > 0 && !a->floats)) return 0;
  *out = a->floats;
  return a->count;
}

// ---- scalar attributes (Pad's and ConstantOfShape's `value`, Range's `start` and
// `delta`), read as @mx/backend-cpu reads them: an int, a float, or the first
// element of an int/float list. `i` keeps all 64 bits of an int (a float truncates
// toward zero, saturating, NaN gives 0); `f` is the value as a double; 0 when absent.
struct Scalar {
  int64_t i;
  double f;
};
inline int64_t trunc_i64(double f) {
  if (!(f == f)) return 0;
  if (f >= 9223372036854775807.0) return INT64_MAX;
  if (f <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)f;
}
inline Scalar attr_scalar(const mx_attrs* attrs, const char* name) {
  const mx_attr* a = mx_attr_find(attrs, name);
  if (!a) return Scalar{0, 0};
  if (a->type == MX_ATTR_INT) return Scalar{a->i, (double)a->i};
  if (a->type == MX_ATTR_FLOAT) return Scalar{trunc_i64(a->f), a->f};
  if (a->type == MX_ATTR_INTS && a->count > 0) return Scalar{a->ints[0], (double)a->ints[0]};
  if (a->type == MX_ATTR_FLOATS && a->count > 0) return Scalar{trunc_i64(a->floats[0]), a->floats[0]};
  return Scalar{0, 0};
}
// The bits of v as one element of `dtype`, in the low bytes: integers take v.i
// wrapped to their width, bool is v.f != 0, floats take v.f (16-bit floats
// rounded to nearest even from float, as the cpu backend stores them).
inline uint64_t scalar_bits(int dtype, Scalar v) {
  uint64_t b = 0;
  switch (dtype) {
    case MX_FLOAT32: { const float x = (float)v.f; std::memcpy(&b, &x, 4); break; }
    case MX_FLOAT64: std::memcpy(&b, &v.f, 8); break;
    case MX_FLOAT16: { const f16 x = __float2half_rn((float)v.f); std::memcpy(&b, &x, 2); break; }
    case MX_BFLOAT16: { const bf16 x = __float2bfloat16_rn((float)v.f); std::memcpy(&b, &x, 2); break; }
    case MX_BOOL: b = v.f != 0; break;
    default: {
      const int es = elem_size(dtype);
      b = es == 8 ? (uint64_t)v.i : (uint64_t)v.i & ((1ull << (8 * es)) - 1);
    }
  }
  return b;
}

namespace {  // kernels shared by several files: each file gets its own copy

// ---- value checks on the device: the first position p of v[0, count) where
// bad(p, v[p]) holds (a functor: nvcc needs no extended lambdas), as *pos (-1:
// none) with its value. One flag is read back, so the check waits for the stream;
// callers fail before anything is written. `what` names the check in CUDA errors.
template <class V, class Bad> __global__ void k_first_bad(const V* __restrict__ v, int64_t count, Bad bad, unsigned long long* first) {
  MXC_GRID_LOOP(p, count) {
    if (bad(p, v[p])) atomicMin(first, (unsigned long long)p);
  }
}
template <class V, class Bad> int first_bad(mx_kernel_ctx* ctx, const char* what, const V* v, int64_t count, Bad bad, int64_t* pos, V* value) {
  *pos = -1;
  if (count <= 0) return MX_OK;
  Stream* st = static_cast<Stream*>(ctx->stream);
  const cudaStream_t s = st->s;
  cudaError_t e = cudaMemsetAsync(st->flag, 0xff, 8, s);  // nothing bad yet: ~0
  if (e == cudaSuccess) {
    k_first_bad<V, Bad><<<blocks_for(count), kThreads, 0, s>>>(v, count, bad, (unsigned long long*)st->flag);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) e = cudaMemcpyAsync(st->host_flag, st->flag, 8, cudaMemcpyDeviceToHost, s);
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) return cuda_fail(ctx, e, what);
  const unsigned long long first = *static_cast<volatile unsigned long long*>(st->host_flag);
  if (first == ~0ull) return MX_OK;
  e = cudaMemcpyAsync(value, v + first, sizeof(V), cudaMemcpyDeviceToHost, s);
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) return cuda_fail(ctx, e, what);
  *pos = (int64_t)first;
  return MX_OK;
}

// ---- index checks (Gather, GatherElements, GatherND, ScatterElements, ScatterND):
// position p of an int32/int64 index tensor addresses data axis first + p % m, of
// size n[p % m] (m = 1: every index addresses one axis; m > 1: m-tuples, GatherND
// and ScatterND). A value outside [-n, n) fails with MX_ERR_INVALID naming the
// first bad position.
struct IndexAxes {
  int m, first;
  int64_t n[MX_MAX_DIMS];
};
struct IndexOutside {
  IndexAxes a;
  template <class I> __device__ __forceinline__ bool operator()(int64_t p, I k) const {
    const int64_t n = a.n[p % a.m];
    return (int64_t)k < -n || (int64_t)k >= n;
  }
};
template <class I> int check_indices(mx_kernel_ctx* ctx, const char* op, const I* idx, int64_t count, const IndexAxes& a) {
  if (count <= 0) return MX_OK;
  if (a.m < 1 || a.m > MX_MAX_DIMS) return mx_fail(ctx, MX_ERR_INVALID, "%s: index tuples of %d values", op, a.m);
  char what[96];
  snprintf(what, sizeof what, "%s index check", op);
  int64_t bad;
  I v{};
  if (int st = first_bad(ctx, what, idx, count, IndexOutside{a}, &bad, &v)) return st;
  if (bad < 0) return MX_OK;
  const int j = (int)(bad % a.m);
  return mx_fail(ctx, MX_ERR_INVALID, "%s: index %lld (at flat position %lld of indices) is out of range for axis %d of size %lld", op,
                 (long long)v, (long long)bad, a.first + j, (long long)a.n[j]);
}

// Copies `bytes` of host memory (an attribute's values) to the device on the
// queue's stream. A copy from pageable memory returns once the source has been
// staged, so the attribute may go away after the kernel returns.
inline int upload(mx_kernel_ctx* ctx, const char* what, void* dst, const void* src, size_t bytes) {
  if (!bytes) return MX_OK;
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_of(ctx));
  return e == cudaSuccess ? MX_OK : cuda_fail(ctx, e, what);
}

}  // namespace

}  // namespace mxcuda
