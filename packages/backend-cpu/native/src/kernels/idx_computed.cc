// Ops whose result core computed in the shape rule, because the output shape
// depends on input values (see ops/indexing.ts); the kernels copy the folded
// attributes into the outputs:
// - NonZero: `indices` -> Y (int64 [rank, count]).
// - Unique: `values` -> Y (converted to Y's dtype; exact for integers up to 2^53),
//   then the optional int64 outputs `indices`, `inverse_indices`, `counts`.
// - NonMaxSuppression: `selected` -> selected_indices (int64 [count, 3]).
#include "elementwise.h"

namespace mxcpu {
namespace {

// Copies the int list attribute `name` into int64 output k; its length must match.
int ints_to_output(mx_kernel_ctx* ctx, const char* op, const char* name, int k) {
  const mx_tensor& y = ctx->outputs[k];
  const mx_attr* a = mx_attr_find(ctx->attrs, name);
  const int64_t n = a && a->type == MX_ATTR_INTS ? a->count : -1;
  if (n != mx_numel(&y)) return mx_fail(ctx, MX_ERR_INVALID, "%s: attribute '%s' has %lld values for output %d of %lld elements", op, name, (long long)n, k, (long long)mx_numel(&y));
  if (n > 0) std::memcpy(y.data, a->ints, size_t(n) * sizeof(int64_t));
  return MX_OK;
}

int non_zero(mx_kernel_ctx* ctx) { return ints_to_output(ctx, "NonZero", "indices", 0); }

int non_max_suppression(mx_kernel_ctx* ctx) { return ints_to_output(ctx, "NonMaxSuppression", "selected", 0); }

template <class T> int unique_kernel(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const mx_attr* a = mx_attr_find(ctx->attrs, "values");
  // a numeric list carries both views: `floats` holds every value
  if (!a || (a->type != MX_ATTR_INTS && a->type != MX_ATTR_FLOATS) || a->count != mx_numel(&y))
    return mx_fail(ctx, MX_ERR_INVALID, "Unique: attribute 'values' does not match Y's %lld elements", (long long)mx_numel(&y));
  T* out = out_data<T>(ctx, 0);
  for (int32_t i = 0; i < a->count; i++) out[i] = convert<T>(a->floats[i]);
  static const char* const extra[] = {"indices", "inverse_indices", "counts"};
  for (int k = 1; k < ctx->num_outputs && k <= 3; k++)
    if (int err = ints_to_output(ctx, "Unique", extra[k - 1], k)) return err;
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_UNIQUE(T, key, ...) MX_KERNEL("Unique", key, (unique_kernel<T>));
MXCPU_ALL_TYPES(REG_UNIQUE, _)
MX_KERNEL("NonZero", "", non_zero);
MX_KERNEL("NonMaxSuppression", "", non_max_suppression);
