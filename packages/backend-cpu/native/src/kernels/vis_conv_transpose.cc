// Column scatters: ConvTranspose and Col2Im (1 to 3 spatial dims).
//   Col2Im: input [N, C*K, L] holds, per channel c and kernel tap t (K taps of
//     kernel_shape = block_shape), one value per block b of the `blocks` grid (L
//     blocks). Y[n, c, o] sums every (t, b) with o = b * stride - pad_begin + t *
//     dilation per axis; positions outside the image are dropped.
//   ConvTranspose: Y[n, g*Mg + m, o] = B[m] + sum over c of its group, input position
//     i and tap t with o = i * stride - pad_begin + t * dilation of
//     X[n, g*Cg + c, i] * W[g*Cg + c, m, t]. Per image and group this is one GEMM,
//     col[Mg*K, in plane] = W_g^T x X_g, then the Col2Im scatter of col with the
//     input positions as blocks.
// Core resolved auto_pad and output_shape: kernel_shape, strides, dilations and
// pads (begins may be negative for ConvTranspose) are explicit; Col2Im also gets
// `blocks`. Y arrives with its final shape.
#include <algorithm>
#include <atomic>

#include "gemm.h"

namespace mxcpu {
namespace {

// Scatter geometry with the spatial dims padded to 3 (leading unit dims).
struct scatter_geom {
  int64_t blocks[3], image[3], k[3], s[3], d[3], p[3];
  int64_t L = 1, P = 1, K = 1;  // blocks, image plane size, taps
};

// n spatial dims; blocks and image given per axis, the window from the attrs.
bool geometry(const mx_attrs* attrs, int n, const int64_t* blocks, const int64_t* image, scatter_geom* g) {
  const int64_t *kernel, *strides, *dil, *pads;
  if (n < 1 || n > 3 || mx_attr_ints(attrs, "kernel_shape", &kernel) != n || mx_attr_ints(attrs, "strides", &strides) != n ||
      mx_attr_ints(attrs, "dilations", &dil) != n || mx_attr_ints(attrs, "pads", &pads) != 2 * n)
    return false;
  for (int a = 0; a < 3; a++) {
    const int i = a - (3 - n);  // spatial axis, < 0 for the padded leading dims
    g->blocks[a] = i < 0 ? 1 : blocks[i];
    g->image[a] = i < 0 ? 1 : image[i];
    g->k[a] = i < 0 ? 1 : kernel[i];
    g->s[a] = i < 0 ? 1 : strides[i];
    g->d[a] = i < 0 ? 1 : dil[i];
    g->p[a] = i < 0 ? 0 : pads[i];
    g->L *= g->blocks[a];
    g->P *= g->image[a];
    g->K *= g->k[a];
  }
  return true;
}

// Adds one channel's columns col[K, L] into its image y[P].
template <class T> void scatter_channel(const scatter_geom& g, const T* col, T* y) {
  for (int64_t t = 0; t < g.K; t++) {
    const int64_t t2 = t % g.k[2], t1 = t / g.k[2] % g.k[1], t0 = t / (g.k[2] * g.k[1]);
    const int64_t off2 = t2 * g.d[2] - g.p[2];
    // blocks b2 whose position b2 * s + off2 lies in [0, image[2])
    const int64_t lo = off2 >= 0 ? 0 : std::min(g.blocks[2], (-off2 + g.s[2] - 1) / g.s[2]);
    const int64_t hi = std::max(lo, std::min(g.blocks[2], g.image[2] - off2 <= 0 ? 0 : (g.image[2] - off2 + g.s[2] - 1) / g.s[2]));
    for (int64_t b0 = 0; b0 < g.blocks[0]; b0++) {
      const int64_t o0 = b0 * g.s[0] - g.p[0] + t0 * g.d[0];
      if (o0 < 0 || o0 >= g.image[0]) continue;
      for (int64_t b1 = 0; b1 < g.blocks[1]; b1++) {
        const int64_t o1 = b1 * g.s[1] - g.p[1] + t1 * g.d[1];
        if (o1 < 0 || o1 >= g.image[1]) continue;
        const T* src = col + t * g.L + (b0 * g.blocks[1] + b1) * g.blocks[2];
        T* dst = y + (o0 * g.image[1] + o1) * g.image[2];
        for (int64_t b2 = lo; b2 < hi; b2++) dst[b2 * g.s[2] + off2] += src[b2];
      }
    }
  }
}

template <class T> int col2im(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int64_t* blocks;
  scatter_geom g;
  const int n = Y.ndim - 2;
  if (mx_attr_ints(ctx->attrs, "blocks", &blocks) != n || !geometry(ctx->attrs, n, blocks, Y.shape + 2, &g))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Col2Im: needs 1 to 3 image dims and explicit blocks and window attributes (image rank %d)", n);
  const int64_t planes = Y.shape[0] * Y.shape[1];
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(Y.data);
  parallel_for(ctx->pool, planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g.K * g.L)), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      std::fill(y + c * g.P, y + (c + 1) * g.P, T(0));
      scatter_channel(g, x + c * g.K * g.L, y + c * g.P);
    }
  });
  return MX_OK;
}

