// Slice: Y[i_0, ..., i_{n-1}] = X[starts[0] + i_0*steps[0], ...].
// Core folded the starts/ends/axes/steps inputs into `starts` and `steps`, one per
// axis (clamped and normalized; unsliced axes have start 0, step 1; steps may be
// negative); Y's shape gives the count per axis.
#include "movement.h"

namespace mxcpu::movement {
namespace {

int slice(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  const int64_t *starts, *steps;
  int32_t ns = mx_attr_ints(ctx->attrs, "starts", &starts), nt = mx_attr_ints(ctx->attrs, "steps", &steps);
  if (ns != x.ndim || nt != x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "Slice: starts/steps have %d/%d entries for rank %d", ns, nt, x.ndim);
  int64_t xs[MX_MAX_DIMS];
  dense_strides(x, xs);
  strided v;
  for (int d = 0; d < x.ndim; d++) {
    const int64_t last = starts[d] + (y.shape[d] - 1) * steps[d];  // last index read on axis d
    if (starts[d] < 0 || starts[d] >= x.shape[d] || last < 0 || last >= x.shape[d])
      return mx_fail(ctx, MX_ERR_INVALID, "Slice: axis %d reads indices %lld..%lld of a dim of size %lld", d,
                     (long long)starts[d], (long long)last, (long long)x.shape[d]);
    v.offset += starts[d] * xs[d];
    v.push(y.shape[d], xs[d] * steps[d]);
  }
  strided_copy(y.data, x.data, v, elem_size(x.dtype), ctx->pool);
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("Slice", "", mxcpu::movement::slice);
