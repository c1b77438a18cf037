// Pad: each axis of X is first cropped by its negative pads, then padded by its
// positive ones: Y[o] = X'[i] with i_d = o_d - before_d mapped into [0, n_d) (the
// cropped size) by `mode`: constant (outside -> `value`), edge (clamp), reflect
// (mirror without repeating the edge, period 2(n-1), as NumPy for pads wider
// than the axis) or wrap (i mod n). Crop-then-pad is what onnxruntime does.
// Core folded the pads/constant_value/axes inputs into `pads` (begins then ends
// for every axis), `mode` and `value`, and gave Y its padded shape.
#include <vector>

#include "movement.h"

namespace mxcpu::movement {
namespace {

enum pad_mode { CONSTANT, EDGE, REFLECT, WRAP };

// Source index of output position o on an axis of input size n, or -1 for the constant.
inline int64_t pad_source(int64_t o, int64_t before, int64_t n, pad_mode mode) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case CONSTANT: return -1;
    case EDGE: return i < 0 ? 0 : n - 1;
    case WRAP: return ((i % n) + n) % n;
    case REFLECT: {
      if (n == 1) return 0;
      const int64_t p = 2 * (n - 1), m = ((i % p) + p) % p;
      return m < n ? m : p - m;
    }
  }
  return -1;
}

// Writes Y as rows: the axes before t choose each row's source (or make it all
// constant); axis t, the last padded one, is walked in blocks of `inner`
// elements (the unpadded axes after it, merged). map[d][o] is the input index
// that output index o of axis d reads, -1 for the constant; on axis t, outputs
// [lo, hi) read consecutive input.
template <class U>
void pad_rows(const mx_tensor& x, const mx_tensor& y, const std::vector<std::vector<int64_t>>& map, int t,
              int64_t inner, int64_t lo, int64_t hi, U value, const mx_pool* pool) {
  const int64_t no = y.shape[t], row = no * inner;
  int64_t xs[MX_MAX_DIMS];
  dense_strides(x, xs);
  const int64_t* m = map[t].data();
  const U* src = static_cast<const U*>(x.data);
  U* dst = static_cast<U*>(y.data);
  par_items(pool, mx_numel(&y) / row, row, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      U* dp = dst + r * row;
      int64_t off = 0, q = r;
      bool constant_row = false;
      for (int d = t - 1; d >= 0 && !constant_row; d--) {
        const int64_t i = map[d][q % y.shape[d]];
        q /= y.shape[d];
        constant_row = i < 0;
        off += i * xs[d];
      }
      if (constant_row) { std::fill(dp, dp + row, value); continue; }
      const U* sp = src + off;
      auto blocks = [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; o++) {
          if (m[o] < 0) std::fill(dp + o * inner, dp + (o + 1) * inner, value);
          else copy_run(dp + o * inner, sp + m[o] * inner, inner);
        }
      };
      blocks(0, lo);
      if (hi > lo) copy_run(dp + lo * inner, sp + m[lo] * inner, (hi - lo) * inner);
      blocks(hi, no);
    }
  });
}

int pad(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  const int es = elem_size(x.dtype);
  if (mx_numel(&y) == 0) return MX_OK;
  if (y.ndim == 0) { std::memcpy(y.data, x.data, size_t(es)); return MX_OK; }
  const char* ms = mx_attr_string(ctx->attrs, "mode", "constant");
  pad_mode mode;
  if (!std::strcmp(ms, "constant")) mode = CONSTANT;
  else if (!std::strcmp(ms, "edge")) mode = EDGE;
  else if (!std::strcmp(ms, "reflect")) mode = REFLECT;
  else if (!std::strcmp(ms, "wrap")) mode = WRAP;
  else return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Pad: mode '%s'", ms);
  const int64_t* pads;
  if (mx_attr_ints(ctx->attrs, "pads", &pads) != 2 * x.ndim || y.ndim != x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "Pad: pads must have 2*rank = %d entries", 2 * x.ndim);
  std::vector<std::vector<int64_t>> map(size_t(y.ndim));
  int t = 0;  // the last padded axis (0 when none is)
  int64_t lo = 0, hi = 0;
  for (int d = 0; d < y.ndim; d++) {
    const int64_t pb = pads[d], pe = pads[x.ndim + d], no = y.shape[d];
    const int64_t crop = std::max<int64_t>(-pb, 0), before = std::max<int64_t>(pb, 0);
    const int64_t n = x.shape[d] - crop - std::max<int64_t>(-pe, 0);  // size after cropping
    if (n < 0 || no != x.shape[d] + pb + pe)
      return mx_fail(ctx, MX_ERR_INVALID, "Pad: axis %d of size %lld with pads %lld, %lld cannot give %lld", d,
                     (long long)x.shape[d], (long long)pb, (long long)pe, (long long)no);
    if (n == 0 && mode != CONSTANT)
      return mx_fail(ctx, MX_ERR_INVALID, "Pad: mode '%s' cannot pad axis %d, which has no elements left", ms, d);
    map[d].resize(size_t(no));
    for (int64_t o = 0; o < no; o++) {
      const int64_t i = pad_source(o, before, n, mode);
      map[d][o] = i < 0 ? -1 : i + crop;
    }
    if (d == 0 || pb != 0 || pe != 0) {
      t = d;
      lo = std::min(before, no);
      hi = std::min(before + n, no);
    }
  }
  int64_t inner = 1;
  for (int d = t + 1; d < y.ndim; d++) inner *= y.shape[d];
  alignas(8) unsigned char value[8] = {};
  scalar_bytes(x.dtype, attr_scalar(ctx->attrs, "value"), value);
  by_size(es, [&](auto z) {
    using U = decltype(z);
    U v;
    std::memcpy(&v, value, sizeof(U));
    pad_rows<U>(x, y, map, t, inner, lo, hi, v, ctx->pool);
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("Pad", "", mxcpu::movement::pad);
