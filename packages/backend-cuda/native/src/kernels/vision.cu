// Sampling at computed coordinates, one thread per output element; coordinates,
// weights and ROI geometry in double, as @mx/backend-cpu computes them.
//   GridSample: Y[n, c, p] samples X[n, c] (any number of spatial dims) at grid[n, p],
//     whose last dim holds normalized (x, y, z...) = spatial axes n-1, n-2, ...
//     A coordinate g becomes v = (g + 1) / 2 * (L - 1) with align_corners, else
//     ((g + 1) * L - 1) / 2. nearest first rounds v half to even. A v outside
//     [-0.5, L - 0.5] ([0, L - 1] with align_corners) is clamped to [0, L - 1]
//     (border) or reflected into that range (reflection). nearest then reads index
//     v, linear the 2 and cubic (Keys, A = -0.75) the 4 indices around floor(v);
//     an index outside the axis reads 0 (zeros), the clamped index (border) or the
//     reflected index (reflection). The grid may be float32, float64 or float16
//     whatever X's float dtype.
//   AffineGrid: grid[n, p] = theta[n] @ (x, y[, z], 1), where an axis of size L has
//     base coordinates -1 + (2i + 1) / L, or with align_corners -1 + 2i / (L - 1)
//     (-1 when L = 1); one thread per grid point.
//   MaxRoiPool: rois [R, 5] = (batch, x1, y1, x2, y2). The corners times
//     spatial_scale are rounded half away from zero; the ROI spans at least 1x1
//     pixels (x2 - x1 + 1 wide). Bin (ph, pw) covers rows floor(ph * h / PH) ..
//     ceil((ph + 1) * h / PH) - 1 from the ROI's start, clipped to X (likewise
//     columns), and takes their max; an empty bin gives 0.
//   RoiAlign: rois [R, 4] = (x1, y1, x2, y2) with batch_indices [R]. Corners are
//     scaled by spatial_scale, minus 0.5 with half_pixel (output_half_pixel forces
//     the ROI to at least 1x1). Each bin samples a grid of sampling_ratio points per
//     axis (0: ceil(ROI size / bins)) at the centers of equal sub-bins. A point
//     beyond [-1, H] x [-1, W] contributes 0; others are clamped to >= 0 and
//     interpolated bilinearly (the last row/column repeats). avg: mean of the
//     points; max: max over points of the largest weighted corner (weight * value),
//     as ONNX's reference and onnxruntime do.
//   DeformConv (2 spatial dims): Conv whose taps move. Output position (i, j), tap
//     (kh, kw) of input channel c samples X[n, c] at
//       y = i * stride_h - pad_top + kh * dilation_h + offset[n, og, k, 0, i, j]
//       x = j * stride_w - pad_left + kw * dilation_w + offset[n, og, k, 1, i, j]
//     bilinearly (neighbors outside X read 0), times mask[n, og, k, i, j] (1 when
//     absent), where og = c / (C / offset_group) and k = kh * kW + kw; then Y[n, m] =
//     B[m] + sum over the channels of m's group and the taps of W * sample. Computed
//     in X's compute type (float for 16-bit floats, as the cpu's), one thread per
//     output element gathering its taps (simple, not fast).
// A ROI's batch index outside [0, N) fails before anything is written (a check on
// the device that waits for the stream).
#include <cstring>

#include "common.cuh"

