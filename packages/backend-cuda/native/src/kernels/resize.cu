// Resize, as core's reference and @mx/backend-cpu compute it. Core folded the value
// inputs: `scales` (one per axis, 1 where not resized) and, for
// tf_crop_and_resize, `roi` (starts then ends, one per axis); Y has its final shape.
//
// Per axis, output position x maps to the input coordinate xo by
// coordinate_transformation_mode, with `scale` and the float output length
// outF = scale * in:
//   half_pixel (x + 0.5) / scale - 0.5;  asymmetric x / scale;
//   half_pixel_symmetric in / 2 * (1 - out / outF) + (x + 0.5) / scale - 0.5;
//   pytorch_half_pixel as half_pixel, 0 when out = 1;
//   align_corners x * (in - 1) / (outF - 1), 0 when outF = 1;
//   tf_crop_and_resize start * (in - 1) + x * (end - start) * (in - 1) / (outF - 1)
//     ((end - start) * (in - 1) / 2 when outF = 1); outside [0, in - 1] the output
//     is extrapolation_value;
//   tf_half_pixel_for_nn (x + 0.5) / scale.
// The coordinates are computed in double with every product rounded on its own
// (no fused multiply-add), as on the host, so nearest picks the indices the cpu
// backend picks.
// nearest: one thread per output element reads X at each axis's index by
// nearest_mode (an integral xo reads itself), clamped to the axis.
// linear (support 1) and cubic (support 2): one pass per resized axis, one thread
// per element of the pass's output; with i0 = ceil(xo) - 1 and r = xo - i0 in
// (0, 1], it reads the indices i0 + i for i in [start, 1 - start], start =
// floor(-support / s) + 1, s = min(scale, 1) with antialias and 1 otherwise,
// weighted kernel(s * |i - r|) (the triangle, or Keys' cubic with cubic_coeff_a);
// antialias and exclude_outside (which zeroes the weights of indices outside the
// axis) renormalize the weights; indices clamp to the axis. Passes compute in float
// (double for float64 and the integers) and keep intermediate results in that type
// (two scratch buffers from the stream-ordered pool when there are several
// passes); the last pass converts to Y's dtype (integers truncate toward zero).
// An axis whose taps read every position's own index with weight 1 is skipped, as
// on the cpu (the host decides that with the same arithmetic).
#include <algorithm>
#include <cstring>

#include "common.cuh"

