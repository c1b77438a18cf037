// Resize: separable interpolation, one axis at a time. Core folded the value
// inputs: `scales` (one per axis, 1 where not resized) and, for
// tf_crop_and_resize, `roi` (starts then ends, one per axis); Y has its final shape.
//
// Per axis, output position x maps to the input coordinate xo by
// coordinate_transformation_mode, with `scale` and the float output length
// scale * in (ONNX's reference uses that, not the integer size):
//   half_pixel (x + 0.5) / scale - 0.5;  asymmetric x / scale;
//   half_pixel_symmetric in / 2 * (1 - out / (scale * in)) + (x + 0.5) / scale - 0.5;
//   pytorch_half_pixel as half_pixel, 0 when out = 1;
//   align_corners x * (in - 1) / (scale * in - 1), 0 when scale * in = 1;
//   tf_crop_and_resize start * (in - 1) + x * (end - start) * (in - 1) / (scale * in - 1)
//     ((end - start) * (in - 1) / 2 when scale * in = 1); outside [0, in - 1] the
//     output is extrapolation_value;
//   tf_half_pixel_for_nn (opsets 11 and 12) (x + 0.5) / scale.
// nearest reads one index by nearest_mode (an integral xo reads itself). linear
// (support 1) and cubic (support 2) read, with i0 = ceil(xo) - 1 and r = xo - i0 in
// (0, 1], the indices i0 + i for i in [start, 1 - start], start = floor(-support / s)
// + 1, s = min(scale, 1) with antialias and 1 otherwise, weighted kernel(s * |i - r|)
// (the triangle, or Keys' cubic with cubic_coeff_a); antialias and exclude_outside
// (which zeroes indices outside the axis) renormalize the weights. Indices clamp to
// the axis. Coordinates and weights are computed in double, exactly as the
// reference kernel does, so nearest picks the same indices.
//
// nearest copies elements (exact in every dtype); linear and cubic run one pass per
// resized axis in float (double for float64 and integers) and convert at the end
// (integers truncate toward zero).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

#include "elementwise.h"
#include "gemm.h"