namespace mxcuda {
namespace {

// A device value as a double on the host (error messages).
template <class T> double host_double(T v) {
  if constexpr (std::is_same<T, f16>::value) return (double)__half2float(v);
  else if constexpr (std::is_same<T, bf16>::value) return (double)__bfloat162float(v);
  else return (double)v;
}

// ---- GridSample
enum GridPad { kZeros, kBorder, kReflection };
struct GridGeom {
  int n, mode, pad;  // spatial dims; mode 0 nearest, 1 linear, 2 cubic
  bool align;
  int64_t C, P, plane;  // channels, output positions per (n, c), input elements per (n, c)
  int64_t len[MX_MAX_DIMS], stride[MX_MAX_DIMS];
};

// Reflects x into [lo, hi] by the nearer border, repeatedly.
__device__ __forceinline__ double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo || x > hi) {
    const double dx = x < lo ? lo - x : x - hi;
    const double n = floor(dx / range), r = dx - n * range;
    const bool even = fmod(n, 2.0) == 0;
    return x < lo ? (even ? lo + r : hi - r) : (even ? hi - r : lo + r);
  }
  return x;
}
__device__ __forceinline__ double keys_cubic(double t) {
  constexpr double A = -0.75;
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

template <class T, class G>
__global__ void k_grid_sample(GridGeom g, const T* __restrict__ x, const G* __restrict__ grid, T* __restrict__ y, int64_t total) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  const int taps = g.mode == 0 ? 1 : g.mode == 1 ? 2 : 4;
  MXC_GRID_LOOP(e, total) {
    const int64_t p = e % g.P, q = e / g.P, nb = q / g.C;
    const G* gp = grid + (nb * g.P + p) * g.n;
    int64_t idx[MX_MAX_DIMS][4];
    double w[MX_MAX_DIMS][4];
    int64_t combos = 1;
    for (int a = 0; a < g.n; a++) {
      combos *= taps;
      const double L = (double)g.len[a], gv = (double)up(gp[g.n - 1 - a]);
      double v = g.align ? (gv + 1) / 2 * (L - 1) : ((gv + 1) * L - 1) / 2;
      const double lo = g.align ? 0 : -0.5, hi = g.align ? L - 1 : L - 0.5;
      if (g.mode == 0) v = rint(v);
      if (v < lo || v > hi) v = g.pad == kBorder ? fmin(fmax(v, 0.0), L - 1) : g.pad == kReflection ? reflect(v, lo, hi) : v;
      auto at = [&](double i) -> int64_t {
        if (g.pad == kZeros) return i >= 0 && i < L ? (int64_t)i : -1;
        if (g.pad == kBorder) return (int64_t)fmin(fmax(i, 0.0), L - 1);
        return (int64_t)trunc(reflect(i, lo, hi));
      };
      if (g.mode == 0) {
        idx[a][0] = at(trunc(v));
        w[a][0] = 1;
        continue;
      }
      const double f = floor(v), t = v - f;
      for (int k = 0; k < taps; k++) {
        const int off = g.mode == 1 ? k : k - 1;
        idx[a][k] = at(f + off);
        w[a][k] = g.mode == 1 ? (k ? t : 1 - t) : keys_cubic(fabs(off - t));
      }
    }
    const T* xp = x + q * g.plane;
    A sum = 0;
    for (int64_t m = 0; m < combos; m++) {
      int64_t off = 0, rest = m;
      double wt = 1;
      for (int a = g.n - 1; a >= 0 && off >= 0; a--) {
        const int k = int(rest % taps);
        rest /= taps;
        off = idx[a][k] < 0 ? -1 : off + idx[a][k] * g.stride[a];
        wt *= w[a][k];
      }
      if (off >= 0) sum += A(wt) * A(up(xp[off]));
    }
    y[e] = convert<T>(sum);
  }
}
template <class T, class G> int grid_sample(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const char *m = mx_attr_string(ctx->attrs, "mode", "linear"), *pm = mx_attr_string(ctx->attrs, "padding_mode", "zeros");
  GridGeom g{};
  g.mode = !std::strcmp(m, "nearest") ? 0 : !std::strcmp(m, "linear") ? 1 : !std::strcmp(m, "cubic") ? 2 : -1;
  g.pad = !std::strcmp(pm, "zeros") ? kZeros : !std::strcmp(pm, "border") ? kBorder : !std::strcmp(pm, "reflection") ? kReflection : -1;
  if (g.mode < 0 || g.pad < 0 || x.ndim < 3 || y.ndim != x.ndim)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "GridSample: mode '%s', padding_mode '%s', X of rank %d, Y of rank %d", m, pm, x.ndim, y.ndim);
  g.align = mx_attr_int(ctx->attrs, "align_corners", 0) != 0;
  g.n = x.ndim - 2;
  g.C = x.shape[1];
  g.P = g.plane = 1;
  for (int a = g.n - 1; a >= 0; a--) {
    g.len[a] = x.shape[2 + a];
    g.stride[a] = g.plane;
    g.plane *= x.shape[2 + a];
    g.P *= y.shape[2 + a];
  }
  const int64_t total = numel(y);
  if (total)
    k_grid_sample<T, G><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)x.data, (const G*)ctx->inputs[1].data, (T*)y.data,
                                                                            total);
  return MX_OK;
}

