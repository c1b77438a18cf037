// Concat: Y = the inputs joined along `axis`. Split: the reverse, into the
// outputs along `axis`. Core normalized `axis` (non-negative) and checked that
// all other dims agree; the pieces' sizes along `axis` are read from the shapes
// (Split's folded `split` attr says the same). Both views are 2-D: `outer` rows
// (the dims before axis), each the concatenation of every piece's row.
#include "movement.h"

namespace mxcpu::movement {
namespace {

// Copies between the big tensor `whole` and its pieces along `axis`;
// to_whole: Concat (pieces -> whole), else Split.
int join(mx_kernel_ctx* ctx, const char* op, const mx_tensor& whole, const mx_tensor* pieces, int count, bool to_whole) {
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0);
  if (axis < 0 || axis >= whole.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: axis %lld is out of range for rank %d", op, (long long)axis, whole.ndim);
  const int64_t es = elem_size(whole.dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= whole.shape[d];
  for (int d = int(axis) + 1; d < whole.ndim; d++) inner *= whole.shape[d];
  const int64_t whole_row = whole.shape[axis] * inner * es;
  int64_t off = 0, total = 0;
  for (int k = 0; k < count; k++) total += pieces[k].ndim == whole.ndim ? pieces[k].shape[axis] : -1;
  if (total != whole.shape[axis])
    return mx_fail(ctx, MX_ERR_INVALID, "%s: pieces along axis %lld do not add up to %lld", op, (long long)axis,
                   (long long)whole.shape[axis]);
  char* w = static_cast<char*>(whole.data);
  for (int k = 0; k < count; k++) {
    const int64_t row = pieces[k].shape[axis] * inner * es;
    if (to_whole) copy_rows(w + off, whole_row, pieces[k].data, row, outer, row, ctx->pool);
    else copy_rows(pieces[k].data, row, w + off, whole_row, outer, row, ctx->pool);
    off += row;
  }
  return MX_OK;
}

int concat(mx_kernel_ctx* ctx) { return join(ctx, "Concat", ctx->outputs[0], ctx->inputs, ctx->num_inputs, true); }

int split(mx_kernel_ctx* ctx) { return join(ctx, "Split", ctx->inputs[0], ctx->outputs, ctx->num_outputs, false); }

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("Concat", "", mxcpu::movement::concat);
MX_KERNEL_EVERY_DTYPE("Split", "", mxcpu::movement::split);
