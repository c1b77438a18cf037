// Gather: Y[o, j, i] = X[o, idx[j], i], viewing X as [outer, X.shape[axis], inner]
// and the indices flattened to j; Y's shape is X.shape[:axis] + indices.shape +
// X.shape[axis+1:]. Core normalized `axis`. Negative indices count from the end;
// any index outside [-n, n) fails with MX_ERR_INVALID before anything is written.
#include "movement.h"

namespace mxcpu::movement {
namespace {

// Output rows [b, e) of `inner` elements; row r = o*ni + j reads X[o, idx[j], :].
template <class U, class I>
void gather_rows(U* dst, const U* src, const I* idx, int64_t n, int64_t ni, int64_t inner, int64_t b, int64_t e) {
  int64_t o = b / ni, j = b % ni;
  while (b < e) {
    const U* so = src + o * n * inner;
    const int64_t jend = std::min(ni, j + (e - b));
    for (; j < jend; j++, b++) {
      const int64_t i = int64_t(idx[j]) < 0 ? int64_t(idx[j]) + n : int64_t(idx[j]);
      if (inner == 1) dst[b] = so[i];
      else copy_run(dst + b * inner, so + i * inner, inner);
    }
    j = 0;
    o++;
  }
}

template <class I>
int gather_with(mx_kernel_ctx* ctx, int64_t axis) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& ind = ctx->inputs[1];
  const mx_tensor& y = ctx->outputs[0];
  const I* idx = static_cast<const I*>(ind.data);
  const int64_t ni = mx_numel(&ind), n = x.shape[axis];
  for (int64_t j = 0; j < ni; j++) {
    const int64_t i = int64_t(idx[j]);
    if (i < -n || i >= n)
      return mx_fail(ctx, MX_ERR_INVALID, "Gather: index %lld (at flat position %lld of indices) is out of range for axis %lld of size %lld",
                     (long long)i, (long long)j, (long long)axis, (long long)n);
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= x.shape[d];
  for (int d = int(axis) + 1; d < x.ndim; d++) inner *= x.shape[d];
  if (mx_numel(&y) == 0) return MX_OK;
  by_size(elem_size(x.dtype), [&](auto z) {
    using U = decltype(z);
    const U* src = static_cast<const U*>(x.data);
    U* dst = static_cast<U*>(y.data);
    par_items(ctx->pool, outer * ni, inner, [&](int64_t b, int64_t e) { gather_rows(dst, src, idx, n, ni, inner, b, e); });
  });
  return MX_OK;
}

int gather(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0);
  if (axis < 0 || axis >= x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "Gather: axis %lld is out of range for rank %d", (long long)axis, x.ndim);
  switch (ctx->inputs[1].dtype) {
    case MX_INT32: return gather_with<int32_t>(ctx, axis);
    case MX_INT64: return gather_with<int64_t>(ctx, axis);
    default: return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Gather: indices of dtype %d", ctx->inputs[1].dtype);
  }
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("Gather", ",int32", mxcpu::movement::gather);
MX_KERNEL_EVERY_DTYPE("Gather", ",int64", mxcpu::movement::gather);