// ---- AffineGrid: Y [N, D.., n] for n = 2 or 3 spatial dims
struct AffineGeom {
  int n;
  bool align;
  int64_t P, len[3];  // points per batch entry, the spatial sizes
};
template <class T> __global__ void k_affine_grid(AffineGeom g, const T* __restrict__ theta, T* __restrict__ y, int64_t total) {
  MXC_GRID_LOOP(u, total) {
    const int64_t nb = u / g.P;
    double vec[4];  // (x, y[, z], 1): the last spatial axis first
    int64_t rest = u - nb * g.P;
    for (int a = g.n - 1; a >= 0; a--) {
      const int64_t L = g.len[a], i = rest % L;
      rest /= L;
      vec[g.n - 1 - a] = g.align ? (L == 1 ? -1.0 : -1.0 + 2.0 * (double)i / (double)(L - 1)) : -1.0 + (2.0 * (double)i + 1) / (double)L;
    }
    vec[g.n] = 1;
    const T* th = theta + nb * g.n * (g.n + 1);
    for (int k = 0; k < g.n; k++) {
      double s = 0;
      for (int j = 0; j <= g.n; j++) s += (double)up(th[k * (g.n + 1) + j]) * vec[j];
      y[u * g.n + k] = convert<T>(ct<T>(s));
    }
  }
}
template <class T> int affine_grid(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  AffineGeom g{};
  g.n = y.ndim - 2;
  if (g.n < 2 || g.n > 3 || y.shape[y.ndim - 1] != g.n)
    return mx_fail(ctx, MX_ERR_INVALID, "AffineGrid: the grid must be [N, H, W, 2] or [N, D, H, W, 3] (rank %d)", y.ndim);
  g.align = mx_attr_int(ctx->attrs, "align_corners", 0) != 0;
  g.P = 1;
  for (int a = 0; a < g.n; a++) g.P *= g.len[a] = y.shape[1 + a];
  const int64_t total = y.shape[0] * g.P;
  if (total)
    k_affine_grid<T><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)ctx->inputs[0].data, (T*)y.data, total);
  return MX_OK;
}

// ---- ROI pools on X [N, C, H, W], Y [R, C, PH, PW]
struct RoiGeom {
  int64_t C, H, W, PH, PW;
  double scale;
};
__device__ __forceinline__ double round_away(double v) { return v < 0 ? -floor(-v + 0.5) : floor(v + 0.5); }

