// Pooling over the spatial dims of X [N, C, D..], one thread per output (1 to 3
// spatial dims for the windowed pools). Output position o, tap t reads input
// position o * stride - pad_begin + t * dilation per axis; taps outside the input
// are padding. Core resolved auto_pad and ceil_mode into explicit kernel_shape,
// strides, dilations, pads and Y's shape.
//   MaxPool: the largest tap (padding never wins, NaN never wins, ties keep the
//     first tap); Indices (optional, int64): flat X index of that tap, its spatial
//     part column-major when storage_order = 1.
//   AveragePool: sum of the taps in the input / their count, or with
//     count_include_pad = 1 / the taps within the padded extent.
//   LpPool: (sum of |x|^p over the taps in the input)^(1/p); padding adds nothing.
//   GlobalAveragePool / GlobalMaxPool / GlobalLpPool: ReduceMean / ReduceMax (a NaN
//     makes the max NaN) / the Lp norm over the spatial axes, one block per (n, c)
//     plane.
//   MaxUnpool: Y = zeros, then Y takes X[j] at the coordinates of I[j], a flat index
//     into `scatter_shape` (the unpooled shape, MaxPool's Indices layout; Y may be
//     larger: output_shape). An index outside that shape fails before anything is
//     written (a check on the device that waits for the stream); duplicate indices
//     write one of their values.
#include "common.cuh"

namespace mxcuda {
namespace {

enum Kind { kMax, kAvg, kLp };
// |a|^p and its inverse, exact for the common p = 1 and 2 (as on the cpu).
template <class A> __device__ __forceinline__ A pow_p(A a, int64_t p) { return p == 1 ? fabs(a) : p == 2 ? a * a : pow(fabs(a), A(p)); }
template <class A> __device__ __forceinline__ A root_p(A s, int64_t p) { return p == 1 ? s : p == 2 ? sqrt(s) : pow(s, A(1) / A(p)); }

struct PoolGeom {
  int64_t planes, in[3], out[3], k[3], s[3], d[3], pb[3], pe[3], in_plane, out_plane;
};

bool geometry(const mx_kernel_ctx* ctx, PoolGeom* g) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int n = X.ndim - 2;
  const int64_t *k, *s, *d, *p;
  if (n < 1 || n > 3 || mx_attr_ints(ctx->attrs, "kernel_shape", &k) != n) return false;
  const int32_t ns = mx_attr_ints(ctx->attrs, "strides", &s), nd = mx_attr_ints(ctx->attrs, "dilations", &d),
                np = mx_attr_ints(ctx->attrs, "pads", &p);
  g->planes = X.shape[0] * X.shape[1];
  g->in_plane = g->out_plane = 1;
  for (int a = 0; a < 3; a++) {
    const int j = a - (3 - n);
    g->in[a] = j >= 0 ? X.shape[2 + j] : 1;
    g->out[a] = j >= 0 ? Y.shape[2 + j] : 1;
    g->k[a] = j >= 0 ? k[j] : 1;
    g->s[a] = j >= 0 && j < ns ? s[j] : 1;
    g->d[a] = j >= 0 && j < nd ? d[j] : 1;
    g->pb[a] = j >= 0 && np == 2 * n ? p[j] : 0;
    g->pe[a] = j >= 0 && np == 2 * n ? p[n + j] : 0;
    g->in_plane *= g->in[a];
    g->out_plane *= g->out[a];
  }
  return true;
}

template <class T, int K>
__global__ void k_pool(PoolGeom g, const T* __restrict__ x, T* __restrict__ y, int64_t* ind, bool col_major, bool include_pad, int64_t p) {
  constexpr bool Max = K == kMax;
  using C = std::conditional_t<is_float_v<T>, ct<T>, T>;
  MXC_GRID_LOOP(i, g.planes * g.out_plane) {
    const int64_t plane = i / g.out_plane, o = i - plane * g.out_plane;
    const int64_t o2 = o % g.out[2], o1 = o / g.out[2] % g.out[1], o0 = o / g.out[2] / g.out[1];
    const T* xp = x + plane * g.in_plane;
    C best = is_float_v<T> ? C(-INFINITY) : std::numeric_limits<C>::lowest();
    int64_t at = -1, count = 0;
    using S = std::conditional_t<std::is_same<T, double>::value, double, float>;
    S sum = 0;
    for (int64_t t0 = 0; t0 < g.k[0]; t0++) {
      const int64_t i0 = o0 * g.s[0] - g.pb[0] + t0 * g.d[0];
      for (int64_t t1 = 0; t1 < g.k[1]; t1++) {
        const int64_t i1 = o1 * g.s[1] - g.pb[1] + t1 * g.d[1];
        for (int64_t t2 = 0; t2 < g.k[2]; t2++) {
          const int64_t i2 = o2 * g.s[2] - g.pb[2] + t2 * g.d[2];
          const bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] && i2 >= 0 && i2 < g.in[2];
          if (!Max && include_pad && i0 < g.in[0] + g.pe[0] && i1 < g.in[1] + g.pe[1] && i2 < g.in[2] + g.pe[2]) count++;
          if (!inside) continue;
          const int64_t off = (i0 * g.in[1] + i1) * g.in[2] + i2;
          const C v = up(xp[off]);
          if (Max) {
            if (v > best || (!is_float_v<T> && at < 0)) {
              best = v;
              at = off;
            }
          } else if (K == kLp) {
            sum += pow_p(S(v), p);
          } else {
            sum += S(v);
            if (!include_pad) count++;
          }
        }
      }
    }
    if (Max) {
      y[i] = convert<T>(best);
      if (ind) {
        int64_t off = at;
        if (at >= 0 && col_major) {
          const int64_t i2 = at % g.in[2], i1 = at / g.in[2] % g.in[1], i0 = at / g.in[2] / g.in[1];
          off = i0 + g.in[0] * (i1 + g.in[1] * i2);
        }
        ind[i] = plane * g.in_plane + off;
      }
    } else if (K == kLp) {
      y[i] = convert<T>(root_p(sum, p));
    } else {
      y[i] = convert<T>(count ? sum / S(count) : S(NAN));
    }
  }
}

