// OneHot: Y = indices.shape[:axis] + [depth] + indices.shape[axis:] filled with
// values[0] (off), and values[1] (on) at Y[o, k, i] where k is the index at
// (o, i) of indices viewed as [outer, inner] around `axis`. Core folded `depth`
// and normalized `axis`. Indices of any numeric type are truncated toward zero;
// negative ones count from depth down; those still outside [0, depth) stay off.
#include "elementwise.h"
#include "movement.h"

namespace mxcpu::movement {
namespace {

int one_hot(mx_kernel_ctx* ctx) {
  const mx_tensor &ind = ctx->inputs[0], &vals = ctx->inputs[2], &y = ctx->outputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0), depth = mx_attr_int(ctx->attrs, "depth", 0);
  int64_t inner = 1;
  for (int d = int(axis); d < ind.ndim; d++) inner *= ind.shape[d];
  const int es = elem_size(y.dtype);
  const char* on = static_cast<const char*>(vals.data) + es;
  fill(y.data, mx_numel(&y), es, vals.data, ctx->pool);
  char* dst = static_cast<char*>(y.data);
  const bool ok = dispatch(ind.dtype, [&](auto z) {
    using T = decltype(z);
    const T* idx = static_cast<const T*>(ind.data);
    for (int64_t i = 0, n = mx_numel(&ind); i < n; i++) {
      int64_t k;
      if constexpr (is_float_v<T>) k = trunc_i64(double(load(idx[i])));
      else k = int64_t(idx[i]);
      if (k < 0) k += depth;
      if (k >= 0 && k < depth) std::memcpy(dst + ((i / inner * depth + k) * inner + i % inner) * es, on, size_t(es));
    }
  });
  return ok ? MX_OK : mx_fail(ctx, MX_ERR_UNSUPPORTED, "OneHot: indices of dtype %d", ind.dtype);
}

}  // namespace
}  // namespace mxcpu::movement

// The key is "T1,T3": the indices dtype, then the values (and output) dtype.
#define ONE_HOT(key) MX_KERNEL("OneHot", key, mxcpu::movement::one_hot);
#define REG_ONE_HOT(T, key, ...)                                                                         \
  ONE_HOT(key ",float32") ONE_HOT(key ",float64") ONE_HOT(key ",float16") ONE_HOT(key ",bfloat16")       \
  ONE_HOT(key ",int8") ONE_HOT(key ",uint8") ONE_HOT(key ",int16") ONE_HOT(key ",uint16")                \
  ONE_HOT(key ",int32") ONE_HOT(key ",uint32") ONE_HOT(key ",int64") ONE_HOT(key ",uint64") ONE_HOT(key ",bool")
MXCPU_NUMERIC_TYPES(REG_ONE_HOT, _)