namespace mxcpu {
namespace {

enum coord_mode { HALF_PIXEL, HALF_PIXEL_SYMMETRIC, PYTORCH_HALF_PIXEL, ALIGN_CORNERS, ASYMMETRIC, TF_CROP_AND_RESIZE, TF_HALF_PIXEL_FOR_NN };
enum interp_mode { NEAREST, LINEAR, CUBIC };
enum nearest_mode { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, FLOOR, CEIL };

struct resize_params {
  interp_mode mode;
  coord_mode coord;
  nearest_mode nearest;
  double a, extrapolation;
  bool antialias, exclude;
};

// Taps of one axis: `width` (index, weight) pairs per output position.
struct axis_taps {
  int64_t width = 1;
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<char> outside;
  bool identity = true;  // every output position reads its own index with weight 1
};

double keys_cubic(double t, double A) {
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

axis_taps make_taps(int64_t in, int64_t out, double scale, double roi0, double roi1, const resize_params& p) {
  axis_taps t;
  const double outF = scale * (double)in;
  const int support = p.mode == LINEAR ? 1 : 2;
  const double s = p.antialias ? std::min(scale, 1.0) : 1.0;
  const int64_t start = (int64_t)std::floor(-support / s) + 1;
  if (p.mode != NEAREST) t.width = 2 - 2 * start;
  t.idx.resize(size_t(out * t.width));
  t.w.resize(size_t(out * t.width));
  t.outside.resize(size_t(out));
  t.identity = in == out;
  for (int64_t x = 0; x < out; x++) {
    const double xd = (double)x;
    double xo;
    switch (p.coord) {
      case HALF_PIXEL: xo = (xd + 0.5) / scale - 0.5; break;
      case HALF_PIXEL_SYMMETRIC: xo = ((double)in / 2) * (1 - (double)out / outF) + (xd + 0.5) / scale - 0.5; break;
      case PYTORCH_HALF_PIXEL: xo = out > 1 ? (xd + 0.5) / scale - 0.5 : 0; break;
      case ALIGN_CORNERS: xo = outF == 1 ? 0 : (xd * (double)(in - 1)) / (outF - 1); break;
      case ASYMMETRIC: xo = xd / scale; break;
      case TF_HALF_PIXEL_FOR_NN: xo = (xd + 0.5) / scale; break;
      default:
        xo = (outF == 1 ? ((roi1 - roi0) * (double)(in - 1)) / 2 : (xd * (roi1 - roi0) * (double)(in - 1)) / (outF - 1)) + roi0 * (double)(in - 1);
    }
    t.outside[size_t(x)] = p.coord == TF_CROP_AND_RESIZE && (xo < 0 || xo > (double)(in - 1));
    int64_t* idx = &t.idx[size_t(x * t.width)];
    double* w = &t.w[size_t(x * t.width)];
    if (p.mode == NEAREST) {
      const double f = std::floor(xo), r = xo - f;
      const bool up = r > 0 && (p.nearest == CEIL || (p.nearest == ROUND_PREFER_FLOOR && r > 0.5) || (p.nearest == ROUND_PREFER_CEIL && r >= 0.5));
      idx[0] = std::clamp<int64_t>((int64_t)f + up, 0, in - 1);
      w[0] = 1;
    } else {
      const double i0 = xo == std::floor(xo) ? xo - 1 : std::floor(xo), r = xo - i0;
      double sum = 0;
      for (int64_t k = 0; k < t.width; k++) {
        const int64_t i = start + k;
        const double d = std::fabs(s * ((double)i - r));
        idx[k] = (int64_t)i0 + i;
        w[k] = p.mode == LINEAR ? std::max(0.0, 1 - d) : keys_cubic(d, p.a);
        if (p.exclude && (idx[k] < 0 || idx[k] >= in)) w[k] = 0;
        sum += w[k];
      }
      for (int64_t k = 0; k < t.width; k++) {
        if (p.antialias || p.exclude) w[k] /= sum;
        idx[k] = std::clamp<int64_t>(idx[k], 0, in - 1);
      }
    }
    // identity: in range, and the taps' weight on index x is 1, on others 0
    double own = 0, other = 0;
    for (int64_t k = 0; k < t.width; k++) (idx[k] == x ? own : other) += std::fabs(w[k]);
    if (t.outside[size_t(x)] || own != 1 || other != 0) t.identity = false;
  }
  return t;
}

// nearest: Y[o] = X[idx_0[o_0], ..., idx_{r-1}[o_{r-1}]], or extrapolation_value.
template <class T> void gather_nearest(mx_kernel_ctx* ctx, const std::vector<axis_taps>& taps, double extrapolation) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int r = std::min(X.ndim, MX_MAX_DIMS);
  int64_t in_stride[MX_MAX_DIMS], rows = 1;
  for (int d = r - 1; d >= 0; d--) in_stride[d] = d == r - 1 ? 1 : in_stride[d + 1] * X.shape[d + 1];
  for (int d = 0; d < r - 1; d++) rows *= Y.shape[d];
  const int64_t last = r ? Y.shape[r - 1] : 1;
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(Y.data);
  const T fill = convert<T>(extrapolation);
  parallel_for(ctx->pool, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, last)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; row++) {
      int64_t base = 0, rest = row;
      bool outside = false;
      for (int d = r - 2; d >= 0; d--) {
        const int64_t o = rest % Y.shape[d];
        rest /= Y.shape[d];
        base += taps[size_t(d)].idx[size_t(o)] * in_stride[d];
        outside = outside || taps[size_t(d)].outside[size_t(o)];
      }
      T* dst = y + row * last;
      if (r == 0) { dst[0] = x[0]; continue; }
      const axis_taps& t = taps[size_t(r - 1)];
      for (int64_t o = 0; o < last; o++) dst[o] = outside || t.outside[size_t(o)] ? fill : x[base + t.idx[size_t(o)]];
    }
  });
}

