// Shape: Y = X's dims start..end as int64; core normalized `start` and `end`
// (clamped to [0, rank]) and Y's length is end - start.
// ConstantOfShape: every element of Y is the attr `value` (0 when absent)
// converted to Y's dtype; the shape input was folded by core.
// Range: Y[i] = start + i*delta; core folded the scalar inputs into the attrs
// `start` and `delta` (limit only sets Y's length). Integer types compute in
// int64 (wrapping), float types in double, then round to Y's dtype.
#include "movement.h"

namespace mxcpu::movement {
namespace {

int shape(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  int64_t start = mx_attr_int(ctx->attrs, "start", 0);
  if (start < 0) start += x.ndim;
  start = std::clamp<int64_t>(start, 0, x.ndim);
  const int64_t n = mx_numel(&y);
  if (start + n > x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "Shape: %lld dims from %lld exceed rank %d", (long long)n, (long long)start, x.ndim);
  int64_t* out = static_cast<int64_t*>(y.data);
  for (int64_t i = 0; i < n; i++) out[i] = x.shape[start + i];
  return MX_OK;
}

int constant_of_shape(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  alignas(8) unsigned char value[8] = {};
  scalar_bytes(y.dtype, attr_scalar(ctx->attrs, "value"), value);
  fill(y.data, mx_numel(&y), elem_size(y.dtype), value, ctx->pool);
  return MX_OK;
}

int range(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const scalar_value start = attr_scalar(ctx->attrs, "start"), delta = attr_scalar(ctx->attrs, "delta");
  bool ok = dispatch(y.dtype, [&](auto z) {
    using T = decltype(z);
    T* out = static_cast<T*>(y.data);
    par_items(ctx->pool, mx_numel(&y), 1, [&](int64_t b, int64_t e) {
      if constexpr (std::is_integral_v<T>) {
        const uint64_t s = uint64_t(start.i), dl = uint64_t(delta.i);  // unsigned: wraps without UB
        for (int64_t i = b; i < e; i++) out[i] = T(s + uint64_t(i) * dl);
      } else {
        for (int64_t i = b; i < e; i++) out[i] = store<T>(start.f + double(i) * delta.f);
      }
    });
  });
  return ok ? MX_OK : mx_fail(ctx, MX_ERR_UNSUPPORTED, "Range: dtype %d", y.dtype);
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("Shape", "", mxcpu::movement::shape);
MX_KERNEL_EVERY_DTYPE("ConstantOfShape", "", mxcpu::movement::constant_of_shape);
MX_KERNEL("Range", "float32", mxcpu::movement::range);
MX_KERNEL("Range", "float64", mxcpu::movement::range);
MX_KERNEL("Range", "float16", mxcpu::movement::range);
MX_KERNEL("Range", "bfloat16", mxcpu::movement::range);
MX_KERNEL("Range", "int16", mxcpu::movement::range);
MX_KERNEL("Range", "int32", mxcpu::movement::range);
MX_KERNEL("Range", "int64", mxcpu::movement::range);
