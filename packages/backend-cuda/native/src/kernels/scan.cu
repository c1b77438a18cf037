// Ops that walk one axis of X viewed as [outer, n, inner] (`axis` non-negative,
// folded by core), one thread per (outer, inner) lane unless said otherwise:
//   ArgMax / ArgMin into int64 indices: the first extreme wins (the last with
//     select_last_index=1); a NaN counts as the extreme, as in NumPy.
//   Hardmax: 1 at ArgMax's position (the first maximum, or the first NaN), 0 elsewhere.
//   CumSum / CumProd: y[i] = sum / product of x[j] for j <= i (j < i with
//     exclusive=1, whose first output is 0 / 1; from the end with reverse=1);
//     floats accumulate in double, integers in 64 bits and wrap to the type.
//   TopK: the k best elements of every lane (largest=1: greatest first, else
//     smallest first) and their int64 positions, with the order of
//     @mx/backend-cpu: by value, NaN above every number, ties to the lower
//     position (so sorted=0 gives the same result). One block per chunk of a lane:
//     each thread counts the lane's elements that rank above its own (tiles of the
//     lane through shared memory, stopping once k are found); an element with
//     rank r < k goes to output position r.
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

// Position of the first largest (Max) or smallest element of a lane read at p[j * inner],
// a NaN counting as the extreme; the last such position with `last`.
template <class T, bool Max> __device__ __forceinline__ int64_t arg_of(const T* p, int64_t n, int64_t inner, bool last) {
  auto best = up(p[0]);
  int64_t at = 0;
  for (int64_t j = 1; j < n; j++) {
    const auto v = up(p[j * inner]);
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
  return at;
}
template <class T, bool Max>
__global__ void k_arg(const T* __restrict__ x, int64_t* __restrict__ y, Lanes l, bool last) {
  MXC_GRID_LOOP(lane, l.outer * l.inner) {
    const int64_t o = lane / l.inner, i = lane - o * l.inner;
    y[lane] = arg_of<T, Max>(x + o * l.n * l.inner + i, l.n, l.inner, last);
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

template <class T> __global__ void k_hardmax(const T* __restrict__ x, T* __restrict__ y, Lanes l) {
  MXC_GRID_LOOP(lane, l.outer * l.inner) {
    const int64_t o = lane / l.inner, i = lane - o * l.inner, base = o * l.n * l.inner + i;
    const int64_t at = arg_of<T, true>(x + base, l.n, l.inner, false);
    for (int64_t j = 0; j < l.n; j++) y[base + j * l.inner] = convert<T>(j == at ? 1.0f : 0.0f);
  }
}
template <class T> int hardmax(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1);
  if (axis < 0 || axis >= x.ndim) return mx_fail(ctx, MX_ERR_INVALID, "Hardmax: axis %lld is out of range for rank %d", (long long)axis, x.ndim);
  const Lanes l = lanes_of(x, axis);
  const int64_t n = l.outer * l.inner;
  if (n && l.n) k_hardmax<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, l);
  return MX_OK;
}

template <bool Prod, class A> __device__ __forceinline__ A scan_step(A acc, A v) {
  if constexpr (std::is_integral<A>::value) return A(Prod ? (uint64_t)acc * (uint64_t)v : (uint64_t)acc + (uint64_t)v);  // wraps
  else return Prod ? acc * v : acc + v;
}
template <class T, bool Prod>
__global__ void k_scan(const T* __restrict__ x, T* __restrict__ y, Lanes l, bool exclusive, bool reverse) {
  using A = std::conditional_t<is_float_v<T>, double, acc_t<T>>;
  MXC_GRID_LOOP(lane, l.outer * l.inner) {
    const int64_t o = lane / l.inner, i = lane - o * l.inner, base = o * l.n * l.inner + i;
    A acc = A(Prod ? 1 : 0);
    for (int64_t s = 0; s < l.n; s++) {
      const int64_t j = reverse ? l.n - 1 - s : s;
      const A v = A(up(x[base + j * l.inner]));
      if (!exclusive) acc = scan_step<Prod>(acc, v);
      y[base + j * l.inner] = convert<T>(acc);
      if (exclusive) acc = scan_step<Prod>(acc, v);
    }
  }
}
template <class T, bool Prod> int scan(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const Lanes l = lanes_of(x, mx_attr_int(ctx->attrs, "axis", 0));
  const int64_t n = l.outer * l.inner;
  if (n && l.n)
    k_scan<T, Prod><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, l,
                                                                   mx_attr_int(ctx->attrs, "exclusive", 0) != 0,
                                                                   mx_attr_int(ctx->attrs, "reverse", 0) != 0);
  return MX_OK;
}