// linear / cubic: one pass per non-identity axis, ping-ponging between two
// scratch halves in compute type C. The first pass reads X directly and the last
// writes Y directly when they hold C.
template <class T, class C> int interpolate(mx_kernel_ctx* ctx, const std::vector<axis_taps>& taps, double extrapolation) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  constexpr bool direct = std::is_same_v<T, C>;
  const int r = std::min(X.ndim, MX_MAX_DIMS);
  int64_t shape[MX_MAX_DIMS], biggest = direct ? 0 : numel(X);
  int passes = 0;
  std::copy(X.shape, X.shape + r, shape);
  for (int d = 0; d < r; d++)
    if (!taps[size_t(d)].identity) {
      shape[d] = Y.shape[d];
      int64_t n = 1;
      for (int k = 0; k < r; k++) n *= shape[k];
      biggest = std::max(biggest, n);
      passes++;
    }
  C* buf = static_cast<C*>(scratch(SCRATCH_OP, sizeof(C) * 2 * size_t(std::max<int64_t>(biggest, 1))));
  if (!buf) return fail_oom(ctx, "Resize");
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(Y.data);
  const C* cur = nullptr;
  if constexpr (direct) cur = x;
  else {
    C* wide = buf;
    parallel_for(ctx->pool, numel(X), 32768, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) wide[i] = (C)load(x[i]);
    });
    cur = wide;
  }
  std::copy(X.shape, X.shape + r, shape);
  int done = 0;
  for (int d = 0; d < r; d++) {
    const axis_taps& t = taps[size_t(d)];
    if (t.identity) continue;
    C* next;
    if constexpr (direct) next = ++done == passes ? y : buf + (done % 2) * biggest;
    else next = buf + (++done % 2) * biggest;
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < d; k++) outer *= shape[k];
    for (int k = d + 1; k < r; k++) inner *= shape[k];
    const int64_t in = shape[d], out = Y.shape[d], width = t.width;
    std::vector<C> w(t.w.begin(), t.w.end());
    const C fill = (C)extrapolation;
    parallel_for(ctx->pool, outer * out, std::max<int64_t>(1, 8192 / (inner * width)), [&](int64_t b, int64_t e) {
      for (int64_t row = b; row < e; row++) {
        const int64_t q = row / out, o = row % out;
        const C* wo = w.data() + o * width;
        const int64_t* io = t.idx.data() + o * width;
        const C* src = cur + q * in * inner;
        C* dst = next + row * inner;
        if (t.outside[size_t(o)]) {
          std::fill(dst, dst + inner, fill);
        } else if (inner == 1) {
          C acc = 0;
          for (int64_t k = 0; k < width; k++) acc += wo[k] * src[io[k]];
          dst[0] = acc;
        } else {
          std::fill(dst, dst + inner, C(0));
          for (int64_t k = 0; k < width; k++) {
            const C wk = wo[k];
            const C* s = src + io[k] * inner;
            if (wk != 0)
              for (int64_t i = 0; i < inner; i++) dst[i] += wk * s[i];
          }
        }
      }
    });
    shape[d] = out;
    cur = next;
  }
  if (direct && passes) return MX_OK;
  parallel_for(ctx->pool, numel(Y), 32768, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) y[i] = convert<T>(cur[i]);
  });
  return MX_OK;
}

template <class T> int resize(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const auto pick = [&](const char* name, const char* dflt, std::initializer_list<const char*> names, int* out) {
    const std::string_view v = mx_attr_string(ctx->attrs, name, dflt);
    int i = 0;
    for (const char* n : names) {
      if (v == n) return *out = i, true;
      i++;
    }
    return false;
  };
  int mode, coord, nearest;
  if (!pick("mode", "nearest", {"nearest", "linear", "cubic"}, &mode) ||
      !pick("coordinate_transformation_mode", "half_pixel",
            {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn"},
            &coord) ||
      !pick("nearest_mode", "round_prefer_floor", {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}, &nearest))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Resize: unknown mode, coordinate_transformation_mode or nearest_mode");
  const resize_params p{(interp_mode)mode,
                        (coord_mode)coord,
                        (nearest_mode)nearest,
                        mx_attr_float(ctx->attrs, "cubic_coeff_a", -0.75),
                        mx_attr_float(ctx->attrs, "extrapolation_value", 0.0),
                        mx_attr_int(ctx->attrs, "antialias", 0) != 0,
                        mx_attr_int(ctx->attrs, "exclude_outside", 0) != 0};
  const mx_attr* scales = mx_attr_find(ctx->attrs, "scales");
  const mx_attr* roi = mx_attr_find(ctx->attrs, "roi");
  const int r = X.ndim;
  if (!scales || scales->count != r || (p.coord == TF_CROP_AND_RESIZE && (!roi || roi->count != 2 * r)))
    return mx_fail(ctx, MX_ERR_INVALID, "Resize: needs `scales` with %d values (and `roi` with %d for tf_crop_and_resize)", r, 2 * r);
  if (numel(Y) == 0) return MX_OK;
  std::vector<axis_taps> taps;
  for (int d = 0; d < r; d++)
    taps.push_back(make_taps(X.shape[d], Y.shape[d], scales->floats[d], roi && p.coord == TF_CROP_AND_RESIZE ? roi->floats[d] : 0.0,
                             roi && p.coord == TF_CROP_AND_RESIZE ? roi->floats[d + r] : 1.0, p));
  if (p.mode == NEAREST) {
    gather_nearest<T>(ctx, taps, p.extrapolation);
    return MX_OK;
  }
  using C = std::conditional_t<std::is_same_v<compute_t<T>, float>, float, double>;
  return interpolate<T, C>(ctx, taps, p.extrapolation);
}

}  // namespace

#define MX_VIS_RESIZE(T, key, ...) MX_KERNEL("Resize", key, resize<T>);
MXCPU_NUMERIC_TYPES(MX_VIS_RESIZE)
#undef MX_VIS_RESIZE

}  // namespace mxcpu