// Position p of rois [R, 5] is a batch index (p % 5 == 0) outside [0, N).
struct RoiBatchOutside {
  int64_t n;
  template <class T> __device__ __forceinline__ bool operator()(int64_t p, T v) const {
    const double b = trunc((double)up(v));
    return p % 5 == 0 && !(b >= 0 && b < (double)n);
  }
};
template <class T> __global__ void k_max_roi_pool(RoiGeom g, const T* __restrict__ x, const T* __restrict__ rois, T* __restrict__ y, int64_t total) {
  using C = ct<T>;
  MXC_GRID_LOOP(e, total) {
    const int64_t pw = e % g.PW, ph = e / g.PW % g.PH, u = e / (g.PW * g.PH), r = u / g.C, c = u - r * g.C;
    const T* roi = rois + r * 5;
    const int64_t b = (int64_t)trunc((double)up(roi[0]));
    const int64_t x1 = (int64_t)round_away((double)up(roi[1]) * g.scale), y1 = (int64_t)round_away((double)up(roi[2]) * g.scale);
    const int64_t x2 = (int64_t)round_away((double)up(roi[3]) * g.scale), y2 = (int64_t)round_away((double)up(roi[4]) * g.scale);
    const double bh = (double)(y2 - y1 + 1 > 1 ? y2 - y1 + 1 : 1) / (double)g.PH, bw = (double)(x2 - x1 + 1 > 1 ? x2 - x1 + 1 : 1) / (double)g.PW;
    auto clip = [](int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; };
    const int64_t hs = clip((int64_t)floor(ph * bh) + y1, g.H), he = clip((int64_t)ceil((ph + 1) * bh) + y1, g.H);
    const int64_t ws = clip((int64_t)floor(pw * bw) + x1, g.W), we = clip((int64_t)ceil((pw + 1) * bw) + x1, g.W);
    const T* plane = x + (b * g.C + c) * g.H * g.W;
    C m = 0;
    bool any = false;
    for (int64_t h = hs; h < he; h++)
      for (int64_t w = ws; w < we; w++) {
        const C v = up(plane[h * g.W + w]);
        if (!any || v > m) m = v;
        any = true;
      }
    y[e] = convert<T>(m);
  }
}
template <class T> int max_roi_pool(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &rois = ctx->inputs[1], &y = ctx->outputs[0];
  if (x.ndim != 4 || y.ndim != 4 || rois.ndim != 2 || rois.shape[1] != 5 || rois.shape[0] != y.shape[0])
    return mx_fail(ctx, MX_ERR_INVALID, "MaxRoiPool: X and Y must be 4-D and rois [%lld, 5] (ranks %d, %d, %d)", (long long)y.shape[0], x.ndim,
                   y.ndim, rois.ndim);
  int64_t bad;
  T v{};
  if (int st = first_bad(ctx, "MaxRoiPool batch index check", (const T*)rois.data, numel(rois), RoiBatchOutside{x.shape[0]}, &bad, &v)) return st;
  if (bad >= 0)
    return mx_fail(ctx, MX_ERR_INVALID, "MaxRoiPool: ROI %lld has batch index %g, outside [0, %lld)", (long long)(bad / 5), host_double(v),
                   (long long)x.shape[0]);
  const RoiGeom g{x.shape[1], x.shape[2], x.shape[3], y.shape[2], y.shape[3], mx_attr_float(ctx->attrs, "spatial_scale", 1.0)};
  const int64_t total = numel(y);
  if (total)
    k_max_roi_pool<T><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)x.data, (const T*)rois.data, (T*)y.data, total);
  return MX_OK;
}

