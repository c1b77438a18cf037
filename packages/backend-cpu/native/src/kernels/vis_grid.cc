// Sampling grids.
//   GridSample: Y[n, c, p] samples X[n, c] (any number of spatial dims) at grid[n, p],
//     whose last dim holds normalized (x, y, z...) = spatial axes n-1, n-2, ...
//     A coordinate g becomes v = (g + 1) / 2 * (L - 1) with align_corners, else
//     ((g + 1) * L - 1) / 2. nearest first rounds v half to even. A v outside
//     [-0.5, L - 0.5] ([0, L - 1] with align_corners) is clamped to [0, L - 1]
//     (border) or reflected into that range (reflection). nearest then reads index
//     v, linear the 2 and cubic (Keys, A = -0.75) the 4 indices around floor(v);
//     an index outside the axis reads 0 (zeros), the clamped index (border) or the
//     reflected index (reflection). Coordinates are computed in double.
//   AffineGrid: grid[n, p] = theta[n] @ (x, y[, z], 1), where an axis of size L has
//     base coordinates -1 + (2i + 1) / L, or with align_corners -1 + 2i / (L - 1)
//     (-1 when L = 1).
// 16-bit floats run widened to float (GridSample's grid may be float16 whatever X is).
#include <algorithm>
#include <cmath>
#include <string_view>

#include "gemm.h"

namespace mxcpu {
namespace {

enum padding { ZEROS, BORDER, REFLECTION };

// Reflects x into [lo, hi] by the nearer border, repeatedly.
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo || x > hi) {
    const double dx = x < lo ? lo - x : x - hi;
    const double n = std::floor(dx / range), r = dx - n * range;
    const bool even = std::fmod(n, 2.0) == 0;
    return x < lo ? (even ? lo + r : hi - r) : (even ? hi - r : lo + r);
  }
  return x;
}

double keys_cubic(double t) {
  constexpr double A = -0.75;
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

template <class T, class G> int grid_sample_typed(mx_kernel_ctx* ctx, int mode, padding pad, bool align) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int n = X.ndim - 2;
  const int64_t N = X.shape[0], C = X.shape[1];
  int64_t stride[MX_MAX_DIMS], plane = 1, P = 1;
  for (int a = n - 1; a >= 0; a--) stride[a] = plane, plane *= X.shape[2 + a];
  for (int a = 0; a < n; a++) P *= Y.shape[2 + a];
  const int taps = mode == 0 ? 1 : mode == 1 ? 2 : 4;
  int64_t combos = 1;
  for (int a = 0; a < n; a++) combos *= taps;
  const T* x = static_cast<const T*>(X.data);
  const G* grid = static_cast<const G*>(ctx->inputs[1].data);
  T* y = static_cast<T*>(Y.data);
  if (N * C * P == 0) return MX_OK;
  parallel_for(ctx->pool, N * P, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, C * combos)), [&](int64_t b, int64_t e) {
    int64_t idx[MX_MAX_DIMS][4];
    double w[MX_MAX_DIMS][4];
    for (int64_t u = b; u < e; u++) {
      const int64_t nb = u / P, p = u % P;
      for (int a = 0; a < n; a++) {
        const double L = (double)X.shape[2 + a];
        const double g = (double)grid[u * n + (n - 1 - a)];
        double v = align ? (g + 1) / 2 * (L - 1) : ((g + 1) * L - 1) / 2;
        const double lo = align ? 0 : -0.5, hi = align ? L - 1 : L - 0.5;
        if (mode == 0) v = std::nearbyint(v);
        if (v < lo || v > hi) v = pad == BORDER ? std::clamp(v, 0.0, L - 1) : pad == REFLECTION ? reflect(v, lo, hi) : v;
        const auto at = [&](double i) -> int64_t {
          if (pad == ZEROS) return i >= 0 && i < L ? (int64_t)i : -1;
          if (pad == BORDER) return (int64_t)std::clamp(i, 0.0, L - 1);
          return (int64_t)std::trunc(reflect(i, lo, hi));
        };
        if (mode == 0) {
          idx[a][0] = at(std::trunc(v)), w[a][0] = 1;
          continue;
        }
        const double f = std::floor(v), t = v - f;
        for (int k = 0; k < taps; k++) {
          const int off = mode == 1 ? k : k - 1;
          idx[a][k] = at(f + off);
          w[a][k] = mode == 1 ? (k ? t : 1 - t) : keys_cubic(std::fabs(off - t));
        }
      }
      for (int64_t c = 0; c < C; c++) {
        const T* xp = x + (nb * C + c) * plane;
        double sum = 0;
        for (int64_t m = 0; m < combos; m++) {
          int64_t off = 0, rest = m;
          double wt = 1;
          for (int a = n - 1; a >= 0 && off >= 0; a--) {
            const int k = int(rest % taps);
            rest /= taps;
            off = idx[a][k] < 0 ? -1 : off + idx[a][k] * stride[a];
            wt *= w[a][k];
          }
          if (off >= 0) sum += wt * (double)xp[off];
        }
        y[(nb * C + c) * P + p] = (T)sum;
      }
    }
  });
  return MX_OK;
}

