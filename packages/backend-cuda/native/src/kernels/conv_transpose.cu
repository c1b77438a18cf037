// ConvTranspose, gathered per output element (1 to 3 spatial dims, groups):
//   Y[n, g*Mg + m, o] = B[g*Mg + m] + sum over c of group g and tap t of
//     X[n, g*Cg + c, i] * W[g*Cg + c, m, t], where o = i * stride - pad_begin + t * dilation,
// i.e. each tap contributes when (o + pad_begin - t * dilation) is a multiple of
// the stride and i lies in the input. Core resolved auto_pad and output_shape:
// kernel_shape, strides, dilations and pads (begins may be negative) are explicit
// and Y arrives with its final shape. Floats accumulate in float (double for float64).
// Col2Im is the same gather with one input channel per output channel and unit
// weights: X [N, C*K, L] holds per channel c and tap t one value per block b of the
// `blocks` grid (L blocks, the "input" positions), and Y[n, c, o] sums every (t, b)
// with o = b * stride - pad_begin + t * dilation; positions outside the image drop.
#include "common.cuh"

namespace mxcuda {
namespace {

struct TGeom {
  int64_t n, c, cg, mo, mg;
  int64_t in[3], out[3], k[3], st[3], pad[3], dil[3];
  int64_t in_plane, out_plane, kprod;
};

// The s spatial axes of g (padded to 3 with leading unit axes) from per-axis
// input (or block) sizes, output sizes, kernel sizes and window attributes.
void set_axes(TGeom& g, int s, const int64_t* in, const int64_t* out, const int64_t* k, const int64_t* strides,
              const int64_t* dil, const int64_t* pads) {
  g.in_plane = g.out_plane = g.kprod = 1;
  for (int d = 0; d < 3; d++) {
    const int j = d - (3 - s);
    g.in[d] = j >= 0 ? in[j] : 1;
    g.out[d] = j >= 0 ? out[j] : 1;
    g.k[d] = j >= 0 ? k[j] : 1;
    g.st[d] = j >= 0 ? strides[j] : 1;
    g.dil[d] = j >= 0 ? dil[j] : 1;
    g.pad[d] = j >= 0 ? pads[j] : 0;
    g.in_plane *= g.in[d];
    g.out_plane *= g.out[d];
    g.kprod *= g.k[d];
  }
}

template <class T, bool Col>
__global__ void k_conv_transpose(TGeom g, const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b, T* __restrict__ y, int64_t total) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  MXC_GRID_LOOP(e, total) {
    const int64_t o = e % g.out_plane, ch = (e / g.out_plane) % g.mo, n = e / g.out_plane / g.mo;
    const int64_t grp = ch / g.mg, m = ch - grp * g.mg;
    const int64_t o2 = o % g.out[2], o1 = o / g.out[2] % g.out[1], o0 = o / g.out[2] / g.out[1];
    A acc = b ? A(up(b[ch])) : A(0);
    for (int64_t t0 = 0; t0 < g.k[0]; t0++) {
      const int64_t p0 = o0 + g.pad[0] - t0 * g.dil[0];
      if (p0 < 0 || p0 % g.st[0]) continue;
      const int64_t i0 = p0 / g.st[0];
      if (i0 >= g.in[0]) continue;
      for (int64_t t1 = 0; t1 < g.k[1]; t1++) {
        const int64_t p1 = o1 + g.pad[1] - t1 * g.dil[1];
        if (p1 < 0 || p1 % g.st[1]) continue;
        const int64_t i1 = p1 / g.st[1];
        if (i1 >= g.in[1]) continue;
        for (int64_t t2 = 0; t2 < g.k[2]; t2++) {
          const int64_t p2 = o2 + g.pad[2] - t2 * g.dil[2];
          if (p2 < 0 || p2 % g.st[2]) continue;
          const int64_t i2 = p2 / g.st[2];
          if (i2 >= g.in[2]) continue;
          const int64_t ipos = (i0 * g.in[1] + i1) * g.in[2] + i2, tap = (t0 * g.k[1] + t1) * g.k[2] + t2;
          if (Col) {
            acc += A(up(x[((n * g.c + ch) * g.kprod + tap) * g.in_plane + ipos]));
          } else {
            for (int64_t c = 0; c < g.cg; c++) {
              const int64_t ic = grp * g.cg + c;
              acc += A(up(x[(n * g.c + ic) * g.in_plane + ipos])) * A(up(w[(ic * g.mg + m) * g.kprod + tap]));
            }
          }
        }
      }
    }
    y[e] = convert<T>(acc);
  }
}

// The window attributes of ConvTranspose and Col2Im (s spatial dims).
bool window_of(const mx_kernel_ctx* ctx, int s, const int64_t** strides, const int64_t** dil, const int64_t** pads) {
  return s >= 1 && s <= 3 && mx_attr_ints(ctx->attrs, "strides", strides) == s && mx_attr_ints(ctx->attrs, "dilations", dil) == s &&
         mx_attr_ints(ctx->attrs, "pads", pads) == 2 * s;
}

template <class T> int conv_transpose(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  const mx_tensor* B = ctx->num_inputs > 2 && ctx->inputs[2].data ? &ctx->inputs[2] : nullptr;
  const int s = X.ndim - 2;
  const int64_t *strides, *dil, *pads;
  if (!window_of(ctx, s, &strides, &dil, &pads))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "ConvTranspose: needs 1 to 3 spatial dims and explicit strides, dilations, pads (X rank %d)", X.ndim);
  const int64_t group = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "group", 1));
  TGeom g{};
  g.n = X.shape[0];
  g.c = X.shape[1];
  g.cg = g.c / group;
  g.mg = W.shape[1];
  g.mo = g.mg * group;
  set_axes(g, s, X.shape + 2, Y.shape + 2, W.shape + 2, strides, dil, pads);
  const int64_t total = numel(Y);
  if (total)
    k_conv_transpose<T, false><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)X.data, (const T*)W.data,
                                                                                 B ? (const T*)B->data : nullptr, (T*)Y.data, total);
  return MX_OK;
}

template <class T> int col2im(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int s = Y.ndim - 2;
  const int64_t *blocks, *kernel, *strides, *dil, *pads;
  if (!window_of(ctx, s, &strides, &dil, &pads) || mx_attr_ints(ctx->attrs, "blocks", &blocks) != s ||
      mx_attr_ints(ctx->attrs, "kernel_shape", &kernel) != s || X.ndim != 3)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Col2Im: needs 1 to 3 image dims and explicit blocks and window attributes (image rank %d)", s);
  TGeom g{};
  g.n = Y.shape[0];
  g.c = g.mo = Y.shape[1];
  g.cg = g.mg = 1;
  set_axes(g, s, blocks, Y.shape + 2, kernel, strides, dil, pads);
  if (X.shape[1] != g.c * g.kprod || X.shape[2] != g.in_plane)
    return mx_fail(ctx, MX_ERR_INVALID, "Col2Im: input [%lld, %lld, %lld] does not hold %lld channels of %lld taps and %lld blocks",
                   (long long)X.shape[0], (long long)X.shape[1], (long long)X.shape[2], (long long)g.c, (long long)g.kprod, (long long)g.in_plane);
  const int64_t total = numel(Y);
  if (total)
    k_conv_transpose<T, true><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)X.data, nullptr, nullptr, (T*)Y.data, total);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_CONV_T(T, key, ...) MXC_KERNEL("ConvTranspose", key, (conv_transpose<T>)); MXC_KERNEL("Col2Im", key, (col2im<T>));
MXC_FLOAT_TYPES(REG_CONV_T, _)
