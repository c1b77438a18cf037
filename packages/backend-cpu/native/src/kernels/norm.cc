// Normalizations.
//   BatchNormalization: over channel axis 1 of X [N, C, ..],
//   Y = (X - mean[c]) * (scale[c] / sqrt(var[c] + epsilon)) + B[c]; with
//   training_mode=1, mean and var are X's per-channel mean and population variance
//   (accumulated in double) and the optional outputs running_mean/var (T2) are
//   input_mean/var * momentum + mean/var * (1 - momentum).
//   scale/B (T1) and mean/var (T2) may have float dtypes other than X's (T): they
//   are read as double, so every T,T1,T2 combination shares one kernel per T.
//   LayerNormalization: each row X[i, ..] over the dims from `axis` on (axis is
//   non-negative) gets mean and population variance accumulated in double, then
//   Y = (X - mean) * InvStdDev * Scale + B with Scale and B read flat over the row.
//   Optional outputs Mean and InvStdDev = 1 / sqrt(var + epsilon), one per row.
// 16-bit floats compute in float.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gemm.h"

namespace mxcpu {
namespace {

// Reads the first n values of a tensor of any dtype as double.
bool read_doubles(const mx_tensor& t, int64_t n, double* out) {
  return dispatch(t.dtype, [&](auto zero) {
    using V = decltype(zero);
    const V* p = static_cast<const V*>(t.data);
    for (int64_t i = 0; i < n; i++) out[i] = (double)load(p[i]);
  });
}

template <class T> int batch_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  using C = compute_t<T>;
  const int64_t ch = X.ndim > 1 ? X.shape[1] : 1;
  const int64_t inner = ch ? numel(X) / std::max<int64_t>(1, X.shape[0] * ch) : 0;
  const double eps = mx_attr_float(ctx->attrs, "epsilon", 1e-5);
  // Per channel: mean, scale / sqrt(var + eps), B.
  double* tab = static_cast<double*>(scratch(SCRATCH_OP, sizeof(double) * 4 * ch));
  if (!tab) return fail_oom(ctx, "BatchNormalization");
  double *mean = tab, *mul = tab + ch, *add = tab + 2 * ch, *var = tab + 3 * ch;
  if (!read_doubles(ctx->inputs[1], ch, mul) || !read_doubles(ctx->inputs[2], ch, add) ||
      !read_doubles(ctx->inputs[3], ch, mean) || !read_doubles(ctx->inputs[4], ch, var))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "BatchNormalization: unknown dtype of scale, B, mean or var");
  if (mx_attr_int(ctx->attrs, "training_mode", 0)) {
    const double mom = mx_attr_float(ctx->attrs, "momentum", 0.9);
    const int64_t count = X.shape[0] * inner;
    const T* xs = static_cast<const T*>(X.data);
    for (int64_t c = 0; c < ch; c++) {
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < X.shape[0]; n++)
        for (int64_t i = 0; i < inner; i++) sum += double(load(xs[(n * ch + c) * inner + i]));
      const double m = sum / double(count);
      for (int64_t n = 0; n < X.shape[0]; n++)
        for (int64_t i = 0; i < inner; i++) sq += (double(load(xs[(n * ch + c) * inner + i])) - m) * (double(load(xs[(n * ch + c) * inner + i])) - m);
      const double v = sq / double(count);
      for (int k = 1; k < ctx->num_outputs && k < 3; k++)  // running_mean, running_var
        dispatch(ctx->outputs[k].dtype, [&](auto zero) {
          using V = decltype(zero);
          static_cast<V*>(ctx->outputs[k].data)[c] = store<V>((k == 1 ? mean[c] : var[c]) * mom + (k == 1 ? m : v) * (1 - mom));
        });
      mean[c] = m;
      var[c] = v;
    }
  }
  for (int64_t c = 0; c < ch; c++) mul[c] /= std::sqrt(var[c] + eps);
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, numel(X) / std::max<int64_t>(1, inner), std::max<int64_t>(1, 32768 / std::max<int64_t>(1, inner)),
               [&](int64_t b, int64_t e) {
                 for (int64_t plane = b; plane < e; plane++) {
                   const int64_t c = plane % ch;
                   const C m = (C)mean[c], a = (C)mul[c], d = (C)add[c];
                   const T* xp = x + plane * inner;
                   T* yp = y + plane * inner;
                   for (int64_t i = 0; i < inner; i++) yp[i] = store<T>((load(xp[i]) - m) * a + d);
                 }
               });
  return MX_OK;
}

