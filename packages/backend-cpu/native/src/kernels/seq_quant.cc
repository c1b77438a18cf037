// Linear quantization.
//   QuantizeLinear:   y = saturate(round_half_even(x / s) + zp). The division runs
//                     in `precision` (core resolved it, default y_scale's dtype):
//                     x, s and the quotient are rounded to it.
//   DequantizeLinear: y = (x - zp) * s, in double, rounded once to y's dtype.
//   DynamicQuantizeLinear: float32 x to uint8 with s = (max(0, max x) - min(0, min x)) / 255
//                     (1 when that range is 0, as onnxruntime does),
//                     zp = round_half_even(clamp(0 - min(0, min x) / s, 0, 255)) and
//                     y = QuantizeLinear(x, s, zp), all in float32 like ONNX's function body.
// Scale and zero point hold one element (per tensor), one per index of `axis`
// (per axis) or x's shape with ceil(x.shape[axis] / block_size) along axis
// (blocked); core checked the shapes and made axis non-negative. NaN quantizes to 0.
#include <algorithm>
#include <cmath>
#include <limits>

#include "seq_common.h"

namespace mxcpu {
namespace {

using seq::dispatch_among;
using seq::value_at;

// Maps element e of x, seen as [outer, len, inner] around axis, to the index of
// its scale and zero point.
struct qparams {
  int64_t len = 1, inner = 1, block = 0, blocks = 1;
  bool per_tensor;
  qparams(const mx_tensor& x, const mx_tensor& s, const mx_attrs* at) : block(mx_attr_int(at, "block_size", 0)) {
    per_tensor = numel(s) == 1 && block == 0;
    const int64_t axis = mx_attr_int(at, "axis", 0);
    for (int d = 0; !per_tensor && d < x.ndim; d++) {
      if (d == axis) len = x.shape[d];
      if (d > axis) inner *= x.shape[d];
    }
    if (block > 0) blocks = (len + block - 1) / block;
  }
  int64_t operator()(int64_t e) const {
    if (per_tensor) return 0;
    const int64_t a = e / inner % len;
    if (block == 0) return a;
    return (e / (inner * len) * blocks + a / block) * inner + e % inner;
  }
};

// The scales (and zero points, 0 when absent) as tables in scratch memory.
template <class S, class F> bool param_tables(const mx_tensor& s, const mx_tensor* zp, S** scales, double** zps, F&& convert) {
  const int64_t n = numel(s);
  char* buf = static_cast<char*>(scratch(SCRATCH_OP, (sizeof(S) + sizeof(double)) * n));
  if (!buf) return false;
  *zps = reinterpret_cast<double*>(buf);
  *scales = reinterpret_cast<S*>(buf + sizeof(double) * n);
  for (int64_t i = 0; i < n; i++) {
    (*scales)[i] = convert(value_at(s, i));
    (*zps)[i] = zp ? value_at(*zp, i) : 0;
  }
  return true;
}

const mx_tensor* present(const mx_kernel_ctx* ctx, int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? &ctx->inputs[i] : nullptr; }

// round_half_even(q) + zp saturated to TO's range; NaN gives 0.
template <class TO> inline TO saturate_round(float q, double zp) {
  double r = std::nearbyint((double)q) + zp;
  if (r != r) return TO(0);
  r = std::min<double>(std::numeric_limits<TO>::max(), std::max<double>(std::numeric_limits<TO>::min(), r));
  return TO(r);
}

int quantize_linear(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &S = ctx->inputs[1], &Y = ctx->outputs[0];
  const int32_t prec = (int32_t)mx_attr_int(ctx->attrs, "precision", MX_FLOAT32);
  const qparams idx(X, S, ctx->attrs);
  float* scales;
  double* zps;
  if (!param_tables(S, present(ctx, 2), &scales, &zps, [&](double v) { return seq::round_to(prec, (float)v); })) return fail_oom(ctx, "QuantizeLinear");
  const int64_t n = numel(X);
  const bool ok = dispatch_among<float, f16, bf16, int32_t>(X.dtype, [&](auto tx) {
    using TX = decltype(tx);
    dispatch_among<int8_t, uint8_t, int16_t, uint16_t>(Y.dtype, [&](auto ty) {
      using TO = decltype(ty);
      const TX* x = static_cast<const TX*>(X.data);
      TO* y = static_cast<TO*>(Y.data);
      parallel_for(ctx->pool, n, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; k++) {
          const int64_t p = idx(k);
          const float q = seq::round_to(prec, seq::round_to(prec, (float)load(x[k])) / scales[p]);
          y[k] = saturate_round<TO>(q, zps[p]);
        }
      });
    });
  });
  return ok ? MX_OK : mx_fail(ctx, MX_ERR_UNSUPPORTED, "QuantizeLinear: x dtype %d", X.dtype);
}

int dequantize_linear(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &S = ctx->inputs[1], &Y = ctx->outputs[0];
  const qparams idx(X, S, ctx->attrs);
  double *scales, *zps;
  if (!param_tables(S, present(ctx, 2), &scales, &zps, [](double v) { return v; })) return fail_oom(ctx, "DequantizeLinear");
  const int64_t n = numel(X);
  const bool ok = dispatch_among<int8_t, uint8_t, int16_t, uint16_t, int32_t>(X.dtype, [&](auto tx) {
    using TX = decltype(tx);
    dispatch_among<float, f16, bf16>(Y.dtype, [&](auto ty) {
      using TO = decltype(ty);
      const TX* x = static_cast<const TX*>(X.data);
      TO* y = static_cast<TO*>(Y.data);
      parallel_for(ctx->pool, n, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; k++) {
          const int64_t p = idx(k);
          y[k] = store<TO>(((double)x[k] - zps[p]) * scales[p]);
        }
      });
    });
  });
  return ok ? MX_OK : mx_fail(ctx, MX_ERR_UNSUPPORTED, "DequantizeLinear: x dtype %d", X.dtype);
}

int dynamic_quantize_linear(mx_kernel_ctx* ctx) {
  const float* x = static_cast<const float*>(ctx->inputs[0].data);
  const int64_t n = numel(ctx->inputs[0]);
  float lo = 0, hi = 0;
  for (int64_t k = 0; k < n; k++) {
    lo = std::min(lo, x[k]);
    hi = std::max(hi, x[k]);
  }
  const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  const float zpf = std::min(255.0f, std::max(0.0f, 0.0f - lo / scale));
  const double zp = std::nearbyint((double)zpf);
  uint8_t* y = static_cast<uint8_t*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; k++) y[k] = saturate_round<uint8_t>(x[k] / scale, zp);
  });
  if (ctx->num_outputs > 1) *static_cast<float*>(ctx->outputs[1].data) = scale;
  if (ctx->num_outputs > 2) *static_cast<uint8_t*>(ctx->outputs[2].data) = (uint8_t)zp;
  return MX_OK;
}

}  // namespace

MXCPU_SEQ_KERNELS("QuantizeLinear", quantize_linear, {"float32", "float16", "bfloat16", "int32"}, {"float32", "float16", "bfloat16"},
                  {"int8", "uint8", "int16", "uint16"});
MXCPU_SEQ_KERNELS("DequantizeLinear", dequantize_linear, {"int8", "uint8", "int16", "uint16", "int32"}, {"float32", "float16", "bfloat16"},
                  {"float32", "float16", "bfloat16"});
MXCPU_SEQ_KERNELS("DynamicQuantizeLinear", dynamic_quantize_linear);

}  // namespace mxcpu
