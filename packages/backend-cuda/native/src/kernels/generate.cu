// Generators and shape queries: outputs computed from attributes, shapes and a few
// input values, never from large inputs. Only the element size matters where
// values are copied, so one kernel per size serves every dtype.
//   Shape: Y = X's dims start..end as int64 (core clamped start and end to
//     [0, rank]; Y's length is end - start). Size: X's element count, an int64
//     scalar. Both pass the numbers to a one-block kernel as a parameter.
//   ConstantOfShape: every element of Y is the attr `value` converted to Y's dtype
//     (as @mx/backend-cpu: integers wrap, 16-bit floats round from float).
//   Range: Y[i] = start + i * delta (core folded the scalar inputs into `start`
//     and `delta`; limit only sets Y's length): integers in wrapping 64-bit
//     arithmetic, floats in double (no fused multiply-add, as on the host), then
//     rounded to Y's dtype.
//   EyeLike: ones of Y's dtype on diagonal k (k > 0 above the main one), zeros
//     elsewhere; X only gives the shape.
//   OneHot: Y = indices.shape[:axis] + [depth] + indices.shape[axis:] (core folded
//     depth and normalized axis) holds values[1] (on) where the position along
//     `axis` equals the index and values[0] (off) elsewhere. Float indices
//     truncate toward zero; negative ones count from depth down; those still
//     outside [0, depth) leave the whole line off.
#include "common.cuh"

