// Normalizations (statistics accumulate in double; 16-bit floats read and write as float).
//   GroupNormalization / InstanceNormalization: X [N, C, ..] in num_groups groups of
//     C / num_groups consecutive channels (core sets num_groups = C for
//     InstanceNormalization); each (n, group) block gets its mean and population
//     variance, Y = (X - mean) / sqrt(var + epsilon) * scale[c] + B[c].
//   LpNormalization: Y = X / ||X||_p along `axis` (p 1 or 2; a lane of norm 0 gives 0s,
//     as ONNX's test data has it).
//   MeanVarianceNormalization: Y = (X - mean) / (sqrt(var) + 1e-9), statistics over
//     `axes` (sorted, non-negative).
//   RMSNormalization: per row over the dims from `axis`, Y = X / sqrt(mean(X^2) +
//     epsilon) * scale, scale broadcast (right-aligned) to the row's shape.
//   LRN: Y = X / (bias + alpha / size * S)^beta, S the sum of X^2 over channels
//     c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2) within [0, C).
#include <algorithm>
#include <cmath>
#include <vector>

#include "elementwise.h"

namespace mxcpu {
namespace {

template <class T> int group_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  const int64_t N = X.shape[0], C = X.shape[1];
  const int64_t G = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "num_groups", C));
  const int64_t inner = C ? numel(X) / std::max<int64_t>(1, N * C) : 0, per = C / G, len = per * inner;
  const double eps = mx_attr_float(ctx->attrs, "epsilon", 1e-5);
  const T* x = static_cast<const T*>(X.data);
  const T* scale = static_cast<const T*>(ctx->inputs[1].data);
  const T* bias = static_cast<const T*>(ctx->inputs[2].data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  if (len == 0) return MX_OK;
  parallel_for(ctx->pool, N * G, std::max<int64_t>(1, 16384 / len), [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; u++) {
      const T* xg = x + u * len;
      T* yg = y + u * len;
      double s = 0, ss = 0;
      for (int64_t j = 0; j < len; j++) s += (double)load(xg[j]);
      const double mean = s / (double)len;
      for (int64_t j = 0; j < len; j++) ss += ((double)load(xg[j]) - mean) * ((double)load(xg[j]) - mean);
      const double inv = 1.0 / std::sqrt(ss / (double)len + eps);
      for (int64_t c = 0; c < per; c++) {
        const int64_t ch = u % G * per + c;
        const double a = inv * (double)load(scale[ch]), d = (double)load(bias[ch]) - mean * a;
        for (int64_t i = c * inner; i < (c + 1) * inner; i++) yg[i] = store<T>((compute_t<T>)((double)load(xg[i]) * a + d));
      }
    }
  });
  return MX_OK;
}

template <class T> int lp_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  const axis_split v(X, mx_attr_int(ctx->attrs, "axis", X.ndim - 1));
  const bool l1 = mx_attr_int(ctx->attrs, "p", 2) == 1;
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, v.outer * v.inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, v.n)), [&](int64_t b, int64_t e) {
    for (int64_t lane = b; lane < e; lane++) {
      const int64_t base = lane / v.inner * v.n * v.inner + lane % v.inner;
      double norm = 0;
      for (int64_t j = 0; j < v.n; j++) {
        const double a = (double)load(x[base + j * v.inner]);
        norm += l1 ? std::fabs(a) : a * a;
      }
      if (!l1) norm = std::sqrt(norm);
      const double inv = norm == 0 ? 0 : 1 / norm;
      for (int64_t j = 0; j < v.n; j++) y[base + j * v.inner] = store<T>((compute_t<T>)((double)load(x[base + j * v.inner]) * inv));
    }
  });
  return MX_OK;
}