int grid_sample(mx_kernel_ctx* ctx) {
  const std::string_view m = mx_attr_string(ctx->attrs, "mode", "linear"), pm = mx_attr_string(ctx->attrs, "padding_mode", "zeros");
  const int mode = m == "nearest" ? 0 : m == "linear" ? 1 : m == "cubic" ? 2 : -1;
  const padding pad = pm == "border" ? BORDER : pm == "reflection" ? REFLECTION : ZEROS;
  const bool align = mx_attr_int(ctx->attrs, "align_corners", 0) != 0;
  if (mode < 0 || (pad == ZEROS && pm != "zeros") || ctx->inputs[0].ndim - 2 > MX_MAX_DIMS)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "GridSample: mode '%s', padding_mode '%s'", m.data(), pm.data());
  const bool xd = ctx->inputs[0].dtype == MX_FLOAT64, gd = ctx->inputs[1].dtype == MX_FLOAT64;
  return xd ? (gd ? grid_sample_typed<double, double>(ctx, mode, pad, align) : grid_sample_typed<double, float>(ctx, mode, pad, align))
            : (gd ? grid_sample_typed<float, double>(ctx, mode, pad, align) : grid_sample_typed<float, float>(ctx, mode, pad, align));
}

int grid_sample_entry(mx_kernel_ctx* ctx) { return run_widened(ctx, grid_sample); }

template <class T> int affine_grid(mx_kernel_ctx* ctx) {
  const mx_tensor& Y = ctx->outputs[0];
  const int n = Y.ndim - 2;  // 2 or 3 spatial dims
  const int64_t N = Y.shape[0];
  int64_t P = 1;
  for (int a = 0; a < n; a++) P *= Y.shape[1 + a];
  const bool align = mx_attr_int(ctx->attrs, "align_corners", 0) != 0;
  const T* theta = static_cast<const T*>(ctx->inputs[0].data);
  T* y = static_cast<T*>(Y.data);
  parallel_for(ctx->pool, N * P, 4096, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; u++) {
      const int64_t nb = u / P;
      double vec[4];  // (x, y[, z], 1): the last spatial axis first
      int64_t rest = u % P;
      for (int a = n - 1; a >= 0; a--) {
        const int64_t L = Y.shape[1 + a], i = rest % L;
        rest /= L;
        vec[n - 1 - a] = align ? (L == 1 ? -1.0 : -1.0 + 2.0 * (double)i / (double)(L - 1)) : -1.0 + (2.0 * (double)i + 1) / (double)L;
      }
      vec[n] = 1;
      const T* th = theta + nb * n * (n + 1);
      for (int k = 0; k < n; k++) {
        double s = 0;
        for (int j = 0; j <= n; j++) s += (double)th[k * (n + 1) + j] * vec[j];
        y[u * n + k] = (T)s;
      }
    }
  });
  return MX_OK;
}

int affine_grid_half(mx_kernel_ctx* ctx) { return run_widened(ctx, affine_grid<float>); }

}  // namespace

#define MX_VIS_GRID(x_key)                                      \
  MX_KERNEL("GridSample", x_key ",float32", grid_sample_entry); \
  MX_KERNEL("GridSample", x_key ",float64", grid_sample_entry); \
  MX_KERNEL("GridSample", x_key ",float16", grid_sample_entry);
MX_VIS_GRID("float32")
MX_VIS_GRID("float64")
MX_VIS_GRID("float16")
MX_VIS_GRID("bfloat16")
#undef MX_VIS_GRID
MX_KERNEL("AffineGrid", "float32", affine_grid<float>);
MX_KERNEL("AffineGrid", "float64", affine_grid<double>);
MX_KERNEL("AffineGrid", "float16", affine_grid_half);
MX_KERNEL("AffineGrid", "bfloat16", affine_grid_half);

}  // namespace mxcpu