constexpr const char* kPoolNames[] = {"MaxPool", "AveragePool", "LpPool"};
constexpr const char* kGlobalNames[] = {"GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"};

template <class T, int K> int pool(mx_kernel_ctx* ctx) {
  PoolGeom g;
  if (!geometry(ctx, &g))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s: needs 1 to 3 spatial dims and kernel_shape (X rank %d)", kPoolNames[K], ctx->inputs[0].ndim);
  const int64_t p = mx_attr_int(ctx->attrs, "p", 2);
  if (K == kLp && p < 1) return mx_fail(ctx, MX_ERR_INVALID, "LpPool: p must be >= 1 (%lld)", (long long)p);
  const int64_t n = g.planes * g.out_plane;
  int64_t* ind = K == kMax && ctx->num_outputs > 1 ? (int64_t*)ctx->outputs[1].data : nullptr;
  if (n)
    k_pool<T, K><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>(g, (const T*)ctx->inputs[0].data, (T*)ctx->outputs[0].data, ind,
                                                                mx_attr_int(ctx->attrs, "storage_order", 0) == 1,
                                                                mx_attr_int(ctx->attrs, "count_include_pad", 0) == 1, p);
  return MX_OK;
}

template <class T, int K>
__global__ void k_global(const T* __restrict__ x, T* __restrict__ y, int64_t planes, int64_t n, int64_t lp) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  constexpr bool Max = K == kMax;
  __shared__ A scratch[1024 / MX_WARP];
  for (int64_t p = blockIdx.x; p < planes; p += gridDim.x) {
    A acc = Max ? A(-INFINITY) : A(0);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const A v = A(up(x[p * n + j]));
      acc = Max ? (acc != acc || v != v ? A(NAN) : fmax(acc, v)) : acc + (K == kLp ? pow_p(v, lp) : v);
    }
    acc = block_fold(acc, [](A a, A b) { return Max ? (a != a || b != b ? A(NAN) : fmax(a, b)) : a + b; }, scratch);
    if (threadIdx.x == 0) y[p] = convert<T>(Max ? acc : K == kLp ? root_p(acc, lp) : acc / A(n));
  }
}
template <class T, int K> int global_pool(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  const int64_t lp = mx_attr_int(ctx->attrs, "p", 2);
  if (K == kLp && lp < 1) return mx_fail(ctx, MX_ERR_INVALID, "%s: p must be >= 1 (%lld)", kGlobalNames[K], (long long)lp);
  const int64_t planes = X.ndim >= 2 ? X.shape[0] * X.shape[1] : 1;
  const int64_t n = planes ? numel(X) / planes : 0;
  unsigned threads = MX_WARP;
  while (threads < n && threads < kThreads) threads *= 2;
  if (planes)
    k_global<T, K><<<(unsigned)std::min<int64_t>(planes, 1 << 20), threads, 0, stream_of(ctx)>>>((const T*)X.data, (T*)ctx->outputs[0].data, planes,
                                                                                                 n, lp);
  return MX_OK;
}

