// cudnn_layout.h: how an ONNX Conv maps onto cuDNN's legacy descriptors, as a
// pure host function (no CUDA or cuDNN needed, so test/cudnn-layout.cc checks it
// without a GPU). Used by cudnn.cc.
//
// Mapping: X [N, C, s...] and Y [N, M, s...] are packed NCHW / NCDHW tensors, W
// [M, C/group, k...] a filter in the same order, the convolution a
// cross-correlation (what ONNX Conv computes) with group count `group`. cuDNN's
// legacy tensors have 4 or 5 dims, so a 1-D convolution is a 2-D one over a
// height of 1 (pad 0, stride 1, dilation 1 there).
//
// Padding: cuDNN pads both ends of a dim by the same amount p, and its output
// size is (in + 2p - dil (k - 1) - 1) / stride + 1. With ONNX's (begin, end) pads,
// output o reads inputs o*stride - begin + t*dil whatever the end pad is, so
// p = begin computes the same elements; the end pad only sets how many there
// are. The layout is therefore accepted when cuDNN's size with p = begin equals
// Y's (always for symmetric pads; also e.g. SAME_LOWER at stride 2) and refused
// otherwise, and the caller runs its own kernel.
//
// cuDNN's legacy API indexes with 32-bit ints: every dim and every tensor's
// element count must fit in an int.
#pragma once

#include <climits>
#include <cstdint>

namespace mxcuda {

struct CudnnConvLayout {
  int nb;                  // rank of the tensor and filter descriptors: 4 or 5
  int x[5], xs[5];         // X's dims and packed strides
  int y[5], ys[5];         // Y's
  int w[5];                // W's dims (a filter descriptor has no strides)
  int nconv;               // spatial dims of the convolution descriptor: nb - 2
  int pad[3], stride[3], dil[3];
  int group;
};

// Fills *out and returns nullptr, or returns why cuDNN cannot compute this Conv.
// ndim is the rank of X, W and Y (3 to 5); strides, dilations and pads are Conv's
// attributes as core passes them (missing entries: stride 1, dilation 1, pad 0;
// pads are the begins then the ends).
inline const char* cudnn_conv_layout(int ndim, const int64_t* x, const int64_t* w, const int64_t* y, int nstrides,
                                     const int64_t* strides, int ndil, const int64_t* dil, int npads,
                                     const int64_t* pads, int64_t group, CudnnConvLayout* out) {
  const int s = ndim - 2;
  if (s < 1 || s > 3) return "not 1 to 3 spatial dims";
  if (group < 1 || group > INT_MAX || x[1] % group || w[0] % group || w[1] * group != x[1] || y[1] != w[0] || y[0] != x[0])
    return "channels and groups do not match";
  const int lead = s == 1 ? 1 : 0;  // the height of 1 a 1-D convolution gets
  out->nb = ndim + lead;
  out->nconv = s + lead;
  out->group = (int)group;
  int64_t xn = 1, yn = 1, wn = 1;
  for (int d = 0; d < out->nb; d++) {
    // d indexes the cuDNN dims, j the ONNX dims (-1: the inserted height of 1).
    const int j = !lead ? d : d == 2 ? -1 : d == 3 ? 2 : d;
    const int64_t xd = j < 0 ? 1 : x[j], yd = j < 0 ? 1 : y[j], wd = j < 0 ? 1 : w[j];
    if (xd < 1 || yd < 1 || wd < 1) return "an empty tensor";
    if (xd > INT_MAX || yd > INT_MAX || wd > INT_MAX) return "a dim beyond 32 bits";
    out->x[d] = (int)xd;
    out->y[d] = (int)yd;
    out->w[d] = (int)wd;
    xn *= xd;
    yn *= yd;
    wn *= wd;
    if (xn > INT_MAX || yn > INT_MAX || wn > INT_MAX) return "a tensor beyond 2^31 elements";
  }
  for (int d = out->nb - 1, xa = 1, ya = 1; d >= 0; d--) {
    out->xs[d] = xa;
    out->ys[d] = ya;
    xa *= out->x[d];
    ya *= out->y[d];
  }
  for (int c = 0; c < out->nconv; c++) {
    const int j = c - lead;  // spatial index in the ONNX attributes; -1: the inserted height
    const int64_t st = j < 0 ? 1 : j < nstrides ? strides[j] : 1;
    const int64_t dl = j < 0 ? 1 : j < ndil ? dil[j] : 1;
    const int64_t pb = j < 0 ? 0 : j < npads ? pads[j] : 0;
    if (st < 1 || dl < 1 || pb < 0 || st > INT_MAX || dl > INT_MAX || pb > INT_MAX) return "a stride, dilation or pad out of range";
    const int64_t in = out->x[2 + c], k = out->w[2 + c], want = out->y[2 + c];
    const int64_t span = dl * (k - 1) + 1, padded = in + 2 * pb;
    if (padded < span || (padded - span) / st + 1 != want)
      return "asymmetric pads that change the output size under cuDNN's symmetric padding";
    out->pad[c] = (int)pb;
    out->stride[c] = (int)st;
    out->dil[c] = (int)dl;
  }
  return nullptr;
}

}  // namespace mxcuda
