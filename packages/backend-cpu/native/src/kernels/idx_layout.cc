// Rearrangements and generators that only move bytes, for every dtype:
// - DepthToSpace (mode DCR/CRD) and SpaceToDepth on N x C x H x W: strided copies
//   (see each function for the element mapping).
// - Trilu: keeps column - row >= k (upper=1) or <= k (upper=0) in the last two
//   dims and zeroes the rest (core folded k).
// - ReverseSequence: reverses the first sequence_lens[b] steps along time_axis of
//   every batch entry b (time and batch axes are 0 and 1); lengths must lie in
//   [0, steps].
// - EyeLike: ones of the output dtype on diagonal k, zeros elsewhere.
// - Size: the element count of the input as an int64 scalar.
// - Dropout (inference; core runs this only when the mask is asked for): Y = X and
//   an all-true mask.
// A zero of every dtype is all zero bytes.
#include "elementwise.h"
#include "movement.h"

namespace mxcpu::movement {
namespace {

// DCR: y[n, c, h*b + i, w*b + j] = x[n, (i*b + j)*C' + c, h, w] with C' = C / b^2;
// CRD: the same from x[n, c*b^2 + i*b + j, h, w]. Y is walked as [N, C', H, b, W, b].
int depth_to_space(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t b = mx_attr_int(ctx->attrs, "blocksize", 1);
  const bool crd = std::strcmp(mx_attr_string(ctx->attrs, "mode", "DCR"), "CRD") == 0;
  const int64_t c = y.shape[1], h = x.shape[2], w = x.shape[3], plane = h * w;
  strided v;
  v.push(x.shape[0], x.shape[1] * plane);
  v.push(c, crd ? b * b * plane : plane);
  v.push(h, w);
  v.push(b, crd ? b * plane : b * c * plane);
  v.push(w, 1);
  v.push(b, crd ? plane : c * plane);
  strided_copy(y.data, x.data, v, elem_size(x.dtype), ctx->pool);
  return MX_OK;
}

// y[n, (i*b + j)*C + c, h, w] = x[n, c, h*b + i, w*b + j]. Y is walked as [N, b, b, C, H/b, W/b].
int space_to_depth(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t b = mx_attr_int(ctx->attrs, "blocksize", 1);
  const int64_t c = x.shape[1], w = x.shape[3], plane = x.shape[2] * w;
  strided v;
  v.push(x.shape[0], c * plane);
  v.push(b, w);
  v.push(b, 1);
  v.push(c, plane);
  v.push(y.shape[2], b * w);
  v.push(y.shape[3], b);
  strided_copy(y.data, x.data, v, elem_size(x.dtype), ctx->pool);
  return MX_OK;
}

int trilu(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t k = mx_attr_int(ctx->attrs, "k", 0);
  const bool upper = mx_attr_int(ctx->attrs, "upper", 1) != 0;
  const int64_t rows = x.shape[x.ndim - 2], cols = x.shape[x.ndim - 1], es = elem_size(x.dtype);
  const char* src = static_cast<const char*>(x.data);
  char* dst = static_cast<char*>(y.data);
  if (rows == 0 || cols == 0) return MX_OK;
  par_items(ctx->pool, mx_numel(&x) / cols, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      // Row i keeps columns [lo, hi): upper j >= i + k, lower j <= i + k.
      const int64_t i = r % rows, lo = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
      const int64_t hi = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
      char* d = dst + r * cols * es;
      std::memset(d, 0, size_t(lo * es));
      if (hi > lo) std::memcpy(d + lo * es, src + (r * cols + lo) * es, size_t((hi - lo) * es));
      std::memset(d + hi * es, 0, size_t((cols - hi) * es));
    }
  });
  return MX_OK;
}

int reverse_sequence(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &lens_t = ctx->inputs[1], &y = ctx->outputs[0];
  const bool batch_first = mx_attr_int(ctx->attrs, "batch_axis", 1) == 0;
  const int64_t steps = x.shape[batch_first ? 1 : 0], d1 = x.shape[1];
  const int64_t* lens = static_cast<const int64_t*>(lens_t.data);
  for (int64_t i = 0; i < mx_numel(&lens_t); i++)
    if (lens[i] < 0 || lens[i] > steps)
      return mx_fail(ctx, MX_ERR_INVALID, "ReverseSequence: sequence_lens[%lld] = %lld is out of range [0, %lld]", (long long)i,
                     (long long)lens[i], (long long)steps);
  const int64_t inner = d1 > 0 ? mx_numel(&x) / (x.shape[0] * d1) : 0, es = elem_size(x.dtype);
  if (inner == 0) return MX_OK;
  const char* src = static_cast<const char*>(x.data);
  char* dst = static_cast<char*>(y.data);
  // Block (i0, i1) of `inner` elements: time t = i1 or i0, batch the other one.
  par_items(ctx->pool, x.shape[0] * d1, inner, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; blk++) {
      const int64_t i0 = blk / d1, i1 = blk % d1;
      const int64_t t = batch_first ? i1 : i0, len = lens[batch_first ? i0 : i1];
      const int64_t st = t < len ? len - 1 - t : t;
      const int64_t from = batch_first ? i0 * d1 + st : st * d1 + i1;
      std::memcpy(dst + blk * inner * es, src + from * inner * es, size_t(inner * es));
    }
  });
  return MX_OK;
}

int eye_like(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t k = mx_attr_int(ctx->attrs, "k", 0), rows = y.shape[0], cols = y.shape[1];
  const int es = elem_size(y.dtype);
  alignas(8) unsigned char one[8] = {};
  scalar_bytes(y.dtype, scalar_value{1, 1.0}, one);
  char* dst = static_cast<char*>(y.data);
  std::memset(dst, 0, size_t(rows * cols * es));
  for (int64_t i = std::max<int64_t>(0, -k); i < rows && i + k < cols; i++) std::memcpy(dst + (i * cols + i + k) * es, one, size_t(es));
  return MX_OK;
}

int size(mx_kernel_ctx* ctx) {
  *static_cast<int64_t*>(ctx->outputs[0].data) = mx_numel(&ctx->inputs[0]);
  return MX_OK;
}

int dropout(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  if (y.data != x.data) copy_rows(y.data, 0, x.data, 0, 1, mx_numel(&x) * elem_size(x.dtype), ctx->pool);
  if (ctx->num_outputs > 1 && ctx->outputs[1].data) std::memset(ctx->outputs[1].data, 1, size_t(mx_numel(&ctx->outputs[1])));
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("DepthToSpace", "", mxcpu::movement::depth_to_space);
MX_KERNEL_EVERY_DTYPE("SpaceToDepth", "", mxcpu::movement::space_to_depth);
MX_KERNEL_EVERY_DTYPE("Trilu", "", mxcpu::movement::trilu);
MX_KERNEL_EVERY_DTYPE("ReverseSequence", "", mxcpu::movement::reverse_sequence);
MX_KERNEL_EVERY_DTYPE("Size", "", mxcpu::movement::size);
#define REG_DROPOUT(T, key, ...) MX_KERNEL("Dropout", key, mxcpu::movement::dropout);
MXCPU_FLOAT_TYPES(REG_DROPOUT, _)
// EyeLike's key is "T1,T2": the input dtype (only its shape is read), then the output's.
#define REG_EYE_LIKE(T, key, ...) MX_KERNEL_EVERY_DTYPE("EyeLike", "," key, mxcpu::movement::eye_like);
MXCPU_ALL_TYPES(REG_EYE_LIKE, _)
