// Expand: Y = X broadcast (NumPy rules, right-aligned) to Y's shape.
// Tile: Y[i] = X[i mod X.shape] per axis; Y's shape is X's times the repeats.
// Core folded the shape/repeats inputs; Y arrives with its final shape. Both
// are strided copies: a broadcast axis has source stride 0, and a tiled axis of
// size r*n is split into (r, stride 0) x (n, the axis' stride).
#include "movement.h"

namespace mxcpu::movement {
namespace {

int expand(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  int64_t xs[MX_MAX_DIMS];
  dense_strides(x, xs);
  const int lead = y.ndim - x.ndim;
  if (lead < 0) return mx_fail(ctx, MX_ERR_INVALID, "Expand: output rank %d is below input rank %d", y.ndim, x.ndim);
  strided v;
  for (int d = 0; d < y.ndim; d++) {
    const int k = d - lead;
    const int64_t n = k < 0 ? 1 : x.shape[k];
    if (n != 1 && n != y.shape[d])
      return mx_fail(ctx, MX_ERR_INVALID, "Expand: input dim %d of size %lld does not broadcast to %lld", k,
                     (long long)n, (long long)y.shape[d]);
    v.push(y.shape[d], n == 1 ? 0 : xs[k]);
  }
  strided_copy(y.data, x.data, v, elem_size(x.dtype), ctx->pool);
  return MX_OK;
}

int tile(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  if (y.ndim != x.ndim) return mx_fail(ctx, MX_ERR_INVALID, "Tile: output rank %d differs from input rank %d", y.ndim, x.ndim);
  int64_t xs[MX_MAX_DIMS];
  dense_strides(x, xs);
  strided v;
  for (int d = 0; d < x.ndim; d++) {
    if (y.shape[d] % x.shape[d] != 0)
      return mx_fail(ctx, MX_ERR_INVALID, "Tile: output dim %d of size %lld is not a multiple of %lld", d,
                     (long long)y.shape[d], (long long)x.shape[d]);
    v.push(y.shape[d] / x.shape[d], 0);
    v.push(x.shape[d], xs[d]);
  }
  strided_copy(y.data, x.data, v, elem_size(x.dtype), ctx->pool);
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("Expand", "", mxcpu::movement::expand);
MX_KERNEL_EVERY_DTYPE("Tile", "", mxcpu::movement::tile);