namespace mxcuda {
namespace {

enum Coord { kHalfPixel, kHalfPixelSymmetric, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfCropAndResize, kTfHalfPixelForNN };
enum Interp { kNearest, kLinear, kCubic };
enum NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };

struct ResizeMode {
  int interp, coord, nearest;
  double a, extrapolation;
  bool antialias, exclude;
};
struct ResizeAxis {
  int64_t in, out;
  double scale, roi0, roi1;
};

// Products rounded on their own on the device (nvcc would otherwise fuse a * b + c).
__host__ __device__ __forceinline__ double dmul(double a, double b) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// The input coordinate of output position x; *outside: beyond tf_crop_and_resize's crop.
__host__ __device__ __forceinline__ double source_coord(const ResizeAxis& ax, const ResizeMode& m, int64_t x, bool* outside) {
  const double xd = (double)x, in = (double)ax.in, outF = dmul(ax.scale, in);
  double xo;
  switch (m.coord) {
    case kHalfPixel: xo = (xd + 0.5) / ax.scale - 0.5; break;
    case kHalfPixelSymmetric: xo = dmul(in / 2, 1 - (double)ax.out / outF) + (xd + 0.5) / ax.scale - 0.5; break;
    case kPytorchHalfPixel: xo = ax.out > 1 ? (xd + 0.5) / ax.scale - 0.5 : 0; break;
    case kAlignCorners: xo = outF == 1 ? 0 : dmul(xd, in - 1) / (outF - 1); break;
    case kAsymmetric: xo = xd / ax.scale; break;
    case kTfHalfPixelForNN: xo = (xd + 0.5) / ax.scale; break;
    default:
      xo = (outF == 1 ? dmul(ax.roi1 - ax.roi0, in - 1) / 2 : dmul(dmul(xd, ax.roi1 - ax.roi0), in - 1) / (outF - 1)) + dmul(ax.roi0, in - 1);
  }
  *outside = m.coord == kTfCropAndResize && (xo < 0 || xo > in - 1);
  return xo;
}

__host__ __device__ __forceinline__ int64_t clamp_index(double v, int64_t in) {
  return !(v > 0) ? 0 : v >= (double)(in - 1) ? in - 1 : (int64_t)v;  // NaN: 0
}

__host__ __device__ __forceinline__ int64_t nearest_index(double xo, int64_t in, int mode) {
  const double f = floor(xo), r = xo - f;
  const bool up = r > 0 && (mode == kCeil || (mode == kRoundPreferFloor && r > 0.5) || (mode == kRoundPreferCeil && r >= 0.5));
  return clamp_index(up ? f + 1 : f, in);
}

__host__ __device__ __forceinline__ double keys_cubic(double t, double A) {
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

// The taps of one output position of a linear/cubic axis: `width` of them from
// index i0 + start; tap(k, &index) gives the weight (before normalization by `norm`).
struct Taps {
  double i0, r, s, norm;
  int64_t start, width;
  __host__ __device__ __forceinline__ double weight(const ResizeAxis& ax, const ResizeMode& m, int64_t k, int64_t* index) const {
    const int64_t i = start + k;
    const double d = fabs(s * ((double)i - r)), j = i0 + (double)i;
    double w = m.interp == kLinear ? (1 - d > 0 ? 1 - d : 0) : keys_cubic(d, m.a);
    if (m.exclude && (j < 0 || j >= (double)ax.in)) w = 0;
    *index = clamp_index(j, ax.in);
    return w;
  }
};
__host__ __device__ __forceinline__ Taps taps_of(const ResizeAxis& ax, const ResizeMode& m, double xo) {
  Taps t;
  const double support = m.interp == kLinear ? 1 : 2;
  t.s = m.antialias && ax.scale < 1 ? ax.scale : 1;
  t.start = (int64_t)floor(-support / t.s) + 1;
  t.width = 2 - 2 * t.start;
  t.i0 = xo == floor(xo) ? xo - 1 : floor(xo);
  t.r = xo - t.i0;
  t.norm = 1;
  if (m.antialias || m.exclude) {
    double sum = 0;
    int64_t index;
    for (int64_t k = 0; k < t.width; k++) sum += t.weight(ax, m, k, &index);
    t.norm = sum;
  }
  return t;
}

// Whether an axis leaves X as it is: every output position in range and reading
// its own index with weight 1 (and the others with 0).
bool identity_axis(const ResizeAxis& ax, const ResizeMode& m) {
  if (ax.in != ax.out) return false;
  for (int64_t x = 0; x < ax.out; x++) {
    bool outside;
    const double xo = source_coord(ax, m, x, &outside);
    if (outside) return false;
    const Taps t = taps_of(ax, m, xo);
    double own = 0, other = 0;
    for (int64_t k = 0; k < t.width; k++) {
      int64_t index;
      const double w = fabs(t.weight(ax, m, k, &index) / t.norm);
      (index == x ? own : other) += w;
    }
    if (own != 1 || other != 0) return false;
  }
  return true;
}

struct NearestGeom {
  int nd;
  ResizeAxis ax[MX_MAX_DIMS];
  int64_t xs[MX_MAX_DIMS];
};
template <class T>
__global__ void k_resize_nearest(const T* __restrict__ x, T* __restrict__ y, NearestGeom g, ResizeMode m, int64_t total) {
  const T fill = convert<T>(m.extrapolation);
  MXC_GRID_LOOP(e, total) {
    int64_t q = e, off = 0;
    bool outside = false;
    for (int d = g.nd - 1; d >= 0; d--) {
      const int64_t o = q % g.ax[d].out;
      q /= g.ax[d].out;
      bool out_d;
      const double xo = source_coord(g.ax[d], m, o, &out_d);
      outside = outside || out_d;
      off += nearest_index(xo, g.ax[d].in, m.nearest) * g.xs[d];
    }
    y[e] = outside ? fill : x[off];
  }
}

// One linear/cubic pass over axis `ax` of src viewed as [outer, ax.in, inner] into
// dst [outer, ax.out, inner], in compute type C.
template <class C, class S, class D>
__global__ void k_resize_pass(const S* __restrict__ src, D* __restrict__ dst, ResizeAxis ax, ResizeMode m, int64_t inner, int64_t total) {
  MXC_GRID_LOOP(e, total) {
    const int64_t q = e / inner, i = e - q * inner, o = q % ax.out, outer = q / ax.out;
    bool outside;
    const double xo = source_coord(ax, m, o, &outside);
    C v;
    if (outside) {
      v = C(m.extrapolation);
    } else {
      const Taps t = taps_of(ax, m, xo);
      const S* line = src + outer * ax.in * inner + i;
      v = C(0);
      for (int64_t k = 0; k < t.width; k++) {
        int64_t index;
        const double w = t.weight(ax, m, k, &index) / t.norm;
        v += C(w) * C(up(line[index * inner]));
      }
    }
    dst[e] = convert<D>(v);
  }
}

template <class T> int resize(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const auto pick = [&](const char* name, const char* dflt, const char* const* names, int count, int* out) {
    const char* v = mx_attr_string(ctx->attrs, name, dflt);
    for (int i = 0; i < count; i++)
      if (!std::strcmp(v, names[i])) return *out = i, true;
    return false;
  };
  static const char* const interps[] = {"nearest", "linear", "cubic"};
  static const char* const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                       "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn"};
  static const char* const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  ResizeMode m{};
  if (!pick("mode", "nearest", interps, 3, &m.interp) || !pick("coordinate_transformation_mode", "half_pixel", coords, 7, &m.coord) ||
      !pick("nearest_mode", "round_prefer_floor", nearests, 4, &m.nearest))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Resize: mode '%s', coordinate_transformation_mode '%s' or nearest_mode '%s' is unknown",
                   mx_attr_string(ctx->attrs, "mode", "nearest"), mx_attr_string(ctx->attrs, "coordinate_transformation_mode", "half_pixel"),
                   mx_attr_string(ctx->attrs, "nearest_mode", "round_prefer_floor"));
  m.a = mx_attr_float(ctx->attrs, "cubic_coeff_a", -0.75);
  m.extrapolation = mx_attr_float(ctx->attrs, "extrapolation_value", 0.0);
  m.antialias = mx_attr_int(ctx->attrs, "antialias", 0) != 0;
  m.exclude = mx_attr_int(ctx->attrs, "exclude_outside", 0) != 0;
  const double *scales, *roi = nullptr;
  const int r = X.ndim;
  const bool crop = m.coord == kTfCropAndResize;
  if (attr_numbers(ctx->attrs, "scales", &scales) != r || (crop && attr_numbers(ctx->attrs, "roi", &roi) != 2 * r) || Y.ndim != r)
    return mx_fail(ctx, MX_ERR_INVALID, "Resize: needs `scales` with %d values (and `roi` with %d for tf_crop_and_resize) and Y of rank %d", r,
                   2 * r, r);
  const int64_t total = numel(Y);
  if (!total) return MX_OK;
  if (!numel(X)) return mx_fail(ctx, MX_ERR_INVALID, "Resize: X is empty but Y has %lld elements", (long long)total);
  ResizeAxis ax[MX_MAX_DIMS];
  for (int d = 0; d < r; d++) {
    ax[d] = ResizeAxis{X.shape[d], Y.shape[d], scales[d], crop ? roi[d] : 0.0, crop ? roi[d + r] : 1.0};
    if (!(scales[d] > 0)) return mx_fail(ctx, MX_ERR_INVALID, "Resize: scale %g of axis %d is not positive", scales[d], d);
  }
  const cudaStream_t s = stream_of(ctx);
  if (m.interp == kNearest) {
    NearestGeom g{};
    g.nd = r;
    strides_of(X.shape, r, g.xs);
    for (int d = 0; d < r; d++) g.ax[d] = ax[d];
    k_resize_nearest<T><<<blocks_for(total), kThreads, 0, s>>>((const T*)X.data, (T*)Y.data, g, m, total);
    return MX_OK;
  }

