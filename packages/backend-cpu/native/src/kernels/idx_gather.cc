// Gathers that only move bytes, for every dtype:
// - GatherElements: Y has the shape of indices; Y[p] = X[p with coordinate `axis`
//   replaced by indices[p]] (core normalized `axis`).
// - GatherND: Y[t, ...] = X[b, tuple t, ...] for every index tuple t in the last dim
//   of the int64 indices, after `batch_dims` leading dims shared by X and indices.
// - Compress: Y takes the slices along `axis` at the positions `selected` (core
//   folded the condition; X is flattened when `axis` is absent).
// Negative indices count from the end; out-of-range ones fail before any write.
#include "idx_index.h"

namespace mxcpu::movement {
namespace {

int gather_elements(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1], &y = ctx->outputs[0];
  const idx::element_map map(x, ind, mx_attr_int(ctx->attrs, "axis", 0));
  if (int err = idx::check_indices(ctx, "GatherElements", ind, map.n)) return err;
  if (mx_numel(&y) == 0) return MX_OK;
  const int64_t rows = mx_numel(&y) / map.cols;
  by_size(elem_size(x.dtype), [&](auto z) {
    using U = decltype(z);
    const U* src = static_cast<const U*>(x.data);
    U* dst = static_cast<U*>(y.data);
    par_items(ctx->pool, rows, map.cols, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; r++) {
        const int64_t base = map.row_base(r);
        for (int64_t j = 0; j < map.cols; j++) dst[r * map.cols + j] = src[map.offset(base, r, j)];
      }
    });
  });
  return MX_OK;
}

int gather_nd(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1], &y = ctx->outputs[0];
  std::vector<int64_t> offsets;
  int64_t slice = 0;
  if (int err = idx::tuple_offsets(ctx, "GatherND", x, ind, int(mx_attr_int(ctx->attrs, "batch_dims", 0)), offsets, slice)) return err;
  if (mx_numel(&y) == 0) return MX_OK;
  by_size(elem_size(x.dtype), [&](auto z) {
    using U = decltype(z);
    const U* src = static_cast<const U*>(x.data);
    U* dst = static_cast<U*>(y.data);
    par_items(ctx->pool, int64_t(offsets.size()), slice, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; t++) copy_run(dst + t * slice, src + offsets[size_t(t)], slice);
    });
  });
  return MX_OK;
}

int compress(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", -1);
  const int64_t* sel;
  const int64_t k = mx_attr_ints(ctx->attrs, "selected", &sel);
  int64_t outer = 1, n = mx_numel(&x), inner = 1;
  if (axis >= 0) {
    n = x.shape[axis];
    for (int d = 0; d < axis; d++) outer *= x.shape[d];
    for (int d = int(axis) + 1; d < x.ndim; d++) inner *= x.shape[d];
  }
  for (int64_t i = 0; i < k; i++)
    if (sel[i] < 0 || sel[i] >= n) return mx_fail(ctx, MX_ERR_INVALID, "Compress: selected position %lld is out of range for %lld", (long long)sel[i], (long long)n);
  if (mx_numel(&y) == 0) return MX_OK;
  by_size(elem_size(x.dtype), [&](auto z) {
    using U = decltype(z);
    const U* src = static_cast<const U*>(x.data);
    U* dst = static_cast<U*>(y.data);
    par_items(ctx->pool, outer * k, inner, [&](int64_t b, int64_t e) {
      for (int64_t w = b; w < e; w++) copy_run(dst + w * inner, src + ((w / k) * n + sel[w % k]) * inner, inner);
    });
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("GatherElements", ",int32", mxcpu::movement::gather_elements);
MX_KERNEL_EVERY_DTYPE("GatherElements", ",int64", mxcpu::movement::gather_elements);
MX_KERNEL_EVERY_DTYPE("GatherND", "", mxcpu::movement::gather_nd);
MX_KERNEL_EVERY_DTYPE("Compress", "", mxcpu::movement::compress);
