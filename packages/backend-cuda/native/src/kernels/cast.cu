// Cast and CastLike: y = (T2)x (key "T1,T2"), same shape. Among the 13 standard
// dtypes (all 169 pairs) with convert()'s semantics (common.cuh): to bool is x != 0,
// from bool 0/1; float to integer truncates toward zero and saturates (NaN gives 0);
// integer to integer wraps; 16-bit floats round to nearest even.
// With the narrow dtypes (narrow.cuh), every pair where T1 or T2 is narrow: a narrow
// float is decoded (exact in float) and converted as from float32, a narrow integer
// as the integer it holds; narrow targets are encoded with the `saturate` and
// `round_mode` attributes. The narrow side is read at run time, so one kernel per
// standard dtype serves each direction.
#include "narrow.cuh"

namespace mxcuda {
namespace {

// ---- Cast
template <class From, class To> __global__ void k_cast(const From* __restrict__ x, To* __restrict__ y, int64_t n) {
  MXC_GRID_LOOP(i, n) y[i] = convert<To>(x[i]);
}
template <class From, class To> int cast(mx_kernel_ctx* ctx) {
  const int64_t n = numel(ctx->outputs[0]);
  if (n) k_cast<From, To><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const From*)ctx->inputs[0].data, (To*)ctx->outputs[0].data, n);
  return MX_OK;
}

// ---- with the narrow dtypes
template <class From> __global__ void k_to_narrow(const From* __restrict__ x, Narrow to, uint8_t* __restrict__ y, int64_t n) {
  MXC_GRID_LOOP(i, n) y[i] = to(x[i]);
}
// A standard T1 to a narrow T2.
template <class From> int cast_to_narrow(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = numel(y);
  if (n)
    k_to_narrow<From><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const From*)ctx->inputs[0].data, narrow_of(y.dtype, ctx->attrs),
                                                                      (uint8_t*)y.data, n);
  return MX_OK;
}

// Writers of a decoded narrow value: as a standard To, or encoded to another narrow dtype.
template <class To> struct StoreAs {
  To* y;
  template <class V> __device__ __forceinline__ void operator()(int64_t i, V v) const { y[i] = convert<To>(v); }
};
struct StoreNarrow {
  uint8_t* y;
  Narrow to;
  template <class V> __device__ __forceinline__ void operator()(int64_t i, V v) const { y[i] = to(v); }
};
template <class Store> __global__ void k_from_narrow(const uint8_t* __restrict__ x, Narrow from, Store store, int64_t n) {
  MXC_GRID_LOOP(i, n) {
    if (from.kind == Narrow::kInt) store(i, from.int_value(x[i]));
    else store(i, from.decode(x[i]));
  }
}
template <class Store> int from_narrow(mx_kernel_ctx* ctx, Store store) {
  const int64_t n = numel(ctx->outputs[0]);
  if (n) k_from_narrow<Store><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const uint8_t*)ctx->inputs[0].data, narrow_of(ctx->inputs[0].dtype, nullptr), store, n);
  return MX_OK;
}
// A narrow T1 to a standard T2.
template <class To> int cast_from_narrow(mx_kernel_ctx* ctx) { return from_narrow(ctx, StoreAs<To>{(To*)ctx->outputs[0].data}); }
// A narrow T1 to a narrow T2 (the same one: a copy).
int cast_narrow_narrow(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  if (x.dtype != y.dtype) return from_narrow(ctx, StoreNarrow{(uint8_t*)y.data, narrow_of(y.dtype, ctx->attrs)});
  const cudaError_t e = cudaMemcpyAsync(y.data, x.data, (size_t)numel(y), cudaMemcpyDeviceToDevice, stream_of(ctx));
  return e == cudaSuccess ? MX_OK : cuda_fail(ctx, e, "Cast copy");
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

// CastLike(input, target_type) is Cast to target_type's dtype: the same kernels.
#define REG_CAST_FN(key, fn) MXC_KERNEL("Cast", key, fn); MXC_KERNEL("CastLike", key, fn);
#define REG_CAST(T1, key1, T2, key2) REG_CAST_FN(key1 "," key2, (cast<T1, T2>))
MXC_ALL_TYPES(REG_CAST, float, "float32")
MXC_ALL_TYPES(REG_CAST, double, "float64")
MXC_ALL_TYPES(REG_CAST, f16, "float16")
MXC_ALL_TYPES(REG_CAST, bf16, "bfloat16")
MXC_ALL_TYPES(REG_CAST, int8_t, "int8")
MXC_ALL_TYPES(REG_CAST, int16_t, "int16")
MXC_ALL_TYPES(REG_CAST, int32_t, "int32")
MXC_ALL_TYPES(REG_CAST, int64_t, "int64")
MXC_ALL_TYPES(REG_CAST, uint8_t, "uint8")
MXC_ALL_TYPES(REG_CAST, uint16_t, "uint16")
MXC_ALL_TYPES(REG_CAST, uint32_t, "uint32")
MXC_ALL_TYPES(REG_CAST, uint64_t, "uint64")
MXC_ALL_TYPES(REG_CAST, bool, "bool")

// standard -> narrow (13 x 10 keys)
#define REG_TO_NARROW(N, key2, T1, key1) REG_CAST_FN(key1 "," key2, (cast_to_narrow<T1>))
#define REG_TO_NARROWS(T1, key1, ...) MXC_NARROW_TYPES(REG_TO_NARROW, T1, key1)
MXC_ALL_TYPES(REG_TO_NARROWS, _)
// narrow -> standard and narrow -> narrow (10 x 23 keys)
#define REG_FROM_NARROW(T2, key2, key1) REG_CAST_FN(key1 "," key2, (cast_from_narrow<T2>))
#define REG_NARROW_PAIR(N, key2, key1) REG_CAST_FN(key1 "," key2, cast_narrow_narrow)
#define REG_FROM(key1) MXC_ALL_TYPES(REG_FROM_NARROW, key1) MXC_NARROW_TYPES(REG_NARROW_PAIR, key1)
REG_FROM("float8e4m3fn") REG_FROM("float8e4m3fnuz") REG_FROM("float8e5m2") REG_FROM("float8e5m2fnuz") REG_FROM("float8e8m0")
REG_FROM("float4e2m1") REG_FROM("int4") REG_FROM("uint4") REG_FROM("int2") REG_FROM("uint2")