// ---- MaxUnpool
struct Unravel {
  int nd;
  int64_t from[MX_MAX_DIMS], to[MX_MAX_DIMS];  // scatter_shape, Y's shape
};
struct FlatOutside {
  int64_t total;
  __device__ __forceinline__ bool operator()(int64_t, int64_t v) const { return v < 0 || v >= total; }
};
template <class E> __global__ void k_unpool(E* __restrict__ y, const E* __restrict__ x, const int64_t* __restrict__ ind, Unravel u, int64_t n) {
  MXC_GRID_LOOP(j, n) {
    int64_t at = ind[j], off = 0, stride = 1;
    for (int d = u.nd - 1; d >= 0; d--) {  // unravel in scatter_shape, ravel in Y's shape
      off += at % u.from[d] * stride;
      at /= u.from[d];
      stride *= u.to[d];
    }
    y[off] = x[j];
  }
}
template <class T> int max_unpool(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1], &y = ctx->outputs[0];
  const int64_t* from;
  if (mx_attr_ints(ctx->attrs, "scatter_shape", &from) != y.ndim || y.ndim > MX_MAX_DIMS || numel(ind) != numel(x))
    return mx_fail(ctx, MX_ERR_INVALID, "MaxUnpool: scatter_shape must have %d dims and I as many elements as X (%lld, %lld)", y.ndim,
                   (long long)numel(ind), (long long)numel(x));
  Unravel u{};
  u.nd = y.ndim;
  int64_t total = 1;
  for (int d = 0; d < y.ndim; d++) {
    u.from[d] = from[d];
    u.to[d] = y.shape[d];
    total *= from[d];
  }
  const int64_t n = numel(x);
  int64_t bad, v = 0;
  if (int st = first_bad(ctx, "MaxUnpool index check", (const int64_t*)ind.data, n, FlatOutside{total}, &bad, &v)) return st;
  if (bad >= 0)
    return mx_fail(ctx, MX_ERR_INVALID, "MaxUnpool: index %lld (at position %lld of I) is outside the unpooled shape of %lld elements", (long long)v,
                   (long long)bad, (long long)total);
  const cudaStream_t s = stream_of(ctx);
  if (numel(y)) {
    const cudaError_t e = cudaMemsetAsync(y.data, 0, (size_t)numel(y) * sizeof(T), s);  // +0.0 in every float format
    if (e != cudaSuccess) return cuda_fail(ctx, e, "MaxUnpool zeros");
  }
  using E = typename bits<sizeof(T)>::type;
  if (n) k_unpool<E><<<blocks_for(n), kThreads, 0, s>>>((E*)y.data, (const E*)x.data, (const int64_t*)ind.data, u, n);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_POOL(T, key, ...)                                        \
  MXC_KERNEL("MaxPool", key, (pool<T, kMax>));                       \
  MXC_KERNEL("AveragePool", key, (pool<T, kAvg>));                   \
  MXC_KERNEL("LpPool", key, (pool<T, kLp>));                         \
  MXC_KERNEL("GlobalAveragePool", key, (global_pool<T, kAvg>));      \
  MXC_KERNEL("GlobalMaxPool", key, (global_pool<T, kMax>));          \
  MXC_KERNEL("GlobalLpPool", key, (global_pool<T, kLp>));            \
  MXC_KERNEL("MaxUnpool", key, (max_unpool<T>));
MXC_FLOAT_TYPES(REG_POOL, _)
MXC_KERNEL("MaxPool", "int8", (pool<int8_t, kMax>));
MXC_KERNEL("MaxPool", "uint8", (pool<uint8_t, kMax>));
