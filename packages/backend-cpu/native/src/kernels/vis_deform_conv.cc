// DeformConv (2 spatial dims): Conv whose taps move. Output position (i, j), tap
// (kh, kw) of input channel c samples X[n, c] at
//   y = i * stride_h - pad_top + kh * dilation_h + offset[n, og, k, 0, i, j]
//   x = j * stride_w - pad_left + kw * dilation_w + offset[n, og, k, 1, i, j]
// bilinearly (neighbors outside X read 0), times mask[n, og, k, i, j] (1 when
// absent), where og = c / (C / offset_group) and k = kh * kW + kw. Then as Conv:
// Y[n, m] = B[m] + sum over the channels of m's group and the taps of W * sample.
// Core checked the shapes and gave explicit strides, dilations, pads (begins,
// then ends), group and offset_group.
//
// Per image and group: the sampled im2col matrix col[Cg * K, oH * oW] is built in
// a scratch buffer and one GEMM W_g [Mg, Cg * K] x col accumulates onto Y.
#include <algorithm>
#include <cmath>

#include "gemm.h"

namespace mxcpu {
namespace {

template <class T> inline T bilinear_zero(const T* plane, int64_t H, int64_t W, T y, T x) {
  const T fy = std::floor(y), fx = std::floor(x);
  const int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
  const T ly = y - fy, lx = x - fx;
  const auto at = [&](int64_t yy, int64_t xx) { return yy >= 0 && yy < H && xx >= 0 && xx < W ? plane[yy * W + xx] : T(0); };
  return (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) + ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
}

template <class T> int deform_conv(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Wt = ctx->inputs[1], &Y = ctx->outputs[0];
  const T* bias = ctx->num_inputs > 3 ? static_cast<const T*>(ctx->inputs[3].data) : nullptr;
  const T* mask = ctx->num_inputs > 4 ? static_cast<const T*>(ctx->inputs[4].data) : nullptr;
  const int64_t *s, *d, *p;
  if (X.ndim != 4 || mx_attr_ints(ctx->attrs, "strides", &s) != 2 || mx_attr_ints(ctx->attrs, "dilations", &d) != 2 ||
      mx_attr_ints(ctx->attrs, "pads", &p) != 4)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "DeformConv: needs X of rank 4 and explicit strides, dilations, pads (X rank %d)", X.ndim);
  const int64_t N = X.shape[0], C = X.shape[1], H = X.shape[2], W = X.shape[3];
  const int64_t M = Wt.shape[0], Cg = Wt.shape[1], kH = Wt.shape[2], kW = Wt.shape[3], K = kH * kW;
  const int64_t oH = Y.shape[2], oW = Y.shape[3], P = oH * oW;
  const int64_t G = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "group", 1)), Mg = M / G;
  const int64_t OG = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "offset_group", 1)), per_og = C / OG;
  const T* x = static_cast<const T*>(X.data);
  const T* w = static_cast<const T*>(Wt.data);
  const T* offset = static_cast<const T*>(ctx->inputs[2].data);
  T* y = static_cast<T*>(Y.data);
  parallel_for(ctx->pool, N * M, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, P)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) std::fill(y + r * P, y + (r + 1) * P, bias ? bias[r % M] : T(0));
  });
  if (N * M * P == 0 || Cg * K == 0) return MX_OK;
  T* col = static_cast<T*>(scratch(SCRATCH_OP, sizeof(T) * Cg * K * P));
  if (!col) return fail_oom(ctx, "DeformConv");
  for (int64_t n = 0; n < N; n++)
    for (int64_t g = 0; g < G; g++) {
      parallel_for(ctx->pool, Cg * K, std::max<int64_t>(1, 4096 / P), [&](int64_t r0, int64_t r1) {
        for (int64_t row = r0; row < r1; row++) {
          const int64_t c = g * Cg + row / K, k = row % K, og = c / per_og;
          const T* plane = x + (n * C + c) * H * W;
          const T* dy = offset + ((n * OG + og) * K + k) * 2 * P;
          const T* dx = dy + P;
          const T* mk = mask ? mask + ((n * OG + og) * K + k) * P : nullptr;
          const int64_t kh = k / kW, kw = k % kW;
          T* dst = col + row * P;
          for (int64_t i = 0; i < oH; i++)
            for (int64_t j = 0; j < oW; j++) {
              const int64_t q = i * oW + j;
              const T v = bilinear_zero(plane, H, W, T(i * s[0] - p[0] + kh * d[0]) + dy[q], T(j * s[1] - p[1] + kw * d[1]) + dx[q]);
              dst[q] = mk ? v * mk[q] : v;
            }
        }
      });
      if (!gemm(ctx->pool, Mg, P, Cg * K, T(1), {w + g * Mg * Cg * K, Cg * K, 1}, {col, P, 1}, T(1), y + (n * M + g * Mg) * P, P))
        return fail_oom(ctx, "DeformConv");
    }
  return MX_OK;
}

int deform_conv_half(mx_kernel_ctx* ctx) { return run_widened(ctx, deform_conv<float>); }

}  // namespace

MX_KERNEL("DeformConv", "float32", deform_conv<float>);
MX_KERNEL("DeformConv", "float64", deform_conv<double>);
MX_KERNEL("DeformConv", "float16", deform_conv_half);
MX_KERNEL("DeformConv", "bfloat16", deform_conv_half);

}  // namespace mxcpu
