// Helpers shared by the data-movement kernels (Transpose, Concat/Split, Slice,
// Gather, Expand/Tile, Pad, Shape/ConstantOfShape/Range). These ops only move
// bytes, so they work on elements of 1, 2, 4 or 8 bytes whatever the dtype, and
// one function serves every dtype's registration.
#pragma once
#include <algorithm>
#include <cstring>
#include <utility>

#include "common.h"

namespace mxcpu::movement {

// Bytes per element of a dtype; 0 for an unknown one.
inline int elem_size(int32_t dtype) {
  switch (dtype) {
    case MX_UINT8: case MX_INT8: case MX_BOOL: return 1;
    case MX_UINT16: case MX_INT16: case MX_FLOAT16: case MX_BFLOAT16: return 2;
    case MX_FLOAT32: case MX_INT32: case MX_UINT32: return 4;
    case MX_FLOAT64: case MX_INT64: case MX_UINT64: return 8;
    default: return 0;
  }
}

// Calls f(U{}) with an unsigned integer type of `esize` bytes; false for other sizes.
template <class F> inline bool by_size(int esize, F&& f) {
  switch (esize) {
    case 1: f(uint8_t{}); return true;
    case 2: f(uint16_t{}); return true;
    case 4: f(uint32_t{}); return true;
    case 8: f(uint64_t{}); return true;
    default: return false;
  }
}

// Work below kParallelMin elements stays on the calling thread; parallel chunks
// hold at least kGrain elements.
constexpr int64_t kParallelMin = int64_t(1) << 16;
constexpr int64_t kGrain = int64_t(1) << 14;

// Runs f(begin, end) over [0, n) items that each move about `cost` elements.
template <class F> inline void par_items(const mx_pool* pool, int64_t n, int64_t cost, F&& f) {
  if (n <= 0) return;
  cost = std::max<int64_t>(cost, 1);
  if (n * cost < kParallelMin) { f(int64_t(0), n); return; }
  // An rvalue, so that parallel_for deduces the lambda's own type, not a reference.
  parallel_for(pool, n, std::max<int64_t>(1, kGrain / cost), std::move(f));
}

// Copies a run of n elements: an inline loop when short, memcpy otherwise.
template <class U> inline void copy_run(U* dst, const U* src, int64_t n) {
  if (n < 16) for (int64_t t = 0; t < n; t++) dst[t] = src[t];
  else std::memcpy(dst, src, size_t(n) * sizeof(U));
}

// A strided view of a source buffer: element (i_0, ..., i_{n-1}) lives at element
// offset `offset + sum(i_d * stride_d)`. Strides are in elements and may be 0
// (broadcast) or negative (reversed). Room for 2*MX_MAX_DIMS dims (Tile splits each).
struct strided {
  int ndim = 0;
  int64_t offset = 0;
  int64_t shape[2 * MX_MAX_DIMS];
  int64_t stride[2 * MX_MAX_DIMS];
  void push(int64_t n, int64_t s) { shape[ndim] = n; stride[ndim] = s; ndim++; }
};

// Row-major element strides of a dense tensor.
inline void dense_strides(const mx_tensor& t, int64_t* out) {
  int64_t s = 1;
  for (int d = t.ndim - 1; d >= 0; d--) { out[d] = s; s *= t.shape[d]; }
}

// Writes the elements of view v of src, in row-major order of v's shape, densely
// into dst (defined in transpose.cc). Adjacent dims that stay contiguous are
// merged; contiguous inner runs are memcpy'd, broadcast runs filled, and a view
// whose unit-stride dim is not innermost is copied in cache-sized tiles.
void strided_copy(void* dst, const void* src, const strided& v, int esize, const mx_pool* pool);

// Copies `rows` rows of `row_bytes` bytes from src (rows `src_pitch` bytes apart)
// to dst (rows `dst_pitch` bytes apart).
inline void copy_rows(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t rows,
                      int64_t row_bytes, const mx_pool* pool) {
  if (rows <= 0 || row_bytes <= 0) return;
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (rows == 1 || (dst_pitch == row_bytes && src_pitch == row_bytes)) {
    // One contiguous block: split it into byte ranges.
    int64_t total = rows * row_bytes;
    par_items(pool, total, 1, [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, size_t(e - b)); });
    return;
  }
  par_items(pool, rows, row_bytes, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) std::memcpy(d + r * dst_pitch, s + r * src_pitch, size_t(row_bytes));
  });
}

