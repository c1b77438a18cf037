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
// (blocked); core checked the shapes and made axis non-negative. NaN quantizes to
// 0 for integer y. Narrow types (narrow.h): int4/uint4/int2/uint2 y saturate to
// their range like the 8-bit ones; a float8/float4 y is the Cast (with the
// `saturate` attribute) of float32(x / s + zp); narrow x and zero points are read
// through their decoding tables.
#include <algorithm>
#include <cmath>
#include <limits>

#include "narrow.h"
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
  const float* table = zp && narrow::is_narrow(zp->dtype) ? narrow::decode_table(zp->dtype) : nullptr;
  for (int64_t i = 0; i < n; i++) {
    (*scales)[i] = convert(value_at(s, i));
    (*zps)[i] = !zp ? 0 : table ? table[static_cast<const uint8_t*>(zp->data)[i]] : value_at(*zp, i);
  }
  return true;
}

const mx_tensor* present(const mx_kernel_ctx* ctx, int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? &ctx->inputs[i] : nullptr; }

// round_half_even(q) + zp saturated to [lo, hi] (default: TO's range); NaN gives 0.
template <class TO> inline TO saturate_round(float q, double zp, double lo = std::numeric_limits<TO>::min(), double hi = std::numeric_limits<TO>::max()) {
  double r = std::nearbyint((double)q) + zp;
  if (r != r) return TO(0);
  return TO(std::min(hi, std::max(lo, r)));
}

int quantize_linear(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &S = ctx->inputs[1], &Y = ctx->outputs[0];
  const int32_t prec = (int32_t)mx_attr_int(ctx->attrs, "precision", MX_FLOAT32);
  const qparams idx(X, S, ctx->attrs);
  float* scales;
  double* zps;
  if (!param_tables(S, present(ctx, 2), &scales, &zps, [&](double v) { return seq::round_to(prec, (float)v); })) return fail_oom(ctx, "QuantizeLinear");
  const int64_t n = numel(X);
  // A narrow integer y is stored as int8/uint8 with its own range.
  const bool narrow_int = narrow::is_int(Y.dtype);
  const int32_t storage = narrow_int ? (narrow::is_signed_int(Y.dtype) ? MX_INT8 : MX_UINT8) : Y.dtype;
  double lo = 0, hi = 0;
  if (narrow_int) narrow::int_range(Y.dtype, &lo, &hi);
  const bool ok = dispatch_among<float, f16, bf16, int32_t>(X.dtype, [&](auto tx) {
    using TX = decltype(tx);
    const TX* x = static_cast<const TX*>(X.data);
    const auto quotient = [&](int64_t k, int64_t p) { return seq::round_to(prec, seq::round_to(prec, (float)load(x[k])) / scales[p]); };
    if (narrow::is_narrow(Y.dtype) && !narrow_int) {
      const narrow::encoder enc(Y.dtype, ctx->attrs);
      uint8_t* y = static_cast<uint8_t*>(Y.data);
      parallel_for(ctx->pool, n, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; k++) {
          const int64_t p = idx(k);
          y[k] = enc.from_float((float)(quotient(k, p) + zps[p]));
        }
      });
      return;
    }
    dispatch_among<int8_t, uint8_t, int16_t, uint16_t>(storage, [&](auto ty) {
      using TO = decltype(ty);
      const double l = narrow_int ? lo : std::numeric_limits<TO>::min(), h = narrow_int ? hi : std::numeric_limits<TO>::max();
      TO* y = static_cast<TO*>(Y.data);
      parallel_for(ctx->pool, n, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; k++) {
          const int64_t p = idx(k);
          y[k] = saturate_round<TO>(quotient(k, p), zps[p], l, h);
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
  const auto run = [&](auto get) {
    return dispatch_among<float, f16, bf16>(Y.dtype, [&](auto ty) {
      using TO = decltype(ty);
      TO* y = static_cast<TO*>(Y.data);
      parallel_for(ctx->pool, n, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; k++) {
          const int64_t p = idx(k);
          y[k] = store<TO>((get(k) - zps[p]) * scales[p]);
        }
      });
    });
  };
  bool ok;
  if (narrow::is_narrow(X.dtype)) {
    const float* table = narrow::decode_table(X.dtype);
    const uint8_t* x = static_cast<const uint8_t*>(X.data);
    ok = run([&](int64_t k) { return (double)table[x[k]]; });
  } else {
    ok = dispatch_among<int8_t, uint8_t, int16_t, uint16_t, int32_t>(X.dtype, [&](auto tx) {
      using TX = decltype(tx);
      const TX* x = static_cast<const TX*>(X.data);
      run([&](int64_t k) { return (double)x[k]; });
    });
  }
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

#define MXCPU_QUANT_TYPES                                                                                                     \
  "int8", "uint8", "int16", "uint16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "float4e2m1", "int4", "uint4", \
      "int2", "uint2"
MXCPU_SEQ_KERNELS("QuantizeLinear", quantize_linear, {"float32", "float16", "bfloat16", "int32"}, {"float32", "float16", "bfloat16"},
                  {MXCPU_QUANT_TYPES});
MXCPU_SEQ_KERNELS("DequantizeLinear", dequantize_linear, {MXCPU_QUANT_TYPES, "int32"}, {"float32", "float16", "bfloat16"},
                  {"float32", "float16", "bfloat16"});
MXCPU_SEQ_KERNELS("DynamicQuantizeLinear", dynamic_quantize_linear);

}  // namespace mxcpu