// ---- TopK
// a ranks above b: NaN above every number.
template <class C> __device__ __forceinline__ bool above(C a, C b) { return a != a ? b == b : a > b; }
// Element (u, at position uj) comes before element (v, at j) in TopK's order.
template <class C> __device__ __forceinline__ bool before(C u, int64_t uj, C v, int64_t j, bool largest) {
  const bool better = largest ? above(u, v) : above(v, u), worse = largest ? above(v, u) : above(u, v);
  return better || (!worse && uj < j);
}
template <class T>
__global__ void k_topk(const T* __restrict__ x, T* __restrict__ values, int64_t* __restrict__ indices, Lanes l, int64_t k, bool largest,
                       int64_t chunks) {
  using C = ct<T>;
  __shared__ C tile[kThreads];
  const int64_t work = l.outer * l.inner * chunks;
  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {
    const int64_t lane = w / chunks, chunk = w - lane * chunks;
    const int64_t o = lane / l.inner, i = lane - o * l.inner;
    const T* p = x + o * l.n * l.inner + i;
    const int64_t j = chunk * blockDim.x + threadIdx.x;
    const bool mine = j < l.n;
    const C v = mine ? C(up(p[j * l.inner])) : C(0);
    int64_t rank = 0;
    bool counting = mine;
    for (int64_t t0 = 0; t0 < l.n; t0 += blockDim.x) {
      // block-uniform: stop when no thread still counts (also a barrier before the tile is refilled)
      if (!__syncthreads_or(counting)) break;
      if (t0 + threadIdx.x < l.n) tile[threadIdx.x] = C(up(p[(t0 + threadIdx.x) * l.inner]));
      __syncthreads();
      if (counting) {
        const int len = l.n - t0 < (int64_t)blockDim.x ? (int)(l.n - t0) : (int)blockDim.x;
        for (int q = 0; q < len; q++) rank += before(tile[q], t0 + q, v, j, largest);
        counting = rank < k;
      }
    }
    if (mine && rank < k) {
      const int64_t at = (o * k + rank) * l.inner + i;
      values[at] = p[j * l.inner];
      indices[at] = j;
    }
  }
}
template <class T> int topk(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1), k = mx_attr_int(ctx->attrs, "k", 0);
  if (axis < 0 || axis >= x.ndim) return mx_fail(ctx, MX_ERR_INVALID, "TopK: axis %lld is out of range for rank %d", (long long)axis, x.ndim);
  const Lanes l = lanes_of(x, axis);
  if (k < 0 || k > l.n || ctx->num_outputs < 2 || ctx->outputs[0].shape[axis] != k)
    return mx_fail(ctx, MX_ERR_INVALID, "TopK: k %lld is out of range for an axis of size %lld, or the outputs do not have k along axis %lld",
                   (long long)k, (long long)l.n, (long long)axis);
  const int64_t lanes = l.outer * l.inner;
  if (!k || !lanes) return MX_OK;
  const unsigned threads = threads_for(l.n);
  const int64_t chunks = (l.n + threads - 1) / threads, work = lanes * chunks;
  k_topk<T><<<(unsigned)std::min<int64_t>(work, 1 << 20), threads, 0, stream_of(ctx)>>>(
      (const T*)x.data, (T*)ctx->outputs[0].data, (int64_t*)ctx->outputs[1].data, l, k, mx_attr_int(ctx->attrs, "largest", 1) != 0, chunks);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_ARG(T, key, ...) MXC_KERNEL("ArgMax", key, (arg<T, true>)); MXC_KERNEL("ArgMin", key, (arg<T, false>));
MXC_NUMERIC_TYPES(REG_ARG, _)
#define REG_SCAN(T, key, ...) MXC_KERNEL("CumSum", key, (scan<T, false>)); MXC_KERNEL("CumProd", key, (scan<T, true>));
MXC_REDUCE_TYPES(REG_SCAN, _)
#define REG_TOPK(T, key, ...) MXC_KERNEL("TopK", key, (topk<T>));
MXC_NUMERIC_TYPES(REG_TOPK, _)
#define REG_HARDMAX(T, key, ...) MXC_KERNEL("Hardmax", key, (hardmax<T>));
MXC_FLOAT_TYPES(REG_HARDMAX, _)