struct BatchOutside {
  int64_t n;
  __device__ __forceinline__ bool operator()(int64_t, int64_t v) const { return v < 0 || v >= n; }
};
template <class T>
__global__ void k_roi_align(RoiGeom g, const T* __restrict__ x, const T* __restrict__ rois, const int64_t* __restrict__ batch, T* __restrict__ y,
                            int64_t ratio, bool half, bool avg, int64_t total) {
  MXC_GRID_LOOP(e, total) {
    const int64_t pw = e % g.PW, ph = e / g.PW % g.PH, u = e / (g.PW * g.PH), r = u / g.C, c = u - r * g.C;
    const double off = half ? 0.5 : 0.0;
    const double x1 = (double)up(rois[r * 4]) * g.scale - off, y1 = (double)up(rois[r * 4 + 1]) * g.scale - off;
    double rw = (double)up(rois[r * 4 + 2]) * g.scale - off - x1, rh = (double)up(rois[r * 4 + 3]) * g.scale - off - y1;
    if (!half) rw = fmax(rw, 1.0), rh = fmax(rh, 1.0);
    const double bh = rh / (double)g.PH, bw = rw / (double)g.PW;
    const int64_t gh = ratio > 0 ? ratio : (int64_t)ceil(rh / (double)g.PH);
    const int64_t gw = ratio > 0 ? ratio : (int64_t)ceil(rw / (double)g.PW);
    const double count = (double)(gh * gw > 1 ? gh * gw : 1);
    const T* plane = x + (batch[r] * g.C + c) * g.H * g.W;
    auto at = [&](int64_t yy, int64_t xx) { return (double)up(plane[yy * g.W + xx]); };
    double acc = 0;
    for (int64_t iy = 0; iy < gh; iy++)
      for (int64_t ix = 0; ix < gw; ix++) {
        double sy = y1 + ph * bh + (iy + 0.5) * bh / (double)gh;
        double sx = x1 + pw * bw + (ix + 0.5) * bw / (double)gw;
        double v[4] = {0, 0, 0, 0};
        if (!(sy < -1.0 || sy > (double)g.H || sx < -1.0 || sx > (double)g.W)) {
          sy = fmax(sy, 0.0), sx = fmax(sx, 0.0);
          int64_t yl = (int64_t)sy, xl = (int64_t)sx, yh = yl + 1, xh = xl + 1;
          if (yl >= g.H - 1) yl = yh = g.H - 1, sy = (double)yl;
          if (xl >= g.W - 1) xl = xh = g.W - 1, sx = (double)xl;
          const double ly = sy - (double)yl, lx = sx - (double)xl;
          v[0] = (1 - ly) * (1 - lx) * at(yl, xl), v[1] = (1 - ly) * lx * at(yl, xh);
          v[2] = ly * (1 - lx) * at(yh, xl), v[3] = ly * lx * at(yh, xh);
        }
        if (avg) {
          acc += v[0] + v[1] + v[2] + v[3];
        } else {
          const double m = fmax(fmax(v[0], v[1]), fmax(v[2], v[3]));
          acc = iy == 0 && ix == 0 ? m : fmax(acc, m);
        }
      }
    y[e] = convert<T>(ct<T>(avg ? acc / count : acc));
  }
}
template <class T> int roi_align(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &rois = ctx->inputs[1], &batch = ctx->inputs[2], &y = ctx->outputs[0];
  if (x.ndim != 4 || y.ndim != 4 || rois.ndim != 2 || rois.shape[1] != 4 || rois.shape[0] != y.shape[0] || numel(batch) != y.shape[0])
    return mx_fail(ctx, MX_ERR_INVALID, "RoiAlign: X and Y must be 4-D, rois [%lld, 4] and batch_indices [%lld] (ranks %d, %d, %d)",
                   (long long)y.shape[0], (long long)y.shape[0], x.ndim, y.ndim, rois.ndim);
  int64_t bad, v = 0;
  if (int st = first_bad(ctx, "RoiAlign batch index check", (const int64_t*)batch.data, numel(batch), BatchOutside{x.shape[0]}, &bad, &v))
    return st;
  if (bad >= 0)
    return mx_fail(ctx, MX_ERR_INVALID, "RoiAlign: ROI %lld has batch index %lld, outside [0, %lld)", (long long)bad, (long long)v,
                   (long long)x.shape[0]);
  const RoiGeom g{x.shape[1], x.shape[2], x.shape[3], y.shape[2], y.shape[3], mx_attr_float(ctx->attrs, "spatial_scale", 1.0)};
  const bool half = !std::strcmp(mx_attr_string(ctx->attrs, "coordinate_transformation_mode", "half_pixel"), "half_pixel");
  const bool avg = !std::strcmp(mx_attr_string(ctx->attrs, "mode", "avg"), "avg");
  const int64_t total = numel(y);
  if (total)
    k_roi_align<T><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)x.data, (const T*)rois.data, (const int64_t*)batch.data,
                                                                     (T*)y.data, mx_attr_int(ctx->attrs, "sampling_ratio", 0), half, avg, total);
  return MX_OK;
}