  using C = std::conditional_t<std::is_same<ct<T>, float>::value, float, double>;
  int axes[MX_MAX_DIMS], passes = 0;
  for (int d = 0; d < r; d++)
    if (!identity_axis(ax[d], m)) axes[passes++] = d;
  if (!passes) {  // Y = X
    const cudaError_t e = cudaMemcpyAsync(Y.data, X.data, (size_t)total * sizeof(T), cudaMemcpyDeviceToDevice, s);
    return e == cudaSuccess ? MX_OK : cuda_fail(ctx, e, "Resize copy");
  }
  // Shapes after each pass; the intermediate results (all but the last) live in scratch.
  int64_t shape[MX_MAX_DIMS], biggest = 0;
  for (int d = 0; d < r; d++) shape[d] = X.shape[d];
  for (int p = 0; p + 1 < passes; p++) {
    shape[axes[p]] = Y.shape[axes[p]];
    int64_t n = 1;
    for (int d = 0; d < r; d++) n *= shape[d];
    biggest = std::max(biggest, n);
  }
  C* buf = nullptr;
  if (biggest) {
    if (int st = scratch_alloc(ctx, "Resize", 2 * (size_t)biggest * sizeof(C), (void**)&buf)) return st;
  }
  for (int d = 0; d < r; d++) shape[d] = X.shape[d];
  const C* cur = nullptr;
  for (int p = 0; p < passes; p++) {
    const int d = axes[p];
    int64_t inner = 1, n = Y.shape[d];
    for (int k = d + 1; k < r; k++) inner *= shape[k];
    for (int k = 0; k < d; k++) n *= shape[k];
    n *= inner;
    shape[d] = Y.shape[d];
    const bool first = p == 0, last = p + 1 == passes;
    C* next = last ? nullptr : buf + (p % 2) * biggest;
    const unsigned b = blocks_for(n);
    if (first && last) k_resize_pass<C, T, T><<<b, kThreads, 0, s>>>((const T*)X.data, (T*)Y.data, ax[d], m, inner, n);
    else if (first) k_resize_pass<C, T, C><<<b, kThreads, 0, s>>>((const T*)X.data, next, ax[d], m, inner, n);
    else if (last) k_resize_pass<C, C, T><<<b, kThreads, 0, s>>>(cur, (T*)Y.data, ax[d], m, inner, n);
    else k_resize_pass<C, C, C><<<b, kThreads, 0, s>>>(cur, next, ax[d], m, inner, n);
    cur = next;
  }
  return scratch_free(ctx, "Resize", buf);
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_RESIZE(T, key, ...) MXC_KERNEL("Resize", key, (resize<T>));
MXC_NUMERIC_TYPES(REG_RESIZE, _)
