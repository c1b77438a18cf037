// LayerNormalization: X viewed as [R, L] with L = prod(shape[axis:]); each row
// gets (x - mean) / sqrt(var + epsilon) * Scale + B, Scale and B read flat over
// the L elements (core checked their shapes). The optional Mean and InvStdDev
// outputs ([R] values) come from oneDNN's statistics: mean, and
// 1 / sqrt(variance + epsilon). oneDNN computes in float32 (stash_type 1).
// LRN: y = x / (bias + alpha / size * sum of x^2 over channels
// c - floor((size-1)/2) .. c + ceil((size-1)/2))^beta, X viewed as [N, C, S, 1].
// oneDNN centers an even window the other way (one more channel below c), so
// even sizes (rare: networks use 3 or 5) run as a plain loop here.
// (BatchNormalization is left to cpu: oneDNN's plain-layout batch norm measured
// 2-10x slower than cpu's, and a blocked one would need reorders.)
#include <algorithm>
#include <cmath>

#include "common.h"

namespace mxdnnl {
namespace {

struct NormEntry : Entry {
  dnnl::primitive prim;
  memory src, dst, scale, shift, mean, var;
};

int layer_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor* b = input(ctx, 2);
  const mx_tensor& y = ctx->outputs[0];
  const mx_tensor* mean_out = output(ctx, 1);
  const mx_tensor* inv_out = output(ctx, 2);
  if (mx_numel(&y) == 0) return MX_OK;
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1);
  int64_t rows = 1, len = 1;
  for (int i = 0; i < x.ndim; i++) (i < axis ? rows : len) *= x.shape[i];
  const float eps = (float)mx_attr_float(ctx->attrs, "epsilon", 1e-5);
  const bool stats = mean_out || inv_out;
  Key key("LayerNormalization");
  key.i(x.dtype).i(rows).i(len).f(eps).i(b != nullptr).i(stats);
  use_threads(ctx, (double)mx_numel(&x));
  NormEntry& e = cached<NormEntry>(key, [&] {
    auto e = std::make_unique<NormEntry>();
    const memory::desc md = plain({rows, len}, dtype_of(x.dtype)), cd = plain({len}, dt::f32), sd = plain({rows}, dt::f32);
    using f = dnnl::normalization_flags;
    dnnl::layer_normalization_forward::desc d(stats ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, md,
                                              sd, eps, b ? f::use_scale | f::use_shift : f::use_scale);
    e->prim = dnnl::layer_normalization_forward(dnnl::layer_normalization_forward::primitive_desc(d, cpu_engine()));
    e->src = user_memory(md);
    e->dst = user_memory(md);
    e->scale = user_memory(cd);
    e->shift = user_memory(cd);
    e->mean = user_memory(sd);
    e->var = user_memory(sd);
    return e;
  });
  e.src.set_data_handle(x.data);
  e.dst.set_data_handle(y.data);
  e.scale.set_data_handle(ctx->inputs[1].data);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DST, e.dst}, {DNNL_ARG_SCALE, e.scale}};
  if (b) {
    e.shift.set_data_handle(b->data);
    args.emplace(DNNL_ARG_SHIFT, e.shift);
  }
  float* st = nullptr;
  if (stats) {
    st = reinterpret_cast<float*>(scratch(2 * align64((size_t)rows * 4)));
    e.mean.set_data_handle(st);
    e.var.set_data_handle(reinterpret_cast<char*>(st) + align64((size_t)rows * 4));
    args.emplace(DNNL_ARG_MEAN, e.mean);
    args.emplace(DNNL_ARG_VARIANCE, e.var);
  }
  e.prim.execute(thread_stream(), args);
  thread_stream().wait();
  if (stats) {
    const float* var = reinterpret_cast<const float*>(reinterpret_cast<char*>(st) + align64((size_t)rows * 4));
    for (int64_t r = 0; r < rows; r++) {
      if (mean_out) store(mean_out->dtype, mean_out->data, r, st[r]);
      if (inv_out) store(inv_out->dtype, inv_out->data, r, 1.f / std::sqrt(var[r] + eps));
    }
  }
  return MX_OK;
}

struct LrnEntry : Entry {
  dnnl::lrn_forward prim;
  memory src, dst;
};

int lrn_even(const mx_tensor& x, const mx_tensor& y, const dims& xs, int64_t size, float alpha, float beta,
             float bias) {
  const int64_t channels = xs[1], plane = xs[2], lo = (size - 1) / 2, hi = size / 2;
  for (int64_t n = 0; n < xs[0]; n++)
    for (int64_t p = 0; p < plane; p++)
      for (int64_t c = 0; c < channels; c++) {
        float ss = 0.f;
        for (int64_t k = std::max<int64_t>(c - lo, 0); k <= std::min(c + hi, channels - 1); k++) {
          const float v = load(x.dtype, x.data, (n * channels + k) * plane + p);
          ss += v * v;
        }
        const int64_t at = (n * channels + c) * plane + p;
        store(y.dtype, y.data, at, load(x.dtype, x.data, at) / std::pow(bias + alpha / (float)size * ss, beta));
      }
  return MX_OK;
}

int lrn(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  int64_t s = 1;
  for (int i = 2; i < x.ndim; i++) s *= x.shape[i];
  const dims xs{x.shape[0], x.shape[1], s, 1};
  const int64_t size = mx_attr_int(ctx->attrs, "size", 1);
  const float alpha = (float)mx_attr_float(ctx->attrs, "alpha", 1e-4), beta = (float)mx_attr_float(ctx->attrs, "beta", 0.75),
              bias = (float)mx_attr_float(ctx->attrs, "bias", 1.0);
  if (size % 2 == 0) return lrn_even(x, y, xs, size, alpha, beta, bias);
  use_threads(ctx, (double)mx_numel(&x) * (double)size);
  Key key("LRN");
  key.i(x.dtype).v(xs).i(size).f(alpha).f(beta).f(bias);
  LrnEntry& e = cached<LrnEntry>(key, [&] {
    auto e = std::make_unique<LrnEntry>();
    const memory::desc md = plain(xs, dtype_of(x.dtype));
    dnnl::lrn_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::lrn_across_channels, md, size, alpha,
                              beta, bias);
    e->prim = dnnl::lrn_forward(dnnl::lrn_forward::primitive_desc(d, cpu_engine()));
    e->src = user_memory(md);
    e->dst = user_memory(md);
    return e;
  });
  e.src.set_data_handle(x.data);
  e.dst.set_data_handle(y.data);
  e.prim.execute(thread_stream(), {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DST, e.dst}});
  thread_stream().wait();
  return MX_OK;
}

}  // namespace
}  // namespace mxdnnl

MXD_KERNEL("LayerNormalization", "float32", mxdnnl::layer_norm);
MXD_KERNEL("LRN", "float32", mxdnnl::lrn);
MXD_KERNEL("LRN", "bfloat16", mxdnnl::lrn);