template <class T> int mean_variance_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  const int64_t* axes;
  const int na = mx_attr_ints(ctx->attrs, "axes", &axes);
  // Statistics slot of an element: its index over the kept (not reduced) dims.
  int64_t slot_stride[MX_MAX_DIMS], slots = 1;
  for (int d = X.ndim - 1; d >= 0; d--) {
    const bool reduced = std::find(axes, axes + na, (int64_t)d) != axes + na;
    slot_stride[d] = reduced ? 0 : slots;
    if (!reduced) slots *= X.shape[d];
  }
  const int64_t total = numel(X);
  if (total == 0) return MX_OK;
  const double count = (double)(total / slots);
  std::vector<double> sum((size_t)slots, 0.0), sq((size_t)slots, 0.0);
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  // Visits every element in order with its slot (odometer over X's dims).
  const auto each = [&](auto&& f) {
    int64_t idx[MX_MAX_DIMS] = {0}, slot = 0;
    for (int64_t i = 0; i < total; i++) {
      f(i, slot);
      for (int d = X.ndim - 1; d >= 0; d--) {
        slot += slot_stride[d];
        if (++idx[d] < X.shape[d]) break;
        slot -= slot_stride[d] * X.shape[d];
        idx[d] = 0;
      }
    }
  };
  each([&](int64_t i, int64_t s) { sum[s] += (double)load(x[i]); });
  for (double& s : sum) s /= count;
  each([&](int64_t i, int64_t s) { sq[s] += ((double)load(x[i]) - sum[s]) * ((double)load(x[i]) - sum[s]); });
  for (double& s : sq) s = std::sqrt(s / count) + 1e-9;
  each([&](int64_t i, int64_t s) { y[i] = store<T>((compute_t<T>)(((double)load(x[i]) - sum[s]) / sq[s])); });
  return MX_OK;
}

template <class T> int rms_norm(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &S = ctx->inputs[1];
  const int axis = (int)mx_attr_int(ctx->attrs, "axis", X.ndim - 1);
  int64_t rows = 1, len = 1;
  for (int d = 0; d < X.ndim; d++) (d < axis ? rows : len) *= X.shape[d];
  if (len == 0) return MX_OK;
  const double eps = mx_attr_float(ctx->attrs, "epsilon", 1e-5);
  // scale expanded to one row (right-aligned broadcast)
  std::vector<double> scale((size_t)len);
  const T* s = static_cast<const T*>(S.data);
  for (int64_t j = 0; j < len; j++) {
    int64_t rest = j, at = 0, stride = 1;
    for (int d = X.ndim - 1, e = S.ndim - 1; d >= axis; d--, e--) {
      const int64_t i = rest % X.shape[d];
      rest /= X.shape[d];
      if (e >= 0) {
        if (S.shape[e] != 1) at += i * stride;
        stride *= S.shape[e];
      }
    }
    scale[(size_t)j] = (double)load(s[at]);
  }
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, rows, std::max<int64_t>(1, 16384 / len), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      double ss = 0;
      for (int64_t j = 0; j < len; j++) ss += (double)load(x[r * len + j]) * (double)load(x[r * len + j]);
      const double inv = 1.0 / std::sqrt(ss / (double)len + eps);
      for (int64_t j = 0; j < len; j++) y[r * len + j] = store<T>((compute_t<T>)((double)load(x[r * len + j]) * inv * scale[(size_t)j]));
    }
  });
  return MX_OK;
}

template <class T> int lrn(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  const axis_split v(X, 1);  // [N, C, inner]
  const int64_t size = mx_attr_int(ctx->attrs, "size", 1);
  const double alpha = mx_attr_float(ctx->attrs, "alpha", 1e-4), beta = mx_attr_float(ctx->attrs, "beta", 0.75);
  const double bias = mx_attr_float(ctx->attrs, "bias", 1.0);
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, v.outer * v.n, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, v.inner * size)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; row++) {
      const int64_t n = row / v.n, c = row % v.n;
      const int64_t lo = std::max<int64_t>(0, c - before), hi = std::min(v.n - 1, c + after);
      const T* xn = x + n * v.n * v.inner;
      for (int64_t i = 0; i < v.inner; i++) {
        double ss = 0;
        for (int64_t k = lo; k <= hi; k++) ss += (double)load(xn[k * v.inner + i]) * (double)load(xn[k * v.inner + i]);
        y[row * v.inner + i] = store<T>((compute_t<T>)((double)load(xn[c * v.inner + i]) / std::pow(bias + alpha / (double)size * ss, beta)));
      }
    }
  });
  return MX_OK;
}

}  // namespace

#define MX_VIS_NORM(T, key)                                        \
  MX_KERNEL("GroupNormalization", key, group_norm<T>);             \
  MX_KERNEL("InstanceNormalization", key, group_norm<T>);          \
  MX_KERNEL("LpNormalization", key, lp_norm<T>);                   \
  MX_KERNEL("MeanVarianceNormalization", key, mean_variance_norm<T>); \
  MX_KERNEL("RMSNormalization", key, rms_norm<T>);                 \
  MX_KERNEL("LRN", key, lrn<T>);
MX_VIS_NORM(float, "float32")
MX_VIS_NORM(double, "float64")
MX_VIS_NORM(f16, "float16")
MX_VIS_NORM(bf16, "bfloat16")
#undef MX_VIS_NORM

}  // namespace mxcpu