template <class T> int layer_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  using C = compute_t<T>;
  const int axis = (int)mx_attr_int(ctx->attrs, "axis", X.ndim - 1);
  int64_t rows = 1, len = 1;
  for (int d = 0; d < X.ndim; d++) (d < axis ? rows : len) *= X.shape[d];
  const double eps = mx_attr_float(ctx->attrs, "epsilon", 1e-5);
  const T* x = static_cast<const T*>(X.data);
  const T* scale = static_cast<const T*>(ctx->inputs[1].data);
  const T* bias = ctx->num_inputs > 2 ? static_cast<const T*>(ctx->inputs[2].data) : nullptr;
  T* y = static_cast<T*>(ctx->outputs[0].data);
  T* mean_out = ctx->num_outputs > 1 ? static_cast<T*>(ctx->outputs[1].data) : nullptr;
  T* inv_out = ctx->num_outputs > 2 ? static_cast<T*>(ctx->outputs[2].data) : nullptr;
  if (len == 0) return MX_OK;
  parallel_for(ctx->pool, rows, std::max<int64_t>(1, 16384 / len), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const T* xr = x + r * len;
      T* yr = y + r * len;
      double s = 0;
      for (int64_t j = 0; j < len; j++) s += (double)load(xr[j]);
      const double mean = s / (double)len;
      double ss = 0;
      for (int64_t j = 0; j < len; j++) {
        const double dv = (double)load(xr[j]) - mean;
        ss += dv * dv;
      }
      const double inv = 1.0 / std::sqrt(ss / (double)len + eps);
      const C m = (C)mean, iv = (C)inv;
      if (bias)
        for (int64_t j = 0; j < len; j++) yr[j] = store<T>((load(xr[j]) - m) * iv * load(scale[j]) + load(bias[j]));
      else
        for (int64_t j = 0; j < len; j++) yr[j] = store<T>((load(xr[j]) - m) * iv * load(scale[j]));
      if (mean_out) mean_out[r] = store<T>((C)mean);
      if (inv_out) inv_out[r] = store<T>((C)inv);
    }
  });
  return MX_OK;
}

// BatchNormalization's kernels for every (T, T1, T2) binding of float dtypes.
struct batch_norm_registrations {
  batch_norm_registrations() {
    static const char* const names[4] = {"float32", "float64", "float16", "bfloat16"};
    static const mx_kernel_fn fns[4] = {batch_norm<float>, batch_norm<double>, batch_norm<f16>, batch_norm<bf16>};
    static char keys[64][32];
    for (int t = 0; t < 4; t++)
      for (int t1 = 0; t1 < 4; t1++)
        for (int t2 = 0; t2 < 4; t2++) {
          char* key = keys[(t * 4 + t1) * 4 + t2];
          std::snprintf(key, sizeof keys[0], "%s,%s,%s", names[t], names[t1], names[t2]);
          ::mx::kernel_registrar("BatchNormalization", "", key, fns[t]);
        }
  }
} batch_norm_registered;

}  // namespace

MX_KERNEL("LayerNormalization", "float32", layer_norm<float>);
MX_KERNEL("LayerNormalization", "float64", layer_norm<double>);
MX_KERNEL("LayerNormalization", "float16", layer_norm<f16>);
MX_KERNEL("LayerNormalization", "bfloat16", layer_norm<bf16>);

}  // namespace mxcpu
