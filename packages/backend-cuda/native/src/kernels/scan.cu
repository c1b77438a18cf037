// Ops that walk one axis per lane, one thread per (outer, inner) lane of X viewed
// as [outer, n, inner] (`axis` non-negative, folded by core):
//   ArgMax / ArgMin into int64 indices: the first extreme wins (the last with
//     select_last_index=1); a NaN counts as the extreme, as in NumPy.
//   CumSum: y[i] = sum of x[j] for j <= i (j < i with exclusive=1; from the end
//     with reverse=1); floats accumulate in double, integers wrap.
#include "common.cuh"

namespace mxcuda {
namespace {

struct Lanes {
  int64_t outer, n, inner;
};
Lanes lanes_of(const mx_tensor& x, int64_t axis) {
  Lanes l{1, x.ndim ? x.shape[axis] : 1, 1};
  for (int d = 0; d < axis; d++) l.outer *= x.shape[d];
  for (int d = (int)axis + 1; d < x.ndim; d++) l.inner *= x.shape[d];
  return l;
}

template <class T, bool Max>
__global__ void k_arg(const T* __restrict__ x, int64_t* __restrict__ y, Lanes l, bool last) {
  MXC_GRID_LOOP(lane, l.outer * l.inner) {
    const int64_t o = lane / l.inner, i = lane - o * l.inner;
    const T* p = x + o * l.n * l.inner + i;
    auto best = up(p[0]);
    int64_t at = 0;
    for (int64_t j = 1; j < l.n; j++) {
      const auto v = up(p[j * l.inner]);
      bool take;
      if (best != best) take = last && v != v;
      else if (v != v) take = true;
      else take = Max ? v > best : v < best;
      if (!take && last && v == best) take = true;
      if (take) {
        best = v;
        at = j;
      }
    }
    y[lane] = at;
  }
}
template <class T, bool Max> int arg(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const Lanes l = lanes_of(x, mx_attr_int(ctx->attrs, "axis", 0));
  const int64_t n = l.outer * l.inner;
  if (n && l.n)
    k_arg<T, Max><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, (int64_t*)ctx->outputs[0].data, l,
                                                                 mx_attr_int(ctx->attrs, "select_last_index", 0) != 0);
  return MX_OK;
}

template <class T>
__global__ void k_cumsum(const T* __restrict__ x, T* __restrict__ y, Lanes l, bool exclusive, bool reverse) {
  using A = std::conditional_t<is_float_v<T>, double, acc_t<T>>;
  MXC_GRID_LOOP(lane, l.outer * l.inner) {
    const int64_t o = lane / l.inner, i = lane - o * l.inner, base = o * l.n * l.inner + i;
    A acc = A(0);
    for (int64_t s = 0; s < l.n; s++) {
      const int64_t j = reverse ? l.n - 1 - s : s;
      const A v = A(up(x[base + j * l.inner]));
      if (!exclusive) acc = acc + v;
      y[base + j * l.inner] = convert<T>(acc);
      if (exclusive) acc = acc + v;
    }
  }
}
template <class T> int cumsum(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const Lanes l = lanes_of(x, mx_attr_int(ctx->attrs, "axis", 0));
  const int64_t n = l.outer * l.inner;
  if (n && l.n)
    k_cumsum<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, l,
                                                              mx_attr_int(ctx->attrs, "exclusive", 0) != 0,
                                                              mx_attr_int(ctx->attrs, "reverse", 0) != 0);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_ARG(T, key, ...) MXC_KERNEL("ArgMax", key, (arg<T, true>)); MXC_KERNEL("ArgMin", key, (arg<T, false>));
MXC_NUMERIC_TYPES(REG_ARG, _)
#define REG_CUMSUM(T, key, ...) MXC_KERNEL("CumSum", key, (cumsum<T>));
MXC_REDUCE_TYPES(REG_CUMSUM, _)