namespace mxcuda {
namespace {

// ---- Shape / Size: up to MX_MAX_DIMS int64 values written by one block.
struct Ints {
  int n;
  int64_t v[MX_MAX_DIMS];
};
__global__ void k_put_ints(int64_t* __restrict__ y, Ints v) {
  for (int i = threadIdx.x; i < v.n; i += blockDim.x) y[i] = v.v[i];
}
int put_ints(mx_kernel_ctx* ctx, const Ints& v) {
  if (v.n > 0) k_put_ints<<<1, MX_WARP, 0, stream_of(ctx)>>>((int64_t*)ctx->outputs[0].data, v);
  return MX_OK;
}

int shape(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  int64_t start = mx_attr_int(ctx->attrs, "start", 0);
  if (start < 0) start += x.ndim;
  start = start < 0 ? 0 : start > x.ndim ? x.ndim : start;
  const int64_t n = numel(y);
  if (y.ndim != 1 || start + n > x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "Shape: %lld dims from %lld exceed rank %d", (long long)n, (long long)start, x.ndim);
  Ints v{};
  v.n = (int)n;
  for (int64_t i = 0; i < n; i++) v.v[i] = x.shape[start + i];
  return put_ints(ctx, v);
}

int size(mx_kernel_ctx* ctx) {
  Ints v{};
  v.n = 1;
  v.v[0] = numel(ctx->inputs[0]);
  return put_ints(ctx, v);
}

// ---- ConstantOfShape
template <class E> __global__ void k_fill(E* __restrict__ y, E v, int64_t n) {
  MXC_GRID_LOOP(i, n) y[i] = v;
}
int constant_of_shape(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = numel(y);
  if (!n) return MX_OK;
  const uint64_t v = scalar_bits(y.dtype, attr_scalar(ctx->attrs, "value"));
  const cudaStream_t s = stream_of(ctx);
  switch (elem_size(y.dtype)) {
    case 1: k_fill<uint8_t><<<blocks_for(n), kThreads, 0, s>>>((uint8_t*)y.data, (uint8_t)v, n); break;
    case 2: k_fill<uint16_t><<<blocks_for(n), kThreads, 0, s>>>((uint16_t*)y.data, (uint16_t)v, n); break;
    case 4: k_fill<uint32_t><<<blocks_for(n), kThreads, 0, s>>>((uint32_t*)y.data, (uint32_t)v, n); break;
    default: k_fill<uint64_t><<<blocks_for(n), kThreads, 0, s>>>((uint64_t*)y.data, v, n); break;
  }
  return MX_OK;
}

// ---- Range
template <class T> __global__ void k_range(T* __restrict__ y, int64_t n, Scalar start, Scalar delta) {
  MXC_GRID_LOOP(i, n) {
    if constexpr (is_int_v<T>) {
      y[i] = (T)((uint64_t)start.i + (uint64_t)i * (uint64_t)delta.i);  // unsigned: wraps without UB
    } else {
      const double v = __dadd_rn(start.f, __dmul_rn((double)i, delta.f));
      if constexpr (is_half<T>::value) y[i] = convert<T>((float)v);
      else y[i] = convert<T>(v);
    }
  }
}
template <class T> int range(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = numel(y);
  if (n)
    k_range<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((T*)y.data, n, attr_scalar(ctx->attrs, "start"),
                                                             attr_scalar(ctx->attrs, "delta"));
  return MX_OK;
}

// ---- EyeLike (T2: Y's dtype; only its element size and its "one" matter)
template <class E> __global__ void k_eye(E* __restrict__ y, int64_t cols, int64_t k, E one, int64_t n) {
  MXC_GRID_LOOP(i, n) {
    const int64_t r = i / cols, c = i - r * cols;
    y[i] = c - r == k ? one : E(0);
  }
}
template <class T2> int eye_like(mx_kernel_ctx* ctx) {
  using E = typename bits<sizeof(T2)>::type;
  const mx_tensor& y = ctx->outputs[0];
  if (y.ndim != 2) return mx_fail(ctx, MX_ERR_INVALID, "EyeLike: the output must be 2-D (rank %d)", y.ndim);
  const int64_t n = numel(y);
  if (!n) return MX_OK;
  const E one = (E)scalar_bits(y.dtype, Scalar{1, 1.0});
  k_eye<E><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((E*)y.data, y.shape[1], mx_attr_int(ctx->attrs, "k", 0), one, n);
  return MX_OK;
}

// ---- OneHot (T1: the indices' type; E: the bits of the values' and output's type)
template <class T1, class E>
__global__ void k_one_hot(E* __restrict__ y, const T1* __restrict__ idx, const E* __restrict__ values, int64_t depth, int64_t inner, int64_t n) {
  const E off = values[0], on = values[1];
  MXC_GRID_LOOP(e, n) {
    const int64_t i = e % inner, q = e / inner, k = q % depth, o = q / depth;
    int64_t v;
    if constexpr (is_float_v<T1>) v = convert<int64_t>(up(idx[o * inner + i]));  // truncates; NaN gives 0
    else v = (int64_t)idx[o * inner + i];
    if (v < 0) v += depth;
    y[e] = v == k ? on : off;
  }
}
template <class T1, class E> int one_hot_sized(mx_kernel_ctx* ctx, int64_t depth, int64_t inner) {
  const mx_tensor &ind = ctx->inputs[0], &vals = ctx->inputs[2], &y = ctx->outputs[0];
  const int64_t n = numel(y);
  if (n)
    k_one_hot<T1, E><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((E*)y.data, (const T1*)ind.data, (const E*)vals.data, depth,
                                                                     inner, n);
  return MX_OK;
}
template <class T1> int one_hot(mx_kernel_ctx* ctx) {
  const mx_tensor &ind = ctx->inputs[0], &vals = ctx->inputs[2], &y = ctx->outputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0), depth = mx_attr_int(ctx->attrs, "depth", 0);
  if (axis < 0 || axis > ind.ndim || depth < 1 || y.ndim != ind.ndim + 1 || y.shape[axis] != depth || numel(vals) != 2)
    return mx_fail(ctx, MX_ERR_INVALID, "OneHot: axis %lld and depth %lld do not fit indices of rank %d and output of rank %d, or values has %lld elements (2 expected)",
                   (long long)axis, (long long)depth, ind.ndim, y.ndim, (long long)numel(vals));
  int64_t inner = 1;
  for (int d = (int)axis; d < ind.ndim; d++) inner *= ind.shape[d];
  if (!inner) return MX_OK;  // no indices: Y is empty too
  switch (elem_size(y.dtype)) {
    case 1: return one_hot_sized<T1, uint8_t>(ctx, depth, inner);
    case 2: return one_hot_sized<T1, uint16_t>(ctx, depth, inner);
    case 4: return one_hot_sized<T1, uint32_t>(ctx, depth, inner);
    default: return one_hot_sized<T1, uint64_t>(ctx, depth, inner);
  }
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

MXC_KERNEL_EVERY_DTYPE("Shape", "", shape);
MXC_KERNEL_EVERY_DTYPE("Size", "", size);
MXC_KERNEL_EVERY_DTYPE("ConstantOfShape", "", constant_of_shape);
#define REG_RANGE(T, key, ...) MXC_KERNEL("Range", key, (range<T>));
MXC_FLOAT_TYPES(REG_RANGE, _)
REG_RANGE(int16_t, "int16") REG_RANGE(int32_t, "int32") REG_RANGE(int64_t, "int64")
// EyeLike's key is "T1,T2": the input's dtype (only its shape is read), then Y's.
#define REG_EYE_LIKE(T, key, ...) MXC_KERNEL_EVERY_DTYPE("EyeLike", "," key, (eye_like<T>));
MXC_ALL_TYPES(REG_EYE_LIKE, _)
// OneHot's key is "T1,T3": the indices' dtype, then the values' (and Y's).
#define REG_ONE_HOT(T, key, ...) MXC_KERNEL_EVERY_DTYPE_AFTER("OneHot", key ",", (one_hot<T>));
MXC_NUMERIC_TYPES(REG_ONE_HOT, _)
