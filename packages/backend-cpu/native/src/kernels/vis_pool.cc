// Lp pooling and unpooling over the spatial dims of X [N, C, D..].
//   LpPool (1 to 3 spatial dims): Y = (sum of |x|^p over the window's taps inside
//     X)^(1/p); tap t of output position o reads o * stride - pad_begin + t *
//     dilation per axis, and taps in the padding add nothing. Core resolved auto_pad
//     and ceil_mode into explicit kernel_shape, strides, dilations, pads and Y's shape.
//   GlobalLpPool: the same over all spatial positions of each N x C plane.
//   MaxUnpool: Y is zeros except at the positions the int64 indices I name: I[j] is a
//     flat index into `scatter_shape` (the unpooled shape, MaxPool's Indices layout),
//     and Y (which may be larger, output_shape) takes X[j] at the same coordinates.
// 16-bit floats compute in float.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemm.h"

namespace mxcpu {
namespace {

// |a|^p and its inverse, exact for the common p = 1 and 2.
template <class C> inline C pow_p(C a, int64_t p) { return p == 1 ? std::fabs(a) : p == 2 ? a * a : std::pow(std::fabs(a), C(p)); }
template <class C> inline C root_p(C s, int64_t p) { return p == 1 ? s : p == 2 ? std::sqrt(s) : std::pow(s, C(1) / C(p)); }

struct pool_window {
  int64_t in[3], out[3], k[3], s[3], d[3], p[3];
  int64_t in_plane = 1, out_plane = 1;
};

bool window_geometry(const mx_kernel_ctx* ctx, pool_window* g) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int n = X.ndim - 2;
  const int64_t *kernel, *strides, *dil, *pads;
  if (n < 1 || n > 3 || mx_attr_ints(ctx->attrs, "kernel_shape", &kernel) != n ||
      mx_attr_ints(ctx->attrs, "strides", &strides) != n || mx_attr_ints(ctx->attrs, "dilations", &dil) != n ||
      mx_attr_ints(ctx->attrs, "pads", &pads) != 2 * n)
    return false;
  for (int a = 0; a < 3; a++) {
    const int i = a - (3 - n);  // spatial axis, < 0 for the padded leading dims
    g->in[a] = i < 0 ? 1 : X.shape[2 + i];
    g->out[a] = i < 0 ? 1 : Y.shape[2 + i];
    g->k[a] = i < 0 ? 1 : kernel[i];
    g->s[a] = i < 0 ? 1 : strides[i];
    g->d[a] = i < 0 ? 1 : dil[i];
    g->p[a] = i < 0 ? 0 : pads[i];
    g->in_plane *= g->in[a];
    g->out_plane *= g->out[a];
  }
  return true;
}

// Taps t in [lo, hi) of a window starting at `base` whose position base + t * d lies in [0, limit).
inline void tap_range(int64_t base, int64_t d, int64_t limit, int64_t k, int64_t* lo, int64_t* hi) {
  *lo = std::min(k, base >= 0 ? 0 : (-base + d - 1) / d);
  *hi = std::max(*lo, std::min(k, base >= limit ? 0 : (limit - base + d - 1) / d));
}

template <class T> int lp_pool(mx_kernel_ctx* ctx) {
  pool_window g;
  if (!window_geometry(ctx, &g))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "LpPool: needs 1 to 3 spatial dims and explicit kernel_shape, strides, dilations, pads (X rank %d)",
                   ctx->inputs[0].ndim);
  using C = compute_t<T>;
  const int64_t p = mx_attr_int(ctx->attrs, "p", 2);
  const T* x = static_cast<const T*>(ctx->inputs[0].data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  const int64_t planes = ctx->inputs[0].shape[0] * ctx->inputs[0].shape[1];
  const int64_t rows = planes * g.out[0] * g.out[1];  // one row: all o2 of (plane, o0, o1)
  const int64_t cost = std::max<int64_t>(1, g.out[2] * g.k[0] * g.k[1] * g.k[2]);
  parallel_for(ctx->pool, rows, std::max<int64_t>(1, 16384 / cost), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t o1 = r % g.out[1], o0 = r / g.out[1] % g.out[0], plane = r / (g.out[0] * g.out[1]);
      const T* xp = x + plane * g.in_plane;
      const int64_t b0 = o0 * g.s[0] - g.p[0], b1 = o1 * g.s[1] - g.p[1];
      int64_t l0, h0, l1, h1, l2, h2;
      tap_range(b0, g.d[0], g.in[0], g.k[0], &l0, &h0);
      tap_range(b1, g.d[1], g.in[1], g.k[1], &l1, &h1);
      for (int64_t o2 = 0; o2 < g.out[2]; o2++) {
        const int64_t b2 = o2 * g.s[2] - g.p[2];
        tap_range(b2, g.d[2], g.in[2], g.k[2], &l2, &h2);
        C sum = 0;
        for (int64_t t0 = l0; t0 < h0; t0++)
          for (int64_t t1 = l1; t1 < h1; t1++) {
            const T* xr = xp + ((b0 + t0 * g.d[0]) * g.in[1] + b1 + t1 * g.d[1]) * g.in[2];
            for (int64_t t2 = l2; t2 < h2; t2++) sum += pow_p(load(xr[b2 + t2 * g.d[2]]), p);
          }
        y[r * g.out[2] + o2] = store<T>(root_p(sum, p));
      }
    }
  });
  return MX_OK;
}

template <class T> int global_lp_pool(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  const int64_t p = mx_attr_int(ctx->attrs, "p", 2);
  const int64_t planes = X.shape[0] * X.shape[1], n = planes ? numel(X) / planes : 0;
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, planes, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, n)), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      double s = 0;
      for (int64_t i = 0; i < n; i++) s += pow_p((double)load(x[c * n + i]), p);
      y[c] = store<T>(root_p(s, p));
    }
  });
  return MX_OK;
}

template <class T> int max_unpool(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int64_t* from;
  if (mx_attr_ints(ctx->attrs, "scatter_shape", &from) != Y.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "MaxUnpool: scatter_shape must have %d dims", Y.ndim);
  int64_t total = 1;
  for (int d = 0; d < Y.ndim; d++) total *= from[d];
  const T* x = static_cast<const T*>(X.data);
  const int64_t* ind = static_cast<const int64_t*>(ctx->inputs[1].data);
  T* y = static_cast<T*>(Y.data);
  std::memset(y, 0, sizeof(T) * numel(Y));  // +0.0 in every float format
  for (int64_t j = 0, n = numel(X); j < n; j++) {
    int64_t at = ind[j];
    if (at < 0 || at >= total)
      return mx_fail(ctx, MX_ERR_INVALID, "MaxUnpool: index %lld is outside the unpooled shape of %lld elements", (long long)at, (long long)total);
    // unravel in scatter_shape, ravel in Y's shape
    int64_t off = 0, stride = 1;
    for (int d = Y.ndim - 1; d >= 0; d--) {
      off += at % from[d] * stride;
      at /= from[d];
      stride *= Y.shape[d];
    }
    y[off] = x[j];
  }
  return MX_OK;
}

}  // namespace

#define MX_VIS_POOL(T, key)                              \
  MX_KERNEL("LpPool", key, lp_pool<T>);                  \
  MX_KERNEL("GlobalLpPool", key, global_lp_pool<T>);     \
  MX_KERNEL("MaxUnpool", key, max_unpool<T>);
MX_VIS_POOL(float, "float32")
MX_VIS_POOL(double, "float64")
MX_VIS_POOL(f16, "float16")
MX_VIS_POOL(bf16, "bfloat16")
#undef MX_VIS_POOL

}  // namespace mxcpu