// ---- DeformConv
struct DeformGeom {
  int64_t N, C, H, W, M, Cg, kH, kW, oH, oW, Mg, per_og, OG, s[2], d[2], p[2];
};
template <class A, class T> __device__ __forceinline__ A bilinear_zero(const T* plane, int64_t H, int64_t W, A y, A x) {
  const A fy = floor(y), fx = floor(x);
  const int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
  const A ly = y - fy, lx = x - fx;
  auto at = [&](int64_t yy, int64_t xx) { return yy >= 0 && yy < H && xx >= 0 && xx < W ? A(up(plane[yy * W + xx])) : A(0); };
  return (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) + ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
}
template <class T>
__global__ void k_deform_conv(DeformGeom g, const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ offset, const T* __restrict__ b,
                              const T* __restrict__ mask, T* __restrict__ y, int64_t total) {
  using A = ct<T>;
  const int64_t P = g.oH * g.oW, K = g.kH * g.kW;
  MXC_GRID_LOOP(e, total) {
    const int64_t q = e % P, m = e / P % g.M, n = e / (P * g.M), i = q / g.oW, j = q - i * g.oW, grp = m / g.Mg;
    A acc = b ? A(up(b[m])) : A(0);
    for (int64_t cl = 0; cl < g.Cg; cl++) {
      const int64_t c = grp * g.Cg + cl, og = c / g.per_og;
      const T* plane = x + (n * g.C + c) * g.H * g.W;
      for (int64_t k = 0; k < K; k++) {
        const int64_t kh = k / g.kW, kw = k - kh * g.kW;
        const T* dy = offset + ((n * g.OG + og) * K + k) * 2 * P;
        const A v = bilinear_zero<A>(plane, g.H, g.W, A(i * g.s[0] - g.p[0] + kh * g.d[0]) + A(up(dy[q])),
                                     A(j * g.s[1] - g.p[1] + kw * g.d[1]) + A(up(dy[P + q])));
        const A s = mask ? v * A(up(mask[((n * g.OG + og) * K + k) * P + q])) : v;
        acc += A(up(w[(m * g.Cg + cl) * K + k])) * s;
      }
    }
    y[e] = convert<T>(acc);
  }
}
template <class T> int deform_conv(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &wt = ctx->inputs[1], &y = ctx->outputs[0];
  const T* bias = ctx->num_inputs > 3 && ctx->inputs[3].data ? (const T*)ctx->inputs[3].data : nullptr;
  const T* mask = ctx->num_inputs > 4 && ctx->inputs[4].data ? (const T*)ctx->inputs[4].data : nullptr;
  const int64_t *s, *d, *p;
  if (x.ndim != 4 || wt.ndim != 4 || y.ndim != 4 || mx_attr_ints(ctx->attrs, "strides", &s) != 2 || mx_attr_ints(ctx->attrs, "dilations", &d) != 2 ||
      mx_attr_ints(ctx->attrs, "pads", &p) != 4)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "DeformConv: needs X of rank 4 and explicit strides, dilations, pads (X rank %d)", x.ndim);
  DeformGeom g{};
  g.N = x.shape[0], g.C = x.shape[1], g.H = x.shape[2], g.W = x.shape[3];
  g.M = wt.shape[0], g.Cg = wt.shape[1], g.kH = wt.shape[2], g.kW = wt.shape[3];
  g.oH = y.shape[2], g.oW = y.shape[3];
  g.Mg = g.M / std::max<int64_t>(1, mx_attr_int(ctx->attrs, "group", 1));
  g.OG = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "offset_group", 1));
  g.per_og = g.C / g.OG;
  if (!g.Mg || !g.per_og) return mx_fail(ctx, MX_ERR_INVALID, "DeformConv: %lld outputs or %lld channels do not fill the groups", (long long)g.M, (long long)g.C);
  for (int a = 0; a < 2; a++) g.s[a] = s[a], g.d[a] = d[a], g.p[a] = p[a];
  const int64_t total = numel(y);
  if (total)
    k_deform_conv<T><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)x.data, (const T*)wt.data, (const T*)ctx->inputs[2].data, bias,
                                                                       mask, (T*)y.data, total);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

// GridSample's key is "T1,T2": X's dtype, then the grid's (float32, float64 or float16).
#define REG_VISION(T, key, ...)                                     \
  MXC_KERNEL("GridSample", key ",float32", (grid_sample<T, float>)); \
  MXC_KERNEL("GridSample", key ",float64", (grid_sample<T, double>)); \
  MXC_KERNEL("GridSample", key ",float16", (grid_sample<T, f16>));   \
  MXC_KERNEL("MaxRoiPool", key, (max_roi_pool<T>));                 \
  MXC_KERNEL("RoiAlign", key, (roi_align<T>));                     \
  MXC_KERNEL("AffineGrid", key, (affine_grid<T>));                 \
  MXC_KERNEL("DeformConv", key, (deform_conv<T>));
MXC_FLOAT_TYPES(REG_VISION, _)
