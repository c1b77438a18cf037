// Region-of-interest pooling over X [N, C, H, W]; Y is [num_rois, C, PH, PW].
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
// Geometry is computed in double; 16-bit floats are read and written as float.
#include <algorithm>
#include <cmath>
#include <string_view>

#include "gemm.h"

namespace mxcpu {
namespace {

inline double round_away(double v) { return v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5); }

template <class T> int max_roi_pool(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int64_t N = X.shape[0], C = X.shape[1], H = X.shape[2], W = X.shape[3];
  const int64_t R = Y.shape[0], PH = Y.shape[2], PW = Y.shape[3];
  const double scale = mx_attr_float(ctx->attrs, "spatial_scale", 1.0);
  const T* x = static_cast<const T*>(X.data);
  const T* rois = static_cast<const T*>(ctx->inputs[1].data);
  T* y = static_cast<T*>(Y.data);
  for (int64_t r = 0; r < R; r++) {
    const double b = std::trunc((double)load(rois[r * 5]));
    if (!(b >= 0 && b < (double)N))
      return mx_fail(ctx, MX_ERR_INVALID, "MaxRoiPool: ROI %lld has batch index %g, outside [0, %lld)", (long long)r, b, (long long)N);
  }
  parallel_for(ctx->pool, R * C, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, H * W)), [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; u++) {
      const int64_t r = u / C, c = u % C;
      const T* roi = rois + r * 5;
      const int64_t b = (int64_t)load(roi[0]);
      const int64_t x1 = (int64_t)round_away(load(roi[1]) * scale), y1 = (int64_t)round_away(load(roi[2]) * scale);
      const int64_t x2 = (int64_t)round_away(load(roi[3]) * scale), y2 = (int64_t)round_away(load(roi[4]) * scale);
      const double bh = (double)std::max<int64_t>(y2 - y1 + 1, 1) / (double)PH, bw = (double)std::max<int64_t>(x2 - x1 + 1, 1) / (double)PW;
      const T* plane = x + (b * C + c) * H * W;
      T* out = y + u * PH * PW;
      for (int64_t ph = 0; ph < PH; ph++) {
        const int64_t hs = std::clamp<int64_t>((int64_t)std::floor(ph * bh) + y1, 0, H);
        const int64_t he = std::clamp<int64_t>((int64_t)std::ceil((ph + 1) * bh) + y1, 0, H);
        for (int64_t pw = 0; pw < PW; pw++) {
          const int64_t ws = std::clamp<int64_t>((int64_t)std::floor(pw * bw) + x1, 0, W);
          const int64_t we = std::clamp<int64_t>((int64_t)std::ceil((pw + 1) * bw) + x1, 0, W);
          compute_t<T> m = 0;
          bool any = false;
          for (int64_t h = hs; h < he; h++)
            for (int64_t w = ws; w < we; w++) {
              const compute_t<T> v = load(plane[h * W + w]);
              if (!any || v > m) m = v;
              any = true;
            }
          out[ph * PW + pw] = store<T>(m);
        }
      }
    }
  });
  return MX_OK;
}

template <class T> int roi_align(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int64_t N = X.shape[0], C = X.shape[1], H = X.shape[2], W = X.shape[3];
  const int64_t R = Y.shape[0], PH = Y.shape[2], PW = Y.shape[3];
  const double scale = mx_attr_float(ctx->attrs, "spatial_scale", 1.0);
  const int64_t ratio = mx_attr_int(ctx->attrs, "sampling_ratio", 0);
  const bool half = std::string_view(mx_attr_string(ctx->attrs, "coordinate_transformation_mode", "half_pixel")) == "half_pixel";
  const bool avg = std::string_view(mx_attr_string(ctx->attrs, "mode", "avg")) == "avg";
  const T* x = static_cast<const T*>(X.data);
  const T* rois = static_cast<const T*>(ctx->inputs[1].data);
  const int64_t* batch = static_cast<const int64_t*>(ctx->inputs[2].data);
  T* y = static_cast<T*>(Y.data);
  for (int64_t r = 0; r < R; r++)
    if (batch[r] < 0 || batch[r] >= N)
      return mx_fail(ctx, MX_ERR_INVALID, "RoiAlign: ROI %lld has batch index %lld, outside [0, %lld)", (long long)r, (long long)batch[r], (long long)N);
  parallel_for(ctx->pool, R * C, 1, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; u++) {
      const int64_t r = u / C, c = u % C;
      const double off = half ? 0.5 : 0.0;
      const double x1 = load(rois[r * 4]) * scale - off, y1 = load(rois[r * 4 + 1]) * scale - off;
      double rw = load(rois[r * 4 + 2]) * scale - off - x1, rh = load(rois[r * 4 + 3]) * scale - off - y1;
      if (!half) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
      const double bh = rh / (double)PH, bw = rw / (double)PW;
      const int64_t gh = ratio > 0 ? ratio : (int64_t)std::ceil(rh / (double)PH);
      const int64_t gw = ratio > 0 ? ratio : (int64_t)std::ceil(rw / (double)PW);
      const double count = (double)std::max<int64_t>(gh * gw, 1);
      const T* plane = x + (batch[r] * C + c) * H * W;
      const auto at = [&](int64_t yy, int64_t xx) { return (double)load(plane[yy * W + xx]); };
      for (int64_t ph = 0; ph < PH; ph++)
        for (int64_t pw = 0; pw < PW; pw++) {
          double acc = 0;
          for (int64_t iy = 0; iy < gh; iy++)
            for (int64_t ix = 0; ix < gw; ix++) {
              double sy = y1 + ph * bh + (iy + 0.5) * bh / (double)gh;
              double sx = x1 + pw * bw + (ix + 0.5) * bw / (double)gw;
              double v[4] = {0, 0, 0, 0};
              if (!(sy < -1.0 || sy > (double)H || sx < -1.0 || sx > (double)W)) {
                sy = std::max(sy, 0.0), sx = std::max(sx, 0.0);
                int64_t yl = (int64_t)sy, xl = (int64_t)sx, yh = yl + 1, xh = xl + 1;
                if (yl >= H - 1) yl = yh = H - 1, sy = (double)yl;
                if (xl >= W - 1) xl = xh = W - 1, sx = (double)xl;
                const double ly = sy - (double)yl, lx = sx - (double)xl;
                v[0] = (1 - ly) * (1 - lx) * at(yl, xl), v[1] = (1 - ly) * lx * at(yl, xh);
                v[2] = ly * (1 - lx) * at(yh, xl), v[3] = ly * lx * at(yh, xh);
              }
              if (avg) acc += v[0] + v[1] + v[2] + v[3];
              else {
                const double m = std::max(std::max(v[0], v[1]), std::max(v[2], v[3]));
                acc = iy == 0 && ix == 0 ? m : std::max(acc, m);
              }
            }
          y[(u * PH + ph) * PW + pw] = store<T>((compute_t<T>)(avg ? acc / count : acc));
        }
    }
  });
  return MX_OK;
}

}  // namespace

#define MX_VIS_ROI(T, key)                         \
  MX_KERNEL("MaxRoiPool", key, max_roi_pool<T>);   \
  MX_KERNEL("RoiAlign", key, roi_align<T>);
MX_VIS_ROI(float, "float32")
MX_VIS_ROI(double, "float64")
MX_VIS_ROI(f16, "float16")
MX_VIS_ROI(bf16, "bfloat16")
#undef MX_VIS_ROI

}  // namespace mxcpu