// double -> int64 truncating toward zero; NaN gives 0 and out-of-range values saturate.
inline int64_t trunc_i64(double f) {
  if (!(f == f)) return 0;
  if (f >= 9223372036854775807.0) return INT64_MAX;
  if (f <= -9223372036854775808.0) return INT64_MIN;
  return int64_t(f);
}

// A scalar attribute as written by core: an int, a float, or the first element of
// an int/float list (ONNX tensor-valued attributes). `i` keeps all 64 bits of an
// int (a float truncated toward zero), `f` is the value as a double; 0 when absent.
struct scalar_value {
  int64_t i = 0;
  double f = 0;
};
inline scalar_value attr_scalar(const mx_attrs* attrs, const char* name) {
  const mx_attr* a = mx_attr_find(attrs, name);
  if (!a) return {};
  if (a->type == MX_ATTR_INT) return {a->i, double(a->i)};
  if (a->type == MX_ATTR_FLOAT) return {trunc_i64(a->f), a->f};
  if (a->type == MX_ATTR_INTS && a->count > 0) return {a->ints[0], double(a->ints[0])};
  if (a->type == MX_ATTR_FLOATS && a->count > 0) return {trunc_i64(a->floats[0]), a->floats[0]};
  return {};
}

// Writes the bytes of v converted to dtype into out (8 bytes of room): integer
// types take v.i wrapped to their width, bool is v != 0, floating types take v.f
// (16-bit floats rounded to nearest even).
inline bool scalar_bytes(int32_t dtype, const scalar_value& v, void* out) {
  return dispatch(dtype, [&](auto z) {
    using T = decltype(z);
    T x;
    if constexpr (std::is_same_v<T, bool>) x = v.f != 0;
    else if constexpr (std::is_integral_v<T>) x = T(v.i);
    else x = store<T>(v.f);
    std::memcpy(out, &x, sizeof(T));
  });
}

// Fills n elements of esize bytes at dst with the element at `value`.
inline void fill(void* dst, int64_t n, int esize, const void* value, const mx_pool* pool) {
  by_size(esize, [&](auto z) {
    using U = decltype(z);
    U x;
    std::memcpy(&x, value, sizeof(U));
    U* d = static_cast<U*>(dst);
    par_items(pool, n, 1, [&](int64_t b, int64_t e) { std::fill(d + b, d + e, x); });
  });
}

}  // namespace mxcpu::movement

// Registers fn under every dtype's key, followed by `suffix` (a string literal
// such as ",int64" for a second type constraint, or "" for none).
#define MX_KERNEL_EVERY_DTYPE(op, suffix, fn)                                              \
  MX_KERNEL(op, "float32" suffix, fn); MX_KERNEL(op, "float64" suffix, fn);                \
  MX_KERNEL(op, "float16" suffix, fn); MX_KERNEL(op, "bfloat16" suffix, fn);               \
  MX_KERNEL(op, "int8" suffix, fn); MX_KERNEL(op, "uint8" suffix, fn);                     \
  MX_KERNEL(op, "int16" suffix, fn); MX_KERNEL(op, "uint16" suffix, fn);                   \
  MX_KERNEL(op, "int32" suffix, fn); MX_KERNEL(op, "uint32" suffix, fn);                   \
  MX_KERNEL(op, "int64" suffix, fn); MX_KERNEL(op, "uint64" suffix, fn);                   \
  MX_KERNEL(op, "bool" suffix, fn)