template <class T> int conv_transpose(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  const mx_tensor* bias = ctx->num_inputs > 2 && ctx->inputs[2].data ? &ctx->inputs[2] : nullptr;
  scatter_geom g;
  if (!geometry(ctx->attrs, X.ndim - 2, X.shape + 2, Y.shape + 2, &g))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "ConvTranspose: %d spatial dims (1 to 3 are supported)", X.ndim - 2);
  const int64_t N = X.shape[0], C = X.shape[1], Mg = W.shape[1];
  const int64_t G = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "group", 1));
  const int64_t Cg = C / G, M = Mg * G, rows = Mg * g.K;
  const T* x = static_cast<const T*>(X.data);
  const T* w = static_cast<const T*>(W.data);
  T* y = static_cast<T*>(Y.data);
  const T* b = bias ? static_cast<const T*>(bias->data) : nullptr;
  parallel_for(ctx->pool, N * M, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.P)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) std::fill(y + r * g.P, y + (r + 1) * g.P, b ? b[r % M] : T(0));
  });
  if (N * M * g.P == 0 || g.L == 0) return MX_OK;
  T* col = static_cast<T*>(scratch(SCRATCH_OP, sizeof(T) * rows * g.L));
  if (!col) return fail_oom(ctx, "ConvTranspose");
  for (int64_t u = 0; u < N * G; u++) {
    const int64_t n = u / G, gi = u % G;
    // col[rows, L] = W_g^T [rows, Cg] x X_g [Cg, L]; W_g is [Cg, rows] row-major.
    if (!gemm(ctx->pool, rows, g.L, Cg, T(1), {w + gi * Cg * rows, 1, rows}, {x + (n * C + gi * Cg) * g.L, g.L, 1}, T(0), col, g.L))
      return fail_oom(ctx, "ConvTranspose");
    T* yg = y + (n * M + gi * Mg) * g.P;
    parallel_for(ctx->pool, Mg, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g.K * g.L)), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) scatter_channel(g, col + m * g.K * g.L, yg + m * g.P);
    });
  }
  return MX_OK;
}

int conv_transpose_half(mx_kernel_ctx* ctx) { return run_widened(ctx, conv_transpose<float>); }
int col2im_half(mx_kernel_ctx* ctx) { return run_widened(ctx, col2im<float>); }

}  // namespace

MX_KERNEL("ConvTranspose", "float32", conv_transpose<float>);
MX_KERNEL("ConvTranspose", "float64", conv_transpose<double>);
MX_KERNEL("ConvTranspose", "float16", conv_transpose_half);
MX_KERNEL("ConvTranspose", "bfloat16", conv_transpose_half);
MX_KERNEL("Col2Im", "float32", col2im<float>);
MX_KERNEL("Col2Im", "float64", col2im<double>);
MX_KERNEL("Col2Im", "float16", col2im_half);
MX_KERNEL("Col2Im", "bfloat16", col2im_half);

}  // namespace mxcpu
